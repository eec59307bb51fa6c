//! Query plans: a read whose selection is known up front runs as one batched load per level
//! and writes its response directly, instead of through async-graphql's per-field resolvers.
//!
//! The resolvers discover a query level by level: every field is a boxed future through the
//! extension chain, every object a set of futures, every relation a wait for the batched
//! loader. For the common reads (an article by slug, a page of articles, a topic's page of
//! articles, each with their sections, reforms, reactions and topics) the statements are known
//! from the document alone, so [`shape`] reads the document into a [`shape::Plan`], [`run`]
//! loads each level in one go, and [`write`] serializes the rows straight into the response
//! (no value tree in between), in selection order.
//!
//! A plan answers exactly what the resolvers would, with the same statements or fewer (a root
//! article's sections, and a root topic's first page of articles, are joined to their root
//! row): the same bytes, the same surrogate keys for the response cache, the same
//! response-size accounting. Anything the plan does not know
//! (another field or argument, fragments, directives, a response key given twice) is not
//! planned; anything that goes wrong while running one (a cursor of another list, a database
//! error) falls back to the resolvers, which answer it with their usual errors.
//! `ANNALS_QUERY_PLANS=false` turns plans off.

pub mod run;
pub mod shape;
pub mod write;

pub use write::Planned;

use async_graphql::{Variables, extensions::ExtensionContext, parser::types::ExecutableDocument};

use super::response_size::ResponseSize;
use crate::metrics;

/// Runs the selected operation of `doc` from a plan when it has one: its data, to be
/// serialized into the response; `None`: the resolvers answer it (not plannable, or the plan
/// gave up).
pub async fn execute(
    ctx: &ExtensionContext<'_>,
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    size: &ResponseSize,
) -> Option<Planned> {
    let plan = shape::Plan::read(doc, operation_name, variables)?;
    match run::run(ctx, plan, size).await {
        Ok(planned) => {
            metrics::count_plan("planned");
            Some(planned)
        }
        Err(why) => {
            tracing::debug!(reason = %why.0, "query plan gave up; resolving instead");
            metrics::count_plan("fallback");
            None
        }
    }
}
