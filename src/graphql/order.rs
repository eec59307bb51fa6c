//! Puts a response's keys in the order of the selection set, as the specification requires.
//!
//! async-graphql resolves the fields of a query in parallel and writes each into the result
//! map when it completes, so the map is in completion order. [`selection_order`] re-orders
//! every object of the result by the operation's selection set, the way the specification's
//! CollectFields orders them: each response key (alias or field name) at its first
//! occurrence, fragments expanded in place, sub-selections of the same key merged. It also puts
//! back the `null`s of failed fields ([`null_failed_fields`]).

use std::collections::HashMap;

use async_graphql::{
    Name, PathSegment, Positioned, ServerError, Value,
    indexmap::IndexMap,
    parser::types::{
        Field, FragmentDefinition, OperationDefinition, OperationType, Selection, SelectionSet,
    },
    registry::{MetaTypeName, Registry},
};

type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// Calls `visit` with every field `sets` select, in order, fragments expanded in place, each
/// with the type it is selected on: `on`, or the type condition of the fragment around it.
/// Reordering and finding a failed field's type both walk the selection this one way.
fn for_each_field<'a>(
    sets: &[&'a SelectionSet],
    on: &str,
    fragments: &'a Fragments,
    depth: usize,
    visit: &mut impl FnMut(&'a Field, &str),
) {
    // Validation refuses fragment cycles; the bound only keeps a bug from looping.
    if depth > 64 {
        return;
    }
    for set in sets {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => visit(&field.node, on),
                Selection::InlineFragment(inline) => {
                    let on = inline
                        .node
                        .type_condition
                        .as_ref()
                        .map_or(on, |c| c.node.on.node.as_str());
                    for_each_field(
                        &[&inline.node.selection_set.node],
                        on,
                        fragments,
                        depth + 1,
                        visit,
                    );
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = fragments.get(&spread.node.fragment_name.node) {
                        for_each_field(
                            &[&fragment.node.selection_set.node],
                            fragment.node.type_condition.node.on.node.as_str(),
                            fragments,
                            depth + 1,
                            visit,
                        );
                    }
                }
            }
        }
    }
}

/// The key a field has in the response: its alias, else its name.
fn response_key(field: &Field) -> &str {
    field
        .alias
        .as_ref()
        .map_or(field.name.node.as_str(), |a| a.node.as_str())
}

/// Response keys in selection order, each with the sub-selections it merges.
type Keys<'a> = Vec<(&'a str, Vec<&'a SelectionSet>)>;

/// The response keys `sets` select, in order, each with the sub-selections it merges.
fn collect<'a>(sets: &[&'a SelectionSet], fragments: &'a Fragments, out: &mut Keys<'a>) {
    for_each_field(sets, "", fragments, 0, &mut |field, _| {
        let key = response_key(field);
        let sub = &field.selection_set.node;
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, subs)) => subs.push(sub),
            None => out.push((key, vec![sub])),
        }
    });
}

/// Re-orders `value` (the result of `sets`) in place. The keys of a selection are collected
/// once for all the items of a list, and an object already in selection order (fields that
/// completed in order) is left where it is: only its children are visited.
fn reorder(value: &mut Value, sets: &[&SelectionSet], fragments: &Fragments) {
    if !matches!(value, Value::Object(_) | Value::List(_)) {
        return;
    }
    let mut keys = Vec::new();
    collect(sets, fragments, &mut keys);
    reorder_by(value, &keys, fragments);
}

/// Re-orders `value` by `keys`, the collected keys of its selection.
fn reorder_by(value: &mut Value, keys: &Keys<'_>, fragments: &Fragments) {
    match value {
        Value::Object(map) => {
            if !in_order(map, keys) {
                let mut old = std::mem::take(map);
                let mut ordered = IndexMap::with_capacity(old.len());
                for (key, _) in keys {
                    if let Some((name, child)) = old.swap_remove_entry(*key) {
                        ordered.insert(name, child);
                    }
                }
                // Nothing should be left; keep whatever is, rather than lose it.
                ordered.extend(old);
                *map = ordered;
            }
            for (key, subs) in keys {
                if let Some(child) = map.get_mut(*key) {
                    reorder(child, subs, fragments);
                }
            }
        }
        Value::List(items) => {
            for item in items {
                reorder_by(item, keys, fragments);
            }
        }
        _ => {}
    }
}

