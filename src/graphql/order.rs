//! Puts a response's keys in the order of the selection set, as the specification requires.
//!
//! async-graphql resolves the fields of a query in parallel and writes each into the result
//! map when it completes, so the map is in completion order. [`selection_order`] re-orders
//! every object of the result by the operation's selection set, the way the specification's
//! CollectFields orders them: each response key (alias or field name) at its first
//! occurrence, fragments expanded in place, sub-selections of the same key merged.

use std::collections::HashMap;

use async_graphql::{
    Name, PathSegment, Positioned, ServerError, Value,
    indexmap::IndexMap,
    parser::types::{FragmentDefinition, Selection, SelectionSet},
};

type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// The response keys `sets` select, in order, each with the sub-selections it merges.
fn collect<'a>(
    sets: &[&'a SelectionSet],
    fragments: &'a Fragments,
    out: &mut Vec<(&'a str, Vec<&'a SelectionSet>)>,
    depth: usize,
) {
    // Validation refuses fragment cycles; the bound only keeps a bug from looping.
    if depth > 64 {
        return;
    }
    for set in sets {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let key = field
                        .node
                        .alias
                        .as_ref()
                        .map_or(field.node.name.node.as_str(), |a| a.node.as_str());
                    let sub = &field.node.selection_set.node;
                    match out.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, subs)) => subs.push(sub),
                        None => out.push((key, vec![sub])),
                    }
                }
                Selection::InlineFragment(inline) => {
                    collect(
                        &[&inline.node.selection_set.node],
                        fragments,
                        out,
                        depth + 1,
                    );
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = fragments.get(&spread.node.fragment_name.node) {
                        collect(
                            &[&fragment.node.selection_set.node],
                            fragments,
                            out,
                            depth + 1,
                        );
                    }
                }
            }
        }
    }
}

/// Re-orders `value` (the result of `sets`) in place.
fn reorder(value: &mut Value, sets: &[&SelectionSet], fragments: &Fragments) {
    match value {
        Value::Object(map) => {
            let mut keys = Vec::new();
            collect(sets, fragments, &mut keys, 0);
            let mut old = std::mem::take(map);
            let mut ordered = IndexMap::with_capacity(old.len());
            for (key, subs) in keys {
                if let Some((name, mut child)) = old.swap_remove_entry(key) {
                    reorder(&mut child, &subs, fragments);
                    ordered.insert(name, child);
                }
            }
            // Nothing should be left; keep whatever is, rather than lose it.
            ordered.extend(old);
            *map = ordered;
        }
        Value::List(items) => {
            for item in items {
                reorder(item, sets, fragments);
            }
        }
        _ => {}
    }
}

/// Writes `null` where a field failed: async-graphql leaves a failed field out of its
/// parent, but the specification wants the key there, with `null` (or, for a non-null field,
/// `null` at the nearest nullable parent, which is where async-graphql stopped writing).
/// Each error's path leads to that place: the first key on it that is missing.
pub fn null_failed_fields(data: &mut Value, errors: &[ServerError]) {
    for err in errors {
        let mut here = &mut *data;
        for segment in &err.path {
            match (segment, here) {
                (PathSegment::Field(name), Value::Object(map)) => {
                    let name = Name::new(name);
                    if !map.contains_key(&name) {
                        map.insert(name, Value::Null);
                        break;
                    }
                    here = map.get_mut(&name).expect("present");
                }
                (PathSegment::Index(i), Value::List(items)) if *i < items.len() => {
                    here = &mut items[*i];
                }
                _ => break,
            }
        }
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

    #[test]
    fn keys_follow_the_selection_set() {
        let query = "{ b: x { z ...F ... on T { a y } } a: x { q } } fragment F on T { y }";
        // serde_json sorts its keys, so the input arrives sorted.
        let data = serde_json::json!({ "a": { "q": 1 }, "b": [{ "a": 1, "y": 2, "z": 3 }] });
        let doc = parse_query(query).unwrap();
        let DocumentOperations::Single(op) = &doc.operations else {
            panic!()
        };
        let mut value = Value::from_json(data).unwrap();
        selection_order(&mut value, &op.node.selection_set.node, &doc.fragments);
        assert_eq!(
            serde_json::to_string(&value).unwrap(),
            r#"{"b":[{"z":3,"y":2,"a":1}],"a":{"q":1}}"#
        );
    }
}
