//! `annals persisted`: register trusted documents from client build output, list and remove
//! persisted queries.
//!
//! `add` reads, per file:
//! - Apollo's persisted-query manifest (`@apollo/generate-persisted-query-manifest`):
//!   `{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id",
//!   "name", "type", "body"}]}`;
//! - graphql-codegen's persisted documents (`persisted-documents.json`): `{"<hash>":
//!   "<document>"}`;
//! - a GraphQL document (`.graphql`, `.gql`, or anything that is not JSON), stored as the
//!   file's exact text.
//!
//! Every id or key must be the SHA-256 of its document, as the persisted-query protocol
//! sends it (graphql-codegen: `hashAlgorithm: 'sha256'`). Every document must parse and fit the
//! query-size limit. Nothing is written unless every file is good.

use std::path::{Path, PathBuf};

use sea_orm::TransactionTrait;

use super::say;
use crate::{
    db::Db,
    error::{Error, Result},
    graphql::persisted::{normalize_hash, sha256_hex},
    store,
};

/// One document to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The lowercase hex SHA-256 of `body`.
    pub hash: String,
    /// The operation name, when the file gives one.
    pub name: Option<String>,
    /// The GraphQL document.
    pub body: String,
}

fn fail(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::Io(format!("{}: {what}", path.display()))
}

/// Checks that `body` is a GraphQL document within `max_bytes` whose hash is `id` (when a
/// manifest gives one), and makes it a [`Document`].
fn document(
    path: &Path,
    id: Option<&str>,
    name: Option<String>,
    body: String,
    max_bytes: usize,
) -> Result<Document> {
    let what = name.as_deref().or(id).unwrap_or("the document").to_owned();
    if body.len() > max_bytes {
        return Err(fail(
            path,
            format!(
                "{what} is {} bytes long, over the query-size limit of {max_bytes} bytes",
                body.len()
            ),
        ));
    }
    if let Err(err) = async_graphql::parser::parse_query(&body) {
        let first = err.to_string();
        let first = first.lines().next().unwrap_or("").trim().to_owned();
        return Err(fail(
            path,
            format!("{what} is not a GraphQL document: {first}"),
        ));
    }
    let hash = sha256_hex(&body);
    if let Some(id) = id {
        match normalize_hash(id) {
            Some(id) if id == hash => {}
            _ => {
                return Err(fail(
                    path,
                    format!(
                        "{what}: {id:?} is not the SHA-256 of its document (Annals keys documents by SHA-256; with graphql-codegen set persistedDocuments.hashAlgorithm to 'sha256')"
                    ),
                ));
            }
        }
    }
    Ok(Document { hash, name, body })
}

/// The documents one file holds (see the module's documentation for the formats).
pub fn parse_file(path: &Path, text: &str, max_bytes: usize) -> Result<Vec<Document>> {
    let graphql_file = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("graphql") || e.eq_ignore_ascii_case("gql"));
    let json = if graphql_file {
        None
    } else {
        serde_json::from_str::<serde_json::Value>(text).ok()
    };
    let Some(json) = json else {
        if !graphql_file && text.trim_start().starts_with(['{', '[']) {
            // Meant as JSON, most likely: say so rather than fail to parse it as GraphQL.
            if let Err(err) = serde_json::from_str::<serde_json::Value>(text) {
                return Err(fail(path, format!("not valid JSON: {err}")));
            }
        }
        return Ok(vec![document(
            path,
            None,
            None,
            text.to_owned(),
            max_bytes,
        )?]);
    };
    let serde_json::Value::Object(map) = json else {
        return Err(fail(
            path,
            "not a persisted-query manifest: expected a JSON object",
        ));
    };
    if let Some(format) = map.get("format") {
        if format != "apollo-persisted-query-manifest" {
            return Err(fail(path, format!("unknown manifest format {format}")));
        }
        if map.get("version").and_then(|v| v.as_i64()) != Some(1) {
            return Err(fail(
                path,
                "unsupported Apollo manifest version (expected 1)",
            ));
        }
        let Some(operations) = map.get("operations").and_then(|o| o.as_array()) else {
            return Err(fail(path, "the manifest has no operations array"));
        };
        return operations
            .iter()
            .enumerate()
            .map(|(i, op)| {
                let field = |key: &str| op.get(key).and_then(|v| v.as_str()).map(str::to_owned);
                let (Some(id), Some(body)) = (field("id"), field("body")) else {
                    return Err(fail(
                        path,
                        format!("operation {i} needs string fields id and body"),
                    ));
                };
                document(path, Some(&id), field("name"), body, max_bytes)
            })
            .collect();
    }
    // graphql-codegen: hash → document.
    map.into_iter()
        .map(|(id, body)| match body {
            serde_json::Value::String(body) => document(path, Some(&id), None, body, max_bytes),
            _ => Err(fail(
                path,
                format!("the document of {id:?} is not a string"),
            )),
        })
        .collect()
}

