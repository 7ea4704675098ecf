//! The public folder (`--public-dir`; by default `pb_public` beside the
//! data folder, where PocketBase keeps it): static files served at `/`, so
//! a site or an app and the API it uses come from one origin, as with
//! PocketBase. Routes of Cairn's own (`/api/…`, `/_/…`) come first; a
//! path the folder lacks gets its `index.html` (an app routing in the
//! browser) unless `--index-fallback false`.
//!
//! Where it differs from PocketBase, it is stricter: dotfiles and dot
//! folders (`.env`, `.git/`) are never served (`.well-known/` is), and an
//! unknown `/api/…` path stays the API's JSON 404 rather than the index.
//! Without the folder, `/` leads to the dashboard, as before.

use std::path::{Path, PathBuf};

use poem::{
    IntoResponse, Request, Response, Result, handler,
    http::{Method, StatusCode, header},
    web::{Data, Redirect},
};

use super::{error::ApiError, file_response, middleware::fields::Picked};
use crate::app::AppState;

/// Text files below this size are read whole, so the edge compresses
/// them; larger ones, and every range, are streamed.
const READ_WHOLE_BELOW: u64 = 4 * 1024 * 1024;

/// The file under `root` that the request path names, or `None` when the
/// path may not name one: a dot segment (`..`, `.env`; `.well-known`
/// first is allowed), a backslash or a NUL, or text that is not UTF-8.
fn file_for(root: &Path, raw_path: &str) -> Option<PathBuf> {
    let decoded = percent_encoding::percent_decode_str(raw_path)
        .decode_utf8()
        .ok()?;
    let mut path = root.to_path_buf();
    for (i, segment) in decoded.split('/').filter(|s| !s.is_empty()).enumerate() {
        let hidden = segment.starts_with('.') && !(i == 0 && segment == ".well-known");
        if hidden || segment.contains(['\\', '\0']) {
            return None;
        }
        path.push(segment);
    }
    Some(path)
}

/// The response to a path the folder does not have: its index, or 404.
async fn missing(req: &Request, root: &Path, fallback: bool) -> Result<Response> {
    if fallback {
        let index = root.join("index.html");
        if tokio::fs::metadata(&index).await.is_ok_and(|m| m.is_file()) {
            // Revalidated each time: it names the app's current assets.
            let resp = Response::builder()
                .content_type("text/html; charset=utf-8")
                .header(header::CACHE_CONTROL, "no-cache");
            return Ok(file_response::respond(req, &index, resp, READ_WHOLE_BELOW).await?);
        }
    }
    Err(ApiError::not_found().into())
}

/// The site's files are sent as they are: a `.json` file is not an API
/// answer for `?fields=` to pick from.
#[handler]
pub async fn serve(req: &Request, Data(state): Data<&std::sync::Arc<AppState>>) -> Result<Response> {
    let mut resp = answer(req, state).await?;
    resp.set_data(Picked);
    Ok(resp)
}

async fn answer(req: &Request, state: &AppState) -> Result<Response> {
    // Only reads: any other method finds nothing here, as a path no
    // route serves (hyper sends a HEAD's headers without the body).
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Err(ApiError::not_found().into());
    }
    let path = req.uri().path();
    let root = state.config.public_dir.as_deref().filter(|root| root.is_dir());
    let Some(root) = root else {
        return if path == "/" {
            Ok(Redirect::moved_permanent("/_/").into_response())
        } else {
            Err(ApiError::not_found().into())
        };
    };
    // The API's own paths never fall through to the site.
    if path == "/api" || path.starts_with("/api/") {
        return Err(ApiError::not_found().into());
    }
    let fallback = state.config.index_fallback;
    let Some(file) = file_for(root, path) else {
        return Err(ApiError::not_found().into());
    };
    let Ok(meta) = tokio::fs::metadata(&file).await else {
        return missing(req, root, fallback).await;
    };
    let file = if meta.is_dir() {
        // `/docs` → `/docs/`, so the page's relative links resolve.
        if !path.ends_with('/') {
            let mut to = format!("{path}/");
            if let Some(q) = req.uri().query() {
                to = format!("{to}?{q}");
            }
            return Ok(Response::builder()
                .status(StatusCode::MOVED_PERMANENTLY)
                .header(header::LOCATION, to)
                .finish());
        }
        let index = file.join("index.html");
        if !tokio::fs::metadata(&index).await.is_ok_and(|m| m.is_file()) {
            return missing(req, root, fallback).await;
        }
        index
    } else {
        file
    };
    let mime = mime_guess::from_path(&file).first_or_octet_stream();
    let text = mime.type_() == mime_guess::mime::TEXT
        || matches!(mime.subtype().as_str(), "javascript" | "json" | "xml" | "svg");
    let content_type = match (text, mime.get_param(mime_guess::mime::CHARSET)) {
        (true, None) => format!("{mime}; charset=utf-8"),
        _ => mime.to_string(),
    };
    let resp = Response::builder().content_type(content_type);
    let read_below = if text { READ_WHOLE_BELOW } else { 0 };
    Ok(file_response::respond(req, &file, resp, read_below).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_files_under_the_root_only() {
        let root = Path::new("/srv/site");
        let file = |p: &str| file_for(root, p).map(|f| f.display().to_string());
        assert_eq!(file("/"), Some("/srv/site".into()));
        assert_eq!(file("/app.js"), Some("/srv/site/app.js".into()));
        assert_eq!(file("/a%20b/c.css"), Some("/srv/site/a b/c.css".into()));
        assert_eq!(
            file("/.well-known/security.txt"),
            Some("/srv/site/.well-known/security.txt".into())
        );
        for refused in [
            "/../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/a/%2E%2E/%2E%2E/etc/passwd",
            "/.env",
            "/.git/config",
            "/a/.hidden",
            "/a/.well-known/x",
            "/a%5c..%5cb",
            "/a%00.html",
            "/%ff",
        ] {
            assert_eq!(file(refused), None, "{refused}");
        }
    }
}
