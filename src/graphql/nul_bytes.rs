//! Refuses the NUL character in any string a request sends, before anything runs.
//!
//! No Annals text may hold U+0000 (PostgreSQL's `text` cannot store it, and the document
//! format has no use for it), yet a read argument such as `article(slug: "a\u0000b")` reached
//! PostgreSQL and failed there as an internal error, while SQLite answered `null`. Checking
//! every argument literal and every variable once, here, gives both backends and every field
//! the same answer: `BAD_USER_INPUT` naming the argument.

use async_graphql::{
    Positioned, ServerError, Variables,
    parser::types::{Directive, ExecutableDocument, Selection, SelectionSet},
};
use async_graphql_value::{ConstValue, Value};

use crate::error::code;

/// `Err` with a `BAD_USER_INPUT` error when an argument literal, a variable's default or a
/// variable's value holds a NUL character.
pub fn check(doc: &ExecutableDocument, variables: &Variables) -> Result<(), ServerError> {
    for (name, value) in variables.iter() {
        if const_has_nul(value) {
            return Err(refusal(&format!("variable `${name}`"), None));
        }
    }
    for (_, operation) in doc.operations.iter() {
        let operation = &operation.node;
        for definition in &operation.variable_definitions {
            if definition
                .node
                .default_value
                .as_ref()
                .is_some_and(|v| const_has_nul(&v.node))
            {
                let name = &definition.node.name.node;
                return Err(refusal(&format!("the default of `${name}`"), None));
            }
        }
        directives(&operation.directives)?;
        selections(&operation.selection_set)?;
    }
    for fragment in doc.fragments.values() {
        directives(&fragment.node.directives)?;
        selections(&fragment.node.selection_set)?;
    }
    Ok(())
}

fn selections(set: &Positioned<SelectionSet>) -> Result<(), ServerError> {
    for item in &set.node.items {
        match &item.node {
            Selection::Field(field) => {
                for (name, value) in &field.node.arguments {
                    if has_nul(&value.node) {
                        return Err(refusal(
                            &format!("argument `{}` of `{}`", name.node, field.node.name.node),
                            Some(value.pos),
                        ));
                    }
                }
                directives(&field.node.directives)?;
                selections(&field.node.selection_set)?;
            }
            Selection::FragmentSpread(spread) => directives(&spread.node.directives)?,
            Selection::InlineFragment(inline) => {
                directives(&inline.node.directives)?;
                selections(&inline.node.selection_set)?;
            }
        }
    }
    Ok(())
}

fn directives(list: &[Positioned<Directive>]) -> Result<(), ServerError> {
    for directive in list {
        for (name, value) in &directive.node.arguments {
            if has_nul(&value.node) {
                return Err(refusal(
                    &format!(
                        "argument `{}` of `@{}`",
                        name.node, directive.node.name.node
                    ),
                    Some(value.pos),
                ));
            }
        }
    }
    Ok(())
}

fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::List(items) => items.iter().any(has_nul),
        Value::Object(fields) => fields.values().any(has_nul),
        _ => false,
    }
}

fn const_has_nul(value: &ConstValue) -> bool {
    match value {
        ConstValue::String(s) => s.contains('\0'),
        ConstValue::List(items) => items.iter().any(const_has_nul),
        ConstValue::Object(fields) => fields.values().any(const_has_nul),
        _ => false,
    }
}

fn refusal(place: &str, pos: Option<async_graphql::Pos>) -> ServerError {
    let mut err = ServerError::new(
        format!("Strings must not contain the NUL character (U+0000); {place} has one."),
        pos,
    );
    err.extensions
        .get_or_insert_with(Default::default)
        .set("code", code::BAD_USER_INPUT);
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
    }

    #[test]
    fn ordinary_strings_pass() {
        run(
            r#"query($s: String!) { article(slug: $s) { id } topic(slug: "tab\there") { id } }"#,
            serde_json::json!({"s": "de-stalinization", "unused": ["é", {"k": "\n"}]}),
        )
        .expect("no NUL");
    }
}
