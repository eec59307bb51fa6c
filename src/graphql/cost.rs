//! The cost of a query: the most nodes it can return.
//!
//! Every object a response can hold counts one, once per possible instance: a field returning
//! one object counts one, a list counts its bound, a connection multiplies what its `nodes` or
//! `edges` select by its page size (`last`, else `first`, else 20; at most 100). Scalars, enums,
//! `__typename` and `totalCount` are free (a count is one statement per parent, whatever its
//! size), and so are the connection plumbing types (`…Connection`, `…Edge`, `PageInfo`,
//! `SearchHit`, mutation payloads). An introspection field costs one: the schema is small and
//! fixed. Where inline fragments or spreads select for different concrete types of an
//! interface or union, only the dearest type counts (a node is one type at a time).
//!
//! Lists that are not paginated have these bounds:
//! - `Query.nodes`: the number of `ids` (at most 100);
//! - `Article.sections`: [`MAX_SECTIONS_PER_ARTICLE`];
//! - `Article.reforms`, `Article.reactions`, `Section.reforms`, `Section.reactions`:
//!   [`MAX_POINTS_PER_ARTICLE`];
//! - `topics` of an article, reform or reaction: [`MAX_TOPICS_PER_ITEM`];
//! - `Topic.reforms`, `Topic.reactions`: charged [`TOPIC_POINTS_CHARGE`] (a topic's points
//!   span every article, so there is no cap to use);
//! - any other list: [`UNKNOWN_LIST_CHARGE`].
//!
//! The walk reads the types from async-graphql's registry (the schema the server runs), so the
//! cost follows the schema without a second description of it. It runs before validation:
//! unknown fields and types count nothing (validation refuses them), fragment cycles count
//! once, and the fan-out guard ([`super::guards::check_document`]) has already bounded how
//! many fields the walk can visit.

use std::collections::HashSet;

use async_graphql::{
    Name, Value, Variables,
    parser::types::{
        DocumentOperations, ExecutableDocument, Field, OperationDefinition, OperationType,
        Selection, SelectionSet,
    },
    registry::{MetaType, MetaTypeName, Registry},
};

pub use crate::editing::validate::{
    MAX_POINTS_PER_ARTICLE, MAX_SECTIONS_PER_ARTICLE, MAX_TOPICS_PER_ITEM,
};
use crate::graphql::pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// What `Topic.reforms` and `Topic.reactions` are charged per topic.
pub const TOPIC_POINTS_CHARGE: u64 = 100;
/// What a list without a known bound is charged.
pub const UNKNOWN_LIST_CHARGE: u64 = 100;
/// Most IDs `Query.nodes` accepts.
pub const MAX_NODE_IDS: u64 = 100;
/// The default cost limit (`ANNALS_MAX_COMPLEXITY`), the node limit GitHub's API uses.
pub const DEFAULT_LIMIT: usize = 500_000;

/// The cost of the operation `operation_name` selects in `doc` (0 if none can be selected:
/// execution reports that).
pub fn of(
    registry: &Registry,
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
) -> u64 {
    let Some(operation) = operation(doc, operation_name) else {
        return 0;
    };
    let root = match operation.ty {
        OperationType::Query => Some(registry.query_type.as_str()),
        OperationType::Mutation => registry.mutation_type.as_deref(),
        OperationType::Subscription => registry.subscription_type.as_deref(),
    };
    let Some(root) = root else { return 0 };
    let walk = Walk {
        registry,
        doc,
        variables: with_defaults(operation, variables),
    };
    walk.set(
        &operation.selection_set.node,
        root,
        None,
        &mut HashSet::new(),
    )
}

/// The operation a request selects: the named one, or else the document's only one.
pub fn operation<'d>(
    doc: &'d ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'d OperationDefinition> {
    match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| &op.node)
        }
        _ => None,
    }
}

/// The request's variables, plus the defaults of those it leaves out.
fn with_defaults(operation: &OperationDefinition, variables: &Variables) -> Variables {
    let mut all = variables.clone();
    for def in &operation.variable_definitions {
        let name = &def.node.name.node;
        if !all.contains_key(name)
            && let Some(default) = def.node.default_value()
        {
            all.insert(name.clone(), default.clone());
        }
    }
    all
}

struct Walk<'a> {
    registry: &'a Registry,
    doc: &'a ExecutableDocument,
    variables: Variables,
}

/// Types that only carry other nodes and count nothing themselves.
fn is_plumbing(type_name: &str) -> bool {
    type_name.ends_with("Connection")
        || type_name.ends_with("Edge")
        || type_name.ends_with("Payload")
        || type_name == "PageInfo"
        || type_name == "SearchHit"
}

