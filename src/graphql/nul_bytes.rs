//! Refuses the NUL character in any string a request sends, before anything runs.
//!
//! No Annals text may hold U+0000 (PostgreSQL's `text` cannot store it, and the document
//! format has no use for it), yet a read argument such as `article(slug: "a\u0000b")` reached
//! PostgreSQL and failed there as an internal error, while SQLite answered `null`. Checking
//! every argument literal and every variable once, here, gives both backends and every field
//! the same answer: `BAD_USER_INPUT` naming the argument or input field. The one exception is
//! `search(query:)`, whose parser treats NUL as a space between words.

use std::collections::HashMap;

use async_graphql::{
    Positioned, ServerError, Variables,
    parser::types::{Directive, ExecutableDocument, Selection, SelectionSet},
};
use async_graphql_value::{ConstValue, Value};

use crate::error::Error;

/// Where a NUL is part of the argument's language: `search(query:)` treats it as a space
/// between words (free text pasted into a search box is searched, not refused).
const NUL_SEPARATES_WORDS: &[(&str, &str)] = &[("search", "query")];

/// `Err` with a `BAD_USER_INPUT` error when an argument, through a literal, a variable's value
/// or a variable's default, holds a NUL character. `extensions.field` names the innermost input
/// field (or the argument).
pub fn check(doc: &ExecutableDocument, variables: &Variables) -> Result<(), ServerError> {
    let mut defaults = HashMap::new();
    for (_, operation) in doc.operations.iter() {
        for definition in &operation.node.variable_definitions {
            if let Some(default) = &definition.node.default_value {
                defaults.insert(definition.node.name.node.as_str(), &default.node);
            }
        }
    }
    let scope = Scope {
        variables,
        defaults,
    };
    for (_, operation) in doc.operations.iter() {
        scope.directives(&operation.node.directives)?;
        scope.selections(&operation.node.selection_set)?;
    }
    for fragment in doc.fragments.values() {
        scope.directives(&fragment.node.directives)?;
        scope.selections(&fragment.node.selection_set)?;
    }
    Ok(())
}

/// The variables a document's arguments may refer to.
struct Scope<'a> {
    variables: &'a Variables,
    defaults: HashMap<&'a str, &'a ConstValue>,
}

impl Scope<'_> {
    fn selections(&self, set: &Positioned<SelectionSet>) -> Result<(), ServerError> {
        for item in &set.node.items {
            match &item.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    for (argument, value) in &field.node.arguments {
                        let argument = argument.node.as_str();
                        if NUL_SEPARATES_WORDS.contains(&(name, argument)) {
                            continue;
                        }
                        if let Some(at) = self.value(&value.node, argument) {
                            return Err(refusal(&at, value.pos));
                        }
                    }
                    self.directives(&field.node.directives)?;
                    self.selections(&field.node.selection_set)?;
                }
                Selection::FragmentSpread(spread) => self.directives(&spread.node.directives)?,
                Selection::InlineFragment(inline) => {
                    self.directives(&inline.node.directives)?;
                    self.selections(&inline.node.selection_set)?;
                }
            }
        }
        Ok(())
    }

    fn directives(&self, list: &[Positioned<Directive>]) -> Result<(), ServerError> {
        for directive in list {
            for (argument, value) in &directive.node.arguments {
                if let Some(at) = self.value(&value.node, argument.node.as_str()) {
                    return Err(refusal(&at, value.pos));
                }
            }
        }
        Ok(())
    }

    /// The innermost field name under `field` whose string holds a NUL, if any.
    fn value(&self, value: &Value, field: &str) -> Option<String> {
        match value {
            Value::String(s) if s.contains('\0') => Some(field.to_owned()),
            Value::List(items) => items.iter().find_map(|v| self.value(v, field)),
            Value::Object(fields) => fields.iter().find_map(|(k, v)| self.value(v, k.as_str())),
            Value::Variable(name) => match self.variables.get(name) {
                Some(given) => const_value(given, field),
                None => self
                    .defaults
                    .get(name.as_str())
                    .and_then(|default| const_value(default, field)),
            },
            _ => None,
        }
    }
}

fn const_value(value: &ConstValue, field: &str) -> Option<String> {
    match value {
        ConstValue::String(s) if s.contains('\0') => Some(field.to_owned()),
        ConstValue::List(items) => items.iter().find_map(|v| const_value(v, field)),
        ConstValue::Object(fields) => fields.iter().find_map(|(k, v)| const_value(v, k.as_str())),
        _ => None,
    }
}

fn refusal(field: &str, pos: async_graphql::Pos) -> ServerError {
    let mut err = Error::bad_input(
        field,
        format!("{field} must not contain the NUL character (U+0000)."),
    )
    .into_server_error();
    err.locations.push(pos);
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(query: &str, variables: serde_json::Value) -> Result<(), ServerError> {
        let doc = async_graphql::parser::parse_query(query).expect("parses");
        check(&doc, &Variables::from_json(variables))
    }

    #[test]
    fn nul_anywhere_is_refused() {
        let refused = [
            (
                r#"{ article(slug: "a\u0000b") { id } }"#,
                serde_json::json!({}),
            ),
            (
                r#"{ articles(filter: { slugs: ["x", "\u0000"] }) { totalCount } }"#,
                serde_json::json!({}),
            ),
            (
                r#"query($s: String = "\u0000") { article(slug: $s) { id } }"#,
                serde_json::json!({}),
            ),
            (
                r#"query($s: String!) { article(slug: $s) { id } }"#,
                serde_json::json!({"s": "a\u{0}"}),
            ),
            (
                r#"query($f: ArticleFilter) { articles(filter: $f) { totalCount } }"#,
                serde_json::json!({"f": {"topic": "\u{0}"}}),
            ),
            (
                r#"{ ...F } fragment F on Query { topic(slug: "\u0000") { id } }"#,
                serde_json::json!({}),
            ),
            (
                r#"{ article(slug: "x") @include(if: true) { title @skip(if: false) } __typename @deprecated(reason: "\u0000") }"#,
                serde_json::json!({}),
            ),
        ];
        for (query, variables) in refused {
            let err = run(query, variables).expect_err(query);
            assert!(err.message.contains("U+0000"), "{}", err.message);
        }
        let err = run(
            r#"mutation($i: CreateSectionInput!) { createSection(input: $i) { section { id } } }"#,
            serde_json::json!({"i": {"heading": "h", "body": "a\u{0}"}}),
        )
        .unwrap_err();
        let field = err
            .extensions
            .as_ref()
            .and_then(|e| e.get("field"))
            .cloned();
        assert_eq!(field, Some(async_graphql::Value::from("body")));
    }

    #[test]
    fn ordinary_strings_pass() {
        run(
            r#"query($s: String!) { article(slug: $s) { id } topic(slug: "tab\there") { id } }"#,
            serde_json::json!({"s": "de-stalinization", "unused": ["\u{0}", {"k": "\n"}]}),
        )
        .expect("no NUL reaches an argument");
        // Search reads NUL as a space between words.
        run(
            r#"query($q: String!) { search(query: $q) { totalCount } a: search(query: "x\u0000y") { totalCount } }"#,
            serde_json::json!({"q": "stalin\u{0}khrushchev"}),
        )
        .expect("search accepts NUL");
    }
}
