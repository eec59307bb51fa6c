//! Self-hosted GraphiQL IDE.
//!
//! The page and its assets (GraphiQL, React and ReactDOM UMD builds, see
//! `assets/graphiql/VERSIONS`) are compiled into the binary, so the IDE works
//! without any access to a CDN or to web fonts.
//!
//! Each asset is served at a URL that names its content, `/assets/graphiql/HASH/FILE` (the
//! first 16 hex digits of its SHA-256), with a one-year `immutable` cache: an upgrade changes
//! the URLs, so no browser keeps an old GraphiQL. The page, which names those URLs, is never
//! cached without revalidation. The plain `/assets/graphiql/FILE` still answers, revalidated
//! each time, for pages saved before the URLs were hashed.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

use axum::{
    Router,
    extract::Path,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

/// The GraphiQL page as vendored, naming its assets by file name.
const INDEX_TEMPLATE: &str = include_str!("../../assets/graphiql/index.html");

/// The page served at `/`, naming each asset by its hashed URL (computed once).
static INDEX_HTML: LazyLock<String> = LazyLock::new(|| {
    ASSETS
        .iter()
        .fold(INDEX_TEMPLATE.to_owned(), |html, asset| {
            html.replace(
                &format!("\"/assets/graphiql/{}\"", asset.0),
                &format!("\"{}\"", hashed_url(asset)),
            )
        })
});

/// The content hash of every asset, in the order of [`ASSETS`] (computed once).
static HASHES: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|(_, _, body)| hex::encode(&Sha256::digest(body)[..8]))
        .collect()
});

/// `/assets/graphiql/HASH/FILE` for an asset.
pub fn hashed_url(asset: &Asset) -> String {
    let index = ASSETS
        .iter()
        .position(|a| a.0 == asset.0)
        .expect("one of ASSETS");
    format!("/assets/graphiql/{}/{}", HASHES[index], asset.0)
}

/// `Cache-Control` for an asset at its plain, unhashed URL.
const PLAIN_CACHE_CONTROL: &str = "no-cache";

/// `Cache-Control` for an asset at its hashed URL, whose content never changes.
const ASSET_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// A vendored file served under `/assets/graphiql/`: (name, content type, body).
pub type Asset = (&'static str, &'static str, &'static [u8]);

/// Every file served under `/assets/graphiql/`; any other name is a 404.
pub const ASSETS: [Asset; 4] = [
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    ),
];

/// Routes for the GraphiQL IDE: `GET /` (the page) and
/// `GET /assets/graphiql/{hash}/{file}` (its scripts and stylesheet; also at
/// `/assets/graphiql/{file}`, revalidated).
///
/// The router is stateless, so it can be merged into a router of any state.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/", get(index))
        .route("/assets/graphiql/{file}", get(plain_asset))
        .route("/assets/graphiql/{hash}/{file}", get(asset))
}

/// Serves the GraphiQL page; browsers revalidate it on every load.
async fn index() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        INDEX_HTML.as_str(),
    )
        .into_response()
}

/// Serves one vendored asset at its hashed URL; a hash that is not the file's is a 404 (an
/// old page asking for an old build's file must not cache this build's as immutable).
async fn asset(Path((hash, file)): Path<(String, String)>) -> Response {
    match ASSETS.iter().position(|(name, _, _)| *name == file) {
        Some(index) if HASHES[index] == hash => serve(&ASSETS[index], ASSET_CACHE_CONTROL),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Serves one vendored asset by file name alone, revalidated on every use.
async fn plain_asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some(asset) => serve(asset, PLAIN_CACHE_CONTROL),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn serve(&(_, content_type, body): &Asset, cache_control: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache_control),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(uri: &str) -> Response {
        routes::<()>()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    fn header_of(res: &Response, name: header::HeaderName) -> &str {
        res.headers()[name].to_str().unwrap()
    }

    #[tokio::test]
    async fn serves_the_page_without_caching() {
        let res = get("/").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            header_of(&res, header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        assert_eq!(header_of(&res, header::CACHE_CONTROL), "no-cache");
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let html = std::str::from_utf8(&body).unwrap();
        assert!(html.contains("<title>Annals — GraphiQL</title>"));
        assert!(
            !html.contains("https://"),
            "the page must not load anything external"
        );
    }

    #[tokio::test]
    async fn serves_each_asset_at_its_hashed_url_as_immutable() {
        let page = get("/")
            .await
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes();
        let page = std::str::from_utf8(&page).unwrap().to_owned();
        for asset @ (name, content_type, bytes) in ASSETS {
            let url = hashed_url(&asset);
            assert!(page.contains(&format!("\"{url}\"")), "the page names {url}");
            let res = get(&url).await;
            assert_eq!(res.status(), StatusCode::OK, "{name}");
            assert_eq!(header_of(&res, header::CONTENT_TYPE), content_type);
            assert_eq!(header_of(&res, header::CACHE_CONTROL), ASSET_CACHE_CONTROL);
            let body = res.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], bytes, "{name}");
            // The plain URL still works, but is revalidated.
            let plain = get(&format!("/assets/graphiql/{name}")).await;
            assert_eq!(plain.status(), StatusCode::OK, "{name}");
            assert_eq!(header_of(&plain, header::CACHE_CONTROL), "no-cache");
            // Another build's hash is not this file.
            let stale = get(&format!("/assets/graphiql/0123456789abcdef/{name}")).await;
            assert_eq!(stale.status(), StatusCode::NOT_FOUND, "{name}");
        }
        assert!(
            !page.contains("\"/assets/graphiql/graphiql.min.js\""),
            "no unhashed URL left"
        );
    }

    #[test]
    fn hashes_name_the_content() {
        let (_, _, body) = ASSETS[0];
        let full = hex::encode(Sha256::digest(body));
        assert!(hashed_url(&ASSETS[0]).contains(&full[..16]));
        assert_eq!(HASHES.len(), ASSETS.len());
        assert!(HASHES.iter().all(|h| h.len() == 16));
    }

    #[tokio::test]
    async fn unknown_assets_are_not_found() {
        for uri in [
            "/assets/graphiql/index.html",
            "/assets/graphiql/graphiql.min.js.map",
            "/assets/graphiql/..%2FCargo.toml",
            "/assets/graphiql/",
        ] {
            assert_eq!(get(uri).await.status(), StatusCode::NOT_FOUND, "{uri}");
        }
    }
}
