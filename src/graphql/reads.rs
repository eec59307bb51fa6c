//! Which database an operation reads: the primary, or a read replica ([`crate::replicas`]).
//!
//! Only queries read from replicas. Mutations, their read-back and subscriptions read the
//! primary. An answer that will be kept under the current content version (a GET's ETag, the
//! response cache) is read from a replica only once that replica has replayed the version, so
//! no stale answer is ever cached under a current ETag.
//! A client that must see a write sends the write's commit position back, as the
//! `Annals-Min-LSN` header or as `extensions.consistency.minLsn` (any transport); the answer
//! to every mutation carries it in both places.

use std::sync::Arc;

use async_graphql::{BatchRequest, Request, ServerError, Value, parser::types::OperationType};

use super::{cost, execute::Caller, guards};
use crate::{
    error::Error,
    replicas::{Lsn, Replica, Replicas, Route},
};

/// The request (and response) header that carries a commit position.
pub const MIN_LSN_HEADER: &str = "annals-min-lsn";

/// The replicas an executor may read from.
pub struct Reads {
    /// The replicas and their health.
    pub replicas: Arc<Replicas>,
    /// The text limits, checked before a document is parsed to see what it selects.
    limits: guards::QueryLimits,
}

impl Reads {
    /// Reads from `replicas`; `limits` are the endpoint's (the parser never sees text they
    /// refuse).
    pub fn new(replicas: Arc<Replicas>, limits: guards::QueryLimits) -> Self {
        Self { replicas, limits }
    }

    /// The replica `batch` reads from, if it may read from one: every operation in it is a
    /// query, and a replica has replayed `min_lsn` (and the content version the answer will
    /// be kept under). Parses each
    /// document (async-graphql reuses the parse); one that does not parse or passes no
    /// guard reads the primary, and execution reports why.
    pub async fn route<'a>(
        &'a self,
        caller: &Caller,
        min_lsn: Option<Lsn>,
        batch: &mut BatchRequest,
    ) -> Option<&'a Replica> {
        let read_only = match batch {
            BatchRequest::Single(request) => self.is_query(request),
            BatchRequest::Batch(requests) => requests.iter_mut().all(|r| self.is_query(r)),
        };
        if !read_only {
            return None;
        }
        // An answer kept under a content version must show that version: the replica must
        // have replayed it.
        let min_lsn = match caller.content_version {
            Some(version) => min_lsn.max(Some(self.replicas.version_lsn(version).await?)),
            None => min_lsn,
        };
        match self
            .replicas
            .route(min_lsn, caller.authorization.as_deref())
            .await
        {
            Route::Replica(replica) => Some(replica),
            Route::Primary(_) => None,
        }
    }

    fn is_query(&self, request: &mut Request) -> bool {
        if guards::check_text(&request.query, &self.limits).is_err() {
            return false;
        }
        let name = request.operation_name.clone();
        request.parsed_query().is_ok_and(|doc| {
            cost::operation(doc, name.as_deref()).is_some_and(|op| op.ty == OperationType::Query)
        })
    }
}

/// The latest commit position the request asks to see: the `Annals-Min-LSN` header and each
/// operation's `extensions.consistency.minLsn`. One that is not an LSN is a
/// `BAD_USER_INPUT` error.
pub fn min_lsn(caller: &Caller, batch: &BatchRequest) -> Result<Option<Lsn>, ServerError> {
    let from_extensions = |request: &Request| match request
        .extensions
        .get("consistency")
        .map(|c| c.clone().into_json())
    {
        Some(Ok(serde_json::Value::Object(consistency))) => match consistency.get("minLsn") {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(text)) => {
                Some(parse(text, "extensions.consistency.minLsn")).transpose()
            }
            Some(_) => Err(bad(
                "extensions.consistency.minLsn must be a string such as \"16/B374D848\".",
            )),
        },
        None => Ok(None),
        Some(_) => Err(bad(
            "extensions.consistency must be an object such as {\"minLsn\": \"16/B374D848\"}.",
        )),
    };
    let mut latest = caller
        .min_lsn
        .as_deref()
        .map(|text| parse(text, "The Annals-Min-LSN header"))
        .transpose()?;
    let requests: &[Request] = match batch {
        BatchRequest::Single(request) => std::slice::from_ref(request),
        BatchRequest::Batch(requests) => requests,
    };
    for request in requests {
        latest = latest.max(from_extensions(request)?);
    }
    Ok(latest)
}

/// `extensions.consistency` of a mutation's answer.
pub fn consistency(lsn: Lsn) -> Value {
    let mut object = async_graphql::indexmap::IndexMap::new();
    object.insert(
        async_graphql::Name::new("minLsn"),
        Value::String(lsn.to_string()),
    );
    Value::Object(object)
}

fn parse(text: &str, what: &str) -> Result<Lsn, ServerError> {
    text.parse()
        .map_err(|err: crate::replicas::lsn::NotAnLsn| bad(&format!("{what} is not valid: {err}.")))
}

fn bad(message: &str) -> ServerError {
    Error::bad_request(message).into_server_error()
}
