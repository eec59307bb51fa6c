//! What every transport reads off a request before executing it: who sent it ([`caller`]) and
//! which kind of operation it selects ([`operation_type`]). Shared by the HTTP handlers
//! ([`super::graphql`]) and the WebSocket ([`super::ws`]), so neither reaches into the other.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

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

/// Who sent the request: its id, its `Authorization` header, and its address (behind one of
/// the `trusted` proxies, the client's address they forwarded).
pub fn caller(headers: &HeaderMap, extensions: &Extensions, trusted: &[IpNet]) -> Caller {
    Caller {
        request_id: headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned(),
        authorization: headers
            .get(header::AUTHORIZATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        peer: client_address(
            headers,
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| -> IpAddr { addr.ip() }),
            trusted,
        ),
        arrived: extensions.get::<Arrived>().map(|Arrived(at)| *at),
        dependencies: None,
        content_version: None,
        min_lsn: headers
            .get(crate::graphql::reads::MIN_LSN_HEADER)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
    }
}

/// The client's address: the connection's (`peer`), unless that is a trusted proxy; then,
/// reading `X-Forwarded-For` from the right (each proxy appends the address it saw), the
/// first entry that is not a trusted proxy. An entry that is not an address stops the walk
/// at the last good one: a client can put anything at the left end, never at the right.
fn client_address(headers: &HeaderMap, peer: Option<IpAddr>, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut client = peer;
    for value in headers.get_all("x-forwarded-for").iter().rev() {
        let Ok(text) = value.to_str() else {
            return Some(client);
        };
        for entry in text.rsplit(',') {
            let entry = entry.trim();
            let Some(ip) = entry
                .parse::<IpAddr>()
                .ok()
                .or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
            else {
                return Some(client);
            };
            client = ip;
            if !is_trusted(&ip) {
                return Some(ip);
            }
        }
    }
    Some(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_client_is_the_last_untrusted_forwarded_address() {
        let trusted: Vec<IpNet> = vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let address = |values: &[&str], peer: &str| {
            client_address(&with(values), Some(peer.parse().unwrap()), &trusted)
                .map(|a| a.to_string())
        };
        // Not from a proxy: the header is the client's to write, and ignored.
        assert_eq!(
            address(&["9.9.9.9"], "203.0.113.7").as_deref(),
            Some("203.0.113.7")
        );
        // From a proxy: the address it forwarded; proxies in between are skipped.
        assert_eq!(
            address(&["198.51.100.1"], "127.0.0.1").as_deref(),
            Some("198.51.100.1")
        );
        assert_eq!(
            address(&["6.6.6.6, 198.51.100.1, 10.1.2.3"], "127.0.0.1").as_deref(),
            Some("198.51.100.1"),
            "a forged left end does not count"
        );
        assert_eq!(
            address(&["6.6.6.6", "198.51.100.1"], "127.0.0.1").as_deref(),
            Some("198.51.100.1")
        );
        assert_eq!(
            address(&["198.51.100.1:4711"], "127.0.0.1").as_deref(),
            Some("198.51.100.1")
        );
        assert_eq!(
            address(&["[2001:db8::1]:443"], "127.0.0.1").as_deref(),
            Some("2001:db8::1")
        );
        // Nothing usable: the last trusted hop.
        assert_eq!(address(&[], "127.0.0.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(
            address(&["garbage, 10.0.0.5"], "127.0.0.1").as_deref(),
            Some("10.0.0.5")
        );
        assert_eq!(
            client_address(&with(&["1.2.3.4"]), Some(local), &[]),
            Some(local),
            "no trusted proxies"
        );
    }
}