/// Whether `map`'s keys come in the order of `keys` (a key may be missing: a failed or
/// skipped field) and `map` holds nothing else.
fn in_order(map: &IndexMap<Name, Value>, keys: &Keys<'_>) -> bool {
    let mut next = map.keys().peekable();
    for (key, _) in keys {
        match next.peek() {
            Some(name) if name.as_str() == *key => {
                next.next();
            }
            Some(_) if map.contains_key(*key) => return false,
            Some(_) => {}
            None => return true,
        }
    }
    next.peek().is_none()
}

/// Writes `null` where a field failed, as the specification wants (6.4.4, "Handling Execution
/// Errors"): async-graphql leaves a failed field out of its parent object, so the key goes
/// back in with `null`; when the failed field (or a list item) is non-null, the `null` goes to
/// the nearest nullable position above it, replacing what async-graphql wrote there, and
/// `data` itself becomes `null` when there is none. Each error's path and the schema's types
/// say where that is.
pub fn null_failed_fields(
    data: &mut Value,
    errors: &[ServerError],
    registry: &Registry,
    operation: &OperationDefinition,
    fragments: &Fragments,
) {
    let root = match operation.ty {
        OperationType::Query => registry.query_type.as_str(),
        OperationType::Mutation => match registry.mutation_type.as_deref() {
            Some(name) => name,
            None => return,
        },
        OperationType::Subscription => return,
    };
    for err in errors.iter().filter(|e| !e.path.is_empty()) {
        let Some(nullable) = nullability(&err.path, registry, root, operation, fragments) else {
            continue;
        };
        match nullable.iter().rposition(|n| *n) {
            Some(at) => set_null(data, &err.path[..=at]),
            None => *data = Value::Null,
        }
    }
}

/// Whether each position along `path` may hold `null`, from the selection set and the schema;
/// `None` when the path does not match them.
fn nullability(
    path: &[PathSegment],
    registry: &Registry,
    root: &str,
    operation: &OperationDefinition,
    fragments: &Fragments,
) -> Option<Vec<bool>> {
    let mut nullable = Vec::with_capacity(path.len());
    let mut sets: Vec<&SelectionSet> = vec![&operation.selection_set.node];
    let mut ty = format!("{root}!");
    for segment in path {
        match segment {
            PathSegment::Field(key) => {
                let parent = MetaTypeName::concrete_typename(&ty).to_owned();
                let found = fields_with_key(&sets, key, &parent, fragments);
                let (field, on) = found.first()?;
                let meta = registry
                    .concrete_type_by_name(on)
                    .and_then(|t| t.field_by_name(&field.name.node))
                    .or_else(|| {
                        registry
                            .concrete_type_by_name(&parent)
                            .and_then(|t| t.field_by_name(&field.name.node))
                    })?;
                ty = meta.ty.clone();
                sets = found.iter().map(|(f, _)| &f.selection_set.node).collect();
            }
            PathSegment::Index(_) => {
                let list = ty.strip_suffix('!').unwrap_or(&ty);
                ty = list.strip_prefix('[')?.strip_suffix(']')?.to_owned();
            }
        }
        nullable.push(!ty.ends_with('!'));
    }
    Some(nullable)
}

/// The fields of `sets` with response key `key`, each with the type it is selected on.
fn fields_with_key<'a>(
    sets: &[&'a SelectionSet],
    key: &str,
    on: &str,
    fragments: &'a Fragments,
) -> Vec<(&'a Field, String)> {
    let mut found = Vec::new();
    for_each_field(sets, on, fragments, 0, &mut |field, on| {
        if response_key(field) == key {
            found.push((field, on.to_owned()));
        }
    });
    found
}

