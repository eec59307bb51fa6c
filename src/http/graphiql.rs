//! Self-hosted GraphiQL IDE.
//!
//! The page and its assets (GraphiQL, React and ReactDOM UMD builds, see
//! `assets/graphiql/VERSIONS`) are compiled into the binary, so the IDE works
//! without any access to a CDN or to web fonts.

use axum::{
    Router,
    extract::Path,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

/// The GraphiQL page served at `/`.
const INDEX_HTML: &str = include_str!("../../assets/graphiql/index.html");

/// `Cache-Control` for the vendored assets, whose contents never change for a
/// given build.
const ASSET_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// A vendored file served under `/assets/graphiql/`: (name, content type, body).
type Asset = (&'static str, &'static str, &'static [u8]);

/// Every file served under `/assets/graphiql/`; any other name is a 404.
const ASSETS: [Asset; 4] = [
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
/// `GET /assets/graphiql/{file}` (its scripts and stylesheet).
///
/// The router is stateless, so it can be merged into a router of any state.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/", get(index))
        .route("/assets/graphiql/{file}", get(asset))
}

/// Serves the GraphiQL page; browsers revalidate it on every load.
async fn index() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        INDEX_HTML,
    )
        .into_response()
}

/// Serves one vendored asset by file name, or 404 for an unknown name.
async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some(&(_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, ASSET_CACHE_CONTROL),
            ],
            body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
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
    async fn serves_each_asset_as_immutable() {
        for (name, content_type, bytes) in ASSETS {
            let res = get(&format!("/assets/graphiql/{name}")).await;
            assert_eq!(res.status(), StatusCode::OK, "{name}");
            assert_eq!(header_of(&res, header::CONTENT_TYPE), content_type);
            assert_eq!(header_of(&res, header::CACHE_CONTROL), ASSET_CACHE_CONTROL);
            let body = res.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body.len(), bytes.len(), "{name}");
        }
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