impl Walk<'_> {
    /// The cost of `set` on `type_name`; `page` is the page size when `type_name` is a
    /// connection. `fragments` holds the fragments being expanded (cycles count nothing).
    fn set<'d>(
        &'d self,
        set: &'d SelectionSet,
        type_name: &str,
        page: Option<u64>,
        fragments: &mut HashSet<&'d str>,
    ) -> u64 {
        // Selections for the type itself add up; those for other types of an abstract type
        // are alternatives, of which the dearest counts.
        let mut own = 0u64;
        let mut alternatives: Vec<(&str, u64)> = Vec::new();
        for item in &set.items {
            let (condition, cost) = match &item.node {
                Selection::Field(field) => {
                    (None, self.field(&field.node, type_name, page, fragments))
                }
                Selection::InlineFragment(inline) => {
                    let condition = inline
                        .node
                        .type_condition
                        .as_ref()
                        .map(|c| c.node.on.node.as_str());
                    let on = condition.unwrap_or(type_name);
                    (
                        condition,
                        self.set(&inline.node.selection_set.node, on, page, fragments),
                    )
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    let Some(fragment) = self.doc.fragments.get(name) else {
                        continue;
                    };
                    if !fragments.insert(name) {
                        continue;
                    }
                    let on = fragment.node.type_condition.node.on.node.as_str();
                    let cost = self.set(&fragment.node.selection_set.node, on, page, fragments);
                    fragments.remove(name);
                    (Some(on), cost)
                }
            };
            match condition {
                Some(on) if on != type_name => {
                    match alternatives.iter_mut().find(|(t, _)| *t == on) {
                        Some((_, total)) => *total = total.saturating_add(cost),
                        None => alternatives.push((on, cost)),
                    }
                }
                _ => own = own.saturating_add(cost),
            }
        }
        let dearest = alternatives.iter().map(|(_, c)| *c).max().unwrap_or(0);
        own.saturating_add(dearest)
    }

    fn field<'d>(
        &'d self,
        field: &'d Field,
        parent: &str,
        page: Option<u64>,
        fragments: &mut HashSet<&'d str>,
    ) -> u64 {
        let name = field.name.node.as_str();
        if name == "__typename" {
            return 0;
        }
        if name.starts_with("__") {
            return 1;
        }
        let Some(meta) = self
            .registry
            .concrete_type_by_name(parent)
            .and_then(|t| t.field_by_name(name))
        else {
            return 0;
        };
        let inner = MetaTypeName::concrete_typename(&meta.ty);
        let Some(inner_type) = self.registry.concrete_type_by_name(inner) else {
            return 0;
        };
        if inner_type.is_leaf() {
            return 0;
        }
        let count = if MetaTypeName::create(&meta.ty).is_list() {
            match page {
                Some(page) if name == "nodes" || name == "edges" => page,
                _ => self.list_bound(parent, name, field),
            }
        } else {
            1
        };
        let child_page = matches!(inner_type, MetaType::Object { .. })
            .then_some(())
            .filter(|()| inner.ends_with("Connection"))
            .map(|()| self.page_size(field));
        let own = u64::from(!is_plumbing(inner));
        let children = self.set(&field.selection_set.node, inner, child_page, fragments);
        count.saturating_mul(own.saturating_add(children))
    }

    /// The page a connection field asks for: `last`, else `first`, else the default.
    fn page_size(&self, field: &Field) -> u64 {
        let size = self
            .int_argument(field, "last")
            .or_else(|| self.int_argument(field, "first"))
            .unwrap_or(i64::from(DEFAULT_PAGE_SIZE));
        size.clamp(0, i64::from(MAX_PAGE_SIZE)) as u64
    }

    /// The bound of an unpaginated list field (see the module docs).
    fn list_bound(&self, parent: &str, name: &str, field: &Field) -> u64 {
        match (parent, name) {
            (_, "nodes") if parent == self.registry.query_type => self
                .argument(field, "ids")
                .and_then(|ids| match ids {
                    Value::List(items) => Some(items.len() as u64),
                    _ => None,
                })
                .unwrap_or(MAX_NODE_IDS)
                .min(MAX_NODE_IDS),
            ("Article", "sections") => MAX_SECTIONS_PER_ARTICLE as u64,
            ("Article" | "Section", "reforms" | "reactions") => MAX_POINTS_PER_ARTICLE as u64,
            ("Article" | "Reform" | "Reaction", "topics") => MAX_TOPICS_PER_ITEM as u64,
            ("Topic", "reforms" | "reactions") => TOPIC_POINTS_CHARGE,
            _ => UNKNOWN_LIST_CHARGE,
        }
    }

    fn argument(&self, field: &Field, name: &str) -> Option<Value> {
        let value = field.get_argument(name)?;
        value
            .node
            .clone()
            .into_const_with(|var: Name| self.variables.get(&var).cloned().ok_or(()))
            .ok()
    }

    fn int_argument(&self, field: &Field, name: &str) -> Option<i64> {
        match self.argument(field, name)? {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{config::Config, graphql::build_schema};
    use serde_json::json;

    /// The cost the server reports for a dry run of `query`.
    fn cost(query: &str, variables: serde_json::Value) -> u64 {
        let config = Config::for_database("sqlite::memory:");
        let schema = build_schema(&config.limits, true, None);
        let mut request =
            async_graphql::Request::new(query).variables(Variables::from_json(variables));
        request
            .extensions
            .insert("dryRun".into(), Value::Boolean(true));
        let response = futures::executor::block_on(schema.execute(request));
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        match &response.extensions["cost"] {
            Value::Object(cost) => match &cost["requested"] {
                Value::Number(n) => n.as_u64().unwrap(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn descriptions_state_the_bounds() {
        let config = Config::for_database("sqlite::memory:");
        let sdl = crate::graphql::sdl(&build_schema(&config.limits, true, None));
        for text in [
            format!("at most {MAX_SECTIONS_PER_ARTICLE} per article"),
            format!("at most {MAX_POINTS_PER_ARTICLE}"),
            format!("at most {MAX_TOPICS_PER_ITEM}; the cost model counts {MAX_TOPICS_PER_ITEM}"),
            format!("the cost model counts {TOPIC_POINTS_CHARGE}"),
        ] {
            assert!(sdl.contains(&text), "the SDL should say {text:?}");
        }
    }

    #[test]
    fn scalars_and_counts_are_free() {
        assert_eq!(cost("{ __typename articles { totalCount } }", json!({})), 0);
        assert_eq!(
            cost("{ article(slug: \"x\") { id title version } }", json!({})),
            1
        );
    }

    #[test]
    fn connections_multiply_by_their_page() {
        assert_eq!(cost("{ articles { nodes { id } } }", json!({})), 20);
        assert_eq!(
            cost(
                "{ articles(first: 50) { edges { node { id } } pageInfo { hasNextPage } } }",
                json!({})
            ),
            50
        );
        assert_eq!(
            cost(
                "query($n: Int = 7) { articles(last: $n) { nodes { id } } }",
                json!({})
            ),
            7
        );
        assert_eq!(
            cost(
                "query($n: Int) { articles(first: $n) { nodes { id } } }",
                json!({ "n": 3 })
            ),
            3
        );
    }

    #[test]
    fn lists_use_their_bounds() {
        let sections = MAX_SECTIONS_PER_ARTICLE as u64;
        let tags = MAX_TOPICS_PER_ITEM as u64;
        assert_eq!(
            cost(
                "{ article(slug: \"x\") { sections { id } topics { id } } }",
                json!({})
            ),
            1 + sections + tags
        );
        assert_eq!(
            cost(
                "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
                json!({ "ids": ["a", "b", "c"] })
            ),
            3
        );
    }

    #[test]
    fn abstract_alternatives_count_the_dearest() {
        let q = "{ node(id: \"x\") { id ... on Article { sections { id } } ... on Topic { articles(first: 2) { nodes { id } } } } }";
        assert_eq!(cost(q, json!({})), 1 + MAX_SECTIONS_PER_ARTICLE as u64);
    }

    #[test]
    fn the_issue_query_passes_and_the_bomb_does_not() {
        let issue = "{ topics(first: 50) { totalCount nodes { id slug name description articles(first: 50) { totalCount nodes { id slug topics { id } } } reforms { id title topics { id } } reactions { id title topics { id } } } } }";
        let tags = MAX_TOPICS_PER_ITEM as u64;
        let expected = 50 * (1 + 50 * (1 + tags) + 2 * TOPIC_POINTS_CHARGE * (1 + tags));
        assert_eq!(cost(issue, json!({})), expected);
        assert!(expected <= DEFAULT_LIMIT as u64);
        let bomb = "{ topics(first: 100) { nodes { articles(first: 100) { nodes { revisions(first: 100) { nodes { version } } } } } } }";
        let config = Config::for_database("sqlite::memory:");
        let schema = build_schema(&config.limits, true, None);
        let response = futures::executor::block_on(schema.execute(bomb));
        assert_eq!(response.errors.len(), 1);
        let Value::Object(cost) = &response.extensions["cost"] else {
            panic!("no cost")
        };
        assert_eq!(cost["requested"], Value::from(1_010_100u64));
    }
}