/// Sets the value at `path` to `null` (adding the key if it is missing); stops where the data
/// is already `null` or does not reach.
fn set_null(data: &mut Value, path: &[PathSegment]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut here = data;
    for segment in parents {
        here = match (segment, here) {
            (PathSegment::Field(name), Value::Object(map)) => match map.get_mut(name.as_str()) {
                Some(value) => value,
                None => return,
            },
            (PathSegment::Index(i), Value::List(items)) if *i < items.len() => &mut items[*i],
            _ => return,
        };
    }
    match (last, here) {
        (PathSegment::Field(name), Value::Object(map)) => {
            map.insert(Name::new(name), Value::Null);
        }
        (PathSegment::Index(i), Value::List(items)) if *i < items.len() => {
            items[*i] = Value::Null;
        }
        _ => {}
    }
}

/// Re-orders `data`, the result of the operation selecting `set`, by its selection set.
pub fn selection_order(data: &mut Value, set: &SelectionSet, fragments: &Fragments) {
    reorder(data, &[set], fragments);
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::{parse_query, types::DocumentOperations};
    use proptest::prelude::*;

    /// `value` (an answer to the single operation of `query`) in selection order, as JSON.
    fn ordered(query: &str, mut value: Value) -> String {
        let doc = parse_query(query).unwrap();
        let DocumentOperations::Single(op) = &doc.operations else {
            panic!("one operation expected")
        };
        selection_order(&mut value, &op.node.selection_set.node, &doc.fragments);
        serde_json::to_string(&value).unwrap()
    }

    #[test]
    fn keys_follow_the_selection_set() {
        let query = "{ b: x { z ...F ... on T { a y } } a: x { q } } fragment F on T { y }";
        // serde_json sorts its keys, so the input arrives sorted.
        let data = serde_json::json!({ "a": { "q": 1 }, "b": [{ "a": 1, "y": 2, "z": 3 }] });
        assert_eq!(
            ordered(query, Value::from_json(data).unwrap()),
            r#"{"b":[{"z":3,"y":2,"a":1}],"a":{"q":1}}"#
        );
    }

    #[test]
    fn every_item_of_a_list_is_ordered_whatever_order_it_came_in() {
        let query = "{ x { a b { d c } e } }";
        // Items in selection order, reversed, and with a field missing (a failed field).
        let data = serde_json::json!({ "x": [
            { "a": 1, "b": { "d": 1, "c": 2 }, "e": 3 },
            { "e": 3, "b": { "c": 2, "d": 1 }, "a": 1 },
            { "e": 3, "a": 1 },
        ] });
        assert_eq!(
            ordered(query, Value::from_json(data).unwrap()),
            r#"{"x":[{"a":1,"b":{"d":1,"c":2},"e":3},{"a":1,"b":{"d":1,"c":2},"e":3},{"a":1,"e":3}]}"#
        );
    }

    proptest! {
        /// Whatever order an object's fields completed in, they come out in selection order.
        #[test]
        fn any_completion_order_comes_out_in_selection_order(
            order in proptest::sample::subsequence((0..8).collect::<Vec<usize>>(), 0..=8)
                .prop_shuffle(),
        ) {
            let names: Vec<String> = (0..8).map(|i| format!("f{i}")).collect();
            let query = format!("{{ {} }}", names.join(" "));
            let mut map = IndexMap::new();
            for &i in &order {
                map.insert(Name::new(&names[i]), Value::from(i as i32));
            }
            let mut want = order.clone();
            want.sort_unstable();
            let want: Vec<String> = want.iter().map(|i| format!("\"f{i}\":{i}")).collect();
            prop_assert_eq!(ordered(&query, Value::Object(map)), format!("{{{}}}", want.join(",")));
        }
    }
}