/// `annals persisted add FILE...`: registers every document as trusted, in one transaction.
pub async fn add(db: &Db, files: &[PathBuf], max_bytes: usize) -> Result<()> {
    let mut documents = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path)
            .map_err(|err| fail(path, format!("cannot read: {err}")))?;
        documents.extend(parse_file(path, &text, max_bytes)?);
    }
    let txn = db.conn.begin().await?;
    for doc in &documents {
        store::persisted::put(&txn, &doc.hash, &doc.body, doc.name.as_deref(), true).await?;
    }
    txn.commit().await?;
    say(&format!(
        "persisted: {} trusted document(s) registered from {} file(s)",
        documents.len(),
        files.len()
    ));
    Ok(())
}

/// `annals persisted list`: one line per document: hash, `trusted` or `auto`, name.
pub async fn list(db: &Db) -> Result<()> {
    for stored in store::persisted::list(&db.conn).await? {
        say(&format!(
            "{}\t{}\t{}",
            stored.hash,
            if stored.trusted { "trusted" } else { "auto" },
            stored.name.as_deref().unwrap_or("-")
        ));
    }
    Ok(())
}

/// `annals persisted remove HASH`: forgets a document (running servers stop serving it
/// within a minute, when their cache next checks it).
pub async fn remove(db: &Db, hash: &str) -> Result<()> {
    let Some(key) = normalize_hash(hash) else {
        return Err(Error::Io(format!(
            "{hash:?} is not a SHA-256 (64 hexadecimal digits)"
        )));
    };
    if !store::persisted::remove(&db.conn, &key).await? {
        return Err(Error::Io(format!("no persisted query has the hash {key}")));
    }
    say(&format!("persisted: removed {key}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 65_536;

    #[test]
    fn reads_the_three_formats() {
        let body = "query A { topics { slug } }";
        let hash = sha256_hex(body);
        let apollo = serde_json::json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{ "id": hash, "name": "A", "type": "query", "body": body }],
        })
        .to_string();
        let docs = parse_file(Path::new("m.json"), &apollo, MAX).unwrap();
        assert_eq!(docs[0].hash, hash);
        assert_eq!(docs[0].name.as_deref(), Some("A"));
        let codegen = serde_json::json!({ hash.clone(): body }).to_string();
        assert_eq!(
            parse_file(Path::new("p.json"), &codegen, MAX).unwrap()[0].body,
            body
        );
        let plain = parse_file(Path::new("a.graphql"), body, MAX).unwrap();
        assert_eq!(plain[0].hash, hash);
    }

    #[test]
    fn refuses_what_it_cannot_trust() {
        let body = "query A { topics { slug } }";
        let wrong = serde_json::json!({ "0".repeat(64): body }).to_string();
        let err = parse_file(Path::new("p.json"), &wrong, MAX).unwrap_err();
        assert!(
            err.message().contains("not the SHA-256"),
            "{}",
            err.message()
        );
        let sha1 = serde_json::json!({ "a".repeat(40): body }).to_string();
        assert!(parse_file(Path::new("p.json"), &sha1, MAX).is_err());
        assert!(parse_file(Path::new("a.graphql"), "query {", MAX).is_err());
        assert!(parse_file(Path::new("a.graphql"), body, 5).is_err());
        assert!(parse_file(Path::new("m.json"), "{ nope", MAX).is_err());
        assert!(parse_file(Path::new("m.json"), "[1]", MAX).is_err());
    }
}
