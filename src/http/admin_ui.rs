//! The admin UI: the static files of `assets/admin/`, embedded at build
//! time and served at `/_/`. Unknown paths without a file extension fall
//! back to `index.html` (client-side routes). `index.html` is never cached
//! and references its entry files with a version query, so those can be
//! cached for a year and still change with every release. ES modules
//! imported from there come without the query (an import map would need an
//! inline script, which the CSP forbids): they are revalidated by ETag.

use std::sync::LazyLock;

use poem::{
    Request, Response,
    http::{HeaderValue, Method, StatusCode, header},
};
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

use super::error::ApiError;

#[derive(RustEmbed)]
#[folder = "assets/admin/"]
struct Assets;

/// One version for the whole asset set: a digest of every file's digest.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut names: Vec<_> = Assets::iter().collect();
    names.sort();
    let mut hasher = Sha256::new();
    for name in names {
        if let Some(file) = Assets::get(&name) {
            hasher.update(name.as_bytes());
            hasher.update(file.metadata.sha256_hash());
        }
    }
    hex::encode(&hasher.finalize()[..6])
});

fn index() -> Response {
    let Some(file) = Assets::get("index.html") else {
        return ApiError::not_found().to_response();
    };
    let html = String::from_utf8_lossy(&file.data).replace("__VERSION__", &VERSION);
    Response::builder()
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(html)
}

/// Serves `/_/{path}`; `path` has no leading slash.
pub fn serve(req: &Request, path: &str) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.").to_response();
    }
    if path.is_empty() || path == "index.html" {
        return index();
    }
    let Some(file) = Assets::get(path) else {
        let last = path.rsplit('/').next().unwrap_or(path);
        return if last.contains('.') {
            ApiError::not_found().to_response()
        } else {
            index()
        };
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let versioned = req.uri().query().is_some_and(|q| {
        q.split('&')
            .any(|p| p.strip_prefix("v=") == Some(VERSION.as_str()))
    });
    let cache = if versioned {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let builder = Response::builder()
        .header(header::ETAG, etag.as_str())
        .header(header::CACHE_CONTROL, cache);
    if fresh {
        return builder.status(StatusCode::NOT_MODIFIED).finish();
    }
    let mut resp = builder
        .header(header::CONTENT_TYPE, file.metadata.mimetype())
        .body(file.data.into_owned());
    if req.method() == Method::HEAD {
        resp.set_body(());
    }
    resp.headers_mut()
        .entry(header::CONTENT_TYPE)
        .or_insert(HeaderValue::from_static("application/octet-stream"));
    resp
}
