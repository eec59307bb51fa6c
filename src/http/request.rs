//! What every transport reads off a request before executing it: who sent it ([`caller`]) and
//! which kind of operation it selects ([`operation_type`]). Shared by the HTTP handlers
//! ([`super::graphql`]) and the WebSocket ([`super::ws`]), so neither reaches into the other.

use std::net::{IpAddr, SocketAddr};

use async_graphql::parser::types::OperationType;
use axum::{
    extract::ConnectInfo,
    http::{Extensions, HeaderMap, header},
};

use super::{AppState, Arrived, REQUEST_ID};
use crate::graphql::{execute::Caller, guards};

/// The type of the operation `query` selects. The text is checked against the guards first
/// (the parser must never see hostile nesting); text that does not parse gives `None`, and
/// execution then reports the real error.
pub fn operation_type(
    state: &AppState,
    query: &str,
    operation_name: Option<&str>,
) -> Option<OperationType> {
    let limits = guards::QueryLimits {
        max_query_bytes: state.config.limits.query_bytes,
        max_value_nesting: state.config.limits.nesting,
        ..Default::default()
    };
    guards::check_text(query, &limits).ok()?;
    let doc = async_graphql::parser::parse_query(query).ok()?;
    crate::graphql::cost::operation(&doc, operation_name).map(|op| op.ty)
}

/// Who sent the request: its id, its `Authorization` header, and its address.
pub fn caller(headers: &HeaderMap, extensions: &Extensions) -> Caller {
    Caller {
        request_id: headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned(),
        authorization: headers
            .get(header::AUTHORIZATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        peer: extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| -> IpAddr { addr.ip() }),
        arrived: extensions.get::<Arrived>().map(|Arrived(at)| *at),
        dependencies: None,
        content_version: None,
        min_lsn: headers
            .get(crate::graphql::reads::MIN_LSN_HEADER)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
    }
}
