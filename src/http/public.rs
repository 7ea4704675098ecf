//! The public folder (`--public-dir`; by default `pb_public` beside the
//! data folder, where a PocketBase install has it beside `pb_data`):
//! static files served at `/`, so a site or an app and the API it uses
//! come from one origin, as with PocketBase. Routes of Cairn's own (`/api/…`, `/_/…`) come first; a
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

/// What a request path finds in the folder, looked up in one blocking
/// step (each file system call from async code is a hop to the blocking
/// pool and back, which cost a small file most of its time).
enum Found {
    /// The folder is not there: `/` leads to the dashboard.
    NoFolder,
    File(PathBuf),
    /// The root `index.html`, for a path the folder lacks.
    Fallback(PathBuf),
    /// A folder asked for without its slash.
    Folder,
    Nothing,
}

fn find(root: &Path, path: &str, fallback: bool) -> Found {
    if !root.is_dir() {
        return Found::NoFolder;
    }
    let Some(file) = file_for(root, path) else {
        return Found::Nothing;
    };
    let missing = || {
        let index = root.join("index.html");
        if fallback && index.is_file() {
            Found::Fallback(index)
        } else {
            Found::Nothing
        }
    };
    match std::fs::metadata(&file) {
        Ok(meta) if meta.is_dir() && !path.ends_with('/') => Found::Folder,
        Ok(meta) if meta.is_dir() => {
            let index = file.join("index.html");
            if index.is_file() {
                Found::File(index)
            } else {
                missing()
            }
        }
        Ok(_) => Found::File(file),
        Err(_) => missing(),
    }
}

/// The site's files are sent as they are: a `.json` file is not an API
/// answer for `?fields=` to pick from. Like PocketBase, the request log
/// keeps only the requests here that fail.
#[handler]
pub async fn serve(req: &Request, Data(state): Data<&std::sync::Arc<AppState>>) -> Result<Response> {
    crate::telemetry::log_only_failure();
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
    let Some(root) = state.config.public_dir.clone() else {
        return root_without_site(path);
    };
    // The API's own paths never fall through to the site.
    if path == "/api" || path.starts_with("/api/") {
        return Err(ApiError::not_found().into());
    }
    let fallback = state.config.index_fallback;
    let owned = path.to_owned();
    let found = tokio::task::spawn_blocking(move || find(&root, &owned, fallback))
        .await
        .map_err(ApiError::internal)?;
    let (file, resp) = match found {
        Found::NoFolder => return root_without_site(path),
        Found::Nothing => return Err(ApiError::not_found().into()),
        Found::Folder => {
            // `/docs` → `/docs/`, so the page's relative links resolve.
            let mut to = format!("{path}/");
            if let Some(q) = req.uri().query() {
                to = format!("{to}?{q}");
            }
            return Ok(Response::builder()
                .status(StatusCode::MOVED_PERMANENTLY)
                .header(header::LOCATION, to)
                .finish());
        }
        // Revalidated each time: it names the app's current assets.
        Found::Fallback(index) => (
            index,
            Response::builder().header(header::CACHE_CONTROL, "no-cache"),
        ),
        Found::File(file) => (file, Response::builder()),
    };
    let mime = mime_guess::from_path(&file).first_or_octet_stream();
    let text = mime.type_() == mime_guess::mime::TEXT
        || matches!(mime.subtype().as_str(), "javascript" | "json" | "xml" | "svg");
    let content_type = match (text, mime.get_param(mime_guess::mime::CHARSET)) {
        (true, None) => format!("{mime}; charset=utf-8"),
        _ => mime.to_string(),
    };
    let read_below = if text { READ_WHOLE_BELOW } else { 0 };
    Ok(file_response::respond(req, &file, resp.content_type(content_type), read_below).await?)
}

/// `/` without a public folder leads to the dashboard; anything else is
/// not found.
fn root_without_site(path: &str) -> Result<Response> {
    if path == "/" {
        Ok(Redirect::moved_permanent("/_/").into_response())
    } else {
        Err(ApiError::not_found().into())
    }
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
