//! A path with empty, `.` or `..` segments (`//api/health`, `/api/./x`,
//! `/x/../api/health`) is redirected to its clean form with a 307, which
//! keeps the method and the body, as PocketBase's router answers it: an
//! app whose base URL ends in a slash (`http://host/` + `/api/…`) still
//! reaches the API. Such a request reaches no handler and no rate limit
//! bucket; the clean one is judged as any other.
//!
//! Only the path as sent is cleaned: an escaped dot (`%2e`) or slash is
//! part of a name, not a step, and is left to the router (404), as
//! PocketBase leaves it. A path holding a backslash is never redirected,
//! since a browser reads `/\host` in a `Location` as another host.

use poem::{
    Request, Response,
    http::{StatusCode, header},
};

/// The redirect to `req`'s clean path, or `None` when it is clean.
pub fn redirect(req: &Request) -> Option<Response> {
    let path = req.uri().path();
    let clean = clean(path)?;
    let location = match req.uri().query() {
        Some(query) => format!("{clean}?{query}"),
        None => clean,
    };
    Some(
        Response::builder()
            .status(StatusCode::TEMPORARY_REDIRECT)
            .header(header::LOCATION, location)
            .finish(),
    )
}

/// `path` without empty and `.` segments, each `..` taking the segment
/// before it (none above the root), and a trailing slash kept; `None`
/// when that is `path` itself or `path` holds a backslash.
fn clean(path: &str) -> Option<String> {
    // Most paths: a scan, no allocation.
    let unclean = path.contains("//")
        || path.contains("/./")
        || path.contains("/../")
        || path.ends_with("/.")
        || path.ends_with("/..");
    if !unclean || !path.starts_with('/') || path.contains('\\') {
        return None;
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            name => segments.push(name),
        }
    }
    let mut clean = String::with_capacity(path.len());
    for segment in &segments {
        clean.push('/');
        clean.push_str(segment);
    }
    if clean.is_empty() || path.ends_with('/') {
        clean.push('/');
    }
    (clean != path).then_some(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_as_a_router_would_resolve_them() {
        let cases = [
            ("/api/health", None),
            ("/", None),
            ("/api/records/", None),
            ("//api/health", Some("/api/health")),
            ("/api//health", Some("/api/health")),
            ("/api/health//", Some("/api/health/")),
            ("/api/./health", Some("/api/health")),
            ("/api/health/.", Some("/api/health")),
            ("/api/x/../health", Some("/api/health")),
            ("/../../api/health", Some("/api/health")),
            ("/api/..", Some("/")),
            ("//evil.example/x", Some("/evil.example/x")),
            ("/api/%2e%2e/health", None),
            ("//\\evil.example", None),
        ];
        for (path, want) in cases {
            assert_eq!(clean(path).as_deref(), want, "{path}");
        }
    }
}
