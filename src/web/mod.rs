//! The browser pages: the agent workstation (`/agent`) and the supervisor
//! wallboard (`/supervisor`), served by the binary itself.
//!
//! The pages are plain HTML, CSS and JavaScript modules under `web/` at the
//! repository root, compiled into the binary with `include_bytes!`: a
//! government site has no internet (no CDN) and no build step is needed.
//! Assets are served under `/assets/{name}` with their content type, an
//! `ETag` (a hash of the bytes, computed at compile time) and
//! `Cache-Control: no-cache`, so a browser revalidates cheaply (`304`) and
//! never runs a stale script after an upgrade. Pages carry a Content
//! Security Policy allowing only this origin's scripts, styles and
//! connections.
//!
//! The pages talk to the JSON API with the bearer token of `POST /api/login`
//! and follow live changes over `/api/events` (falling back to polling the
//! REST API every 2 s while the WebSocket is unavailable).

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// File name under `web/` (and `/assets/`).
    pub name: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Strong validator: FNV-1a of the bytes, quoted.
    etag: u64,
}

/// FNV-1a, 64 bit: a cheap, stable fingerprint for `ETag`s (not security).
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            body: include_bytes!(concat!("../../web/", $name)),
            content_type: $type,
            etag: fnv1a(include_bytes!(concat!("../../web/", $name))),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";

/// Every embedded file.
pub static ASSETS: &[Asset] = &[
    asset!("agent.html", HTML),
    asset!("supervisor.html", HTML),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("i18n.js", JS),
    asset!("api.js", JS),
    asset!("live.js", JS),
    asset!("dom.js", JS),
    asset!("chart.js", JS),
    asset!("agent.js", JS),
    asset!("order_form.js", JS),
    asset!("supervisor.js", JS),
    asset!("favicon.svg", "image/svg+xml"),
];

/// The policy of the HTML pages: this origin only (the WebSocket included);
/// recordings stream from this origin through play links (`http::playback`).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; media-src 'self'; connect-src 'self' ws: wss:; \
     object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The embedded file called `name`.
pub fn asset(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// The routes of the pages and their assets (no state needed).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/agent") }))
        .route(
            "/agent",
            get(|headers: HeaderMap| async move { serve("agent.html", &headers) }),
        )
        .route(
            "/supervisor",
            get(|headers: HeaderMap| async move { serve("supervisor.html", &headers) }),
        )
        .route(
            "/assets/{name}",
            get(|Path(name): Path<String>, headers: HeaderMap| async move {
                if name.ends_with(".html") {
                    // Pages have their own addresses.
                    return StatusCode::NOT_FOUND.into_response();
                }
                serve(&name, &headers)
            }),
        )
}

/// The file with validators; `304` when the browser's copy is current.
fn serve(name: &str, headers: &HeaderMap) -> Response {
    let Some(a) = asset(name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"{:016x}\"", a.etag);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut out = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, a.body).into_response()
    };
    let h = out.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if a.content_type == HTML {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(path: &str, etag: Option<&str>) -> Response {
        let mut req = Request::get(path);
        if let Some(e) = etag {
            req = req.header(header::IF_NONE_MATCH, e);
        }
        routes::<()>()
            .oneshot(req.body(Body::empty()).expect("request"))
            .await
            .expect("response")
    }

    #[tokio::test]
    async fn pages_and_assets_have_types_validators_and_a_policy() {
        let page = get("/agent", None).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()[header::CONTENT_TYPE], HTML);
        assert_eq!(page.headers()[header::CACHE_CONTROL], "no-cache");
        assert!(page.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ascii")
            .contains("script-src 'self'"));
        let js = get("/assets/agent.js", None).await;
        assert_eq!(js.status(), StatusCode::OK);
        assert_eq!(js.headers()[header::CONTENT_TYPE], JS);
        let etag = js.headers()[header::ETAG]
            .to_str()
            .expect("ascii")
            .to_owned();
        let again = get("/assets/agent.js", Some(&etag)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let other = get("/assets/agent.js", Some("\"0000000000000000\"")).await;
        assert_eq!(other.status(), StatusCode::OK);
        assert_eq!(
            get("/assets/style.css", None).await.headers()[header::CONTENT_TYPE],
            "text/css; charset=utf-8"
        );
        for missing in [
            "/assets/nope.js",
            "/assets/agent.html",
            "/assets/..%2fCargo.toml",
        ] {
            assert_eq!(
                get(missing, None).await.status(),
                StatusCode::NOT_FOUND,
                "{missing}"
            );
        }
        assert_eq!(get("/", None).await.status(), StatusCode::SEE_OTHER);
    }

    #[test]
    fn every_script_a_page_or_module_imports_is_embedded() {
        for a in ASSETS {
            let text = std::str::from_utf8(a.body).expect("UTF-8 text");
            for marker in ["src=\"/assets/", "href=\"/assets/", "from './"] {
                for part in text.split(marker).skip(1) {
                    let end = part.find(['"', '\'']).unwrap_or(part.len());
                    let name = &part[..end];
                    assert!(asset(name).is_some(), "{} refers to missing {name}", a.name);
                }
            }
        }
    }
}
