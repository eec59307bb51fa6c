//! Which columns a field's selection needs, read with async-graphql's look-ahead.
//!
//! A resolver that loads rows asks here for the [`Columns`] shape of its own selection: the
//! large text columns are selected only when a field that reads them is asked for, anywhere
//! in the selection (aliases, fragments and inline fragments included; `@skip` and
//! `@include` are not evaluated, which can only make a read wider). The field lists below
//! name every field that reads each large column; a new field that reads one must be added.

use async_graphql::{Context, Lookahead};

use crate::store::columns::Columns;

/// The fields of `Section` that read its `body`.
pub const SECTION: &[&str] = &["body"];
/// The fields of `Article` that read its `summary` (`markdown` and `document` render it).
pub const ARTICLE: &[&str] = &["summary", "markdown", "document"];
/// The fields of `Reform` and `Reaction` that read their `description`.
pub const POINT: &[&str] = &["description"];
/// The fields of `Revision` that read its `document` or `snapshot`.
pub const REVISION: &[&str] = &["document", "snapshot"];

fn asks(look: &Lookahead<'_>, fields: &[&str]) -> bool {
    fields.iter().any(|name| look.field(name).exists())
}

/// The shape the objects the current field returns need, given the fields that read the
/// large columns.
pub fn of_field(ctx: &Context<'_>, fields: &[&str]) -> Columns {
    Columns::full_if(asks(&ctx.look_ahead(), fields))
}

/// The shape the nodes of the connection the current field returns need: through `nodes`
/// and `edges { node }`.
pub fn of_connection(ctx: &Context<'_>, fields: &[&str]) -> Columns {
    let look = ctx.look_ahead();
    Columns::full_if(
        asks(&look.field("nodes"), fields) || asks(&look.field("edges").field("node"), fields),
    )
}
