//! A file on disk as a response, for every route that serves one (stored
//! files under `/api/files`, the public folder): a validator from its size
//! and time (`ETag`, so `If-None-Match` answers 304), one byte `Range`
//! (206, or 416), and the bytes streamed so a large file never sits in
//! memory whole. The caller sets what depends on the route (type, cache
//! policy, disposition) on the builder it passes.

use std::path::Path;

use poem::{
    Body, Request, Response, ResponseBuilder,
    http::{HeaderValue, StatusCode, header},
};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::error::ApiError;

/// Serves the file at `path` with the headers `resp` already has; a file
/// that is not there (or not a file) is the API's 404. A whole file
/// smaller than `read_below` bytes is read at once rather than streamed,
/// so its size is known and the edge may compress it.
pub async fn respond(
    req: &Request,
    path: &Path,
    resp: ResponseBuilder,
    read_below: u64,
) -> Result<Response, ApiError> {
    let meta = tokio::fs::metadata(path)
        .await
        .ok()
        .filter(std::fs::Metadata::is_file)
        .ok_or_else(ApiError::not_found)?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let etag = format!("\"{:x}-{modified:x}\"", meta.len());
    let resp = resp
        .header(header::ETAG, etag.as_str())
        .header(header::ACCEPT_RANGES, "bytes");
    let revalidated = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if revalidated {
        return Ok(resp.status(StatusCode::NOT_MODIFIED).finish());
    }
    let mut file = tokio::fs::File::open(path).await.map_err(ApiError::internal)?;
    let len = meta.len();
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|raw| parse_range(raw, len));
    Ok(match range {
        None | Some(Range::Whole) if len < read_below => {
            let mut bytes = Vec::with_capacity(len as usize);
            file.read_to_end(&mut bytes).await.map_err(ApiError::internal)?;
            resp.body(bytes)
        }
        None | Some(Range::Whole) => resp
            .header(header::CONTENT_LENGTH, len)
            .body(Body::from_async_read(file)),
        Some(Range::Part(start, end)) => {
            file.seek(std::io::SeekFrom::Start(start))
                .await
                .map_err(ApiError::internal)?;
            resp.status(StatusCode::PARTIAL_CONTENT)
                .header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"))
                .header(header::CONTENT_LENGTH, end - start + 1)
                .body(Body::from_async_read(file.take(end - start + 1)))
        }
        Some(Range::Unsatisfiable) => {
            let mut r = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "The requested range is not satisfiable.",
            )
            .to_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            r
        }
    })
}

#[derive(Debug, PartialEq, Eq)]
enum Range {
    /// No usable range (several ranges, or another unit): the whole file.
    Whole,
    /// Inclusive byte positions.
    Part(u64, u64),
    Unsatisfiable,
}

/// One `bytes=` range of RFC 9110: `a-b`, `a-` or `-suffix`.
fn parse_range(raw: &str, len: u64) -> Range {
    let Some(spec) = raw.trim().strip_prefix("bytes=") else {
        return Range::Whole;
    };
    if spec.contains(',') {
        return Range::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Range::Unsatisfiable;
    };
    let (a, b) = (a.trim(), b.trim());
    let parsed = match (a.is_empty(), b.is_empty()) {
        (true, false) => b
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .map(|n| (len.saturating_sub(n), len.saturating_sub(1))),
        (false, _) => a.parse::<u64>().ok().and_then(|start| {
            let end = if b.is_empty() {
                Some(len.saturating_sub(1))
            } else {
                b.parse::<u64>().ok()
            };
            end.filter(|e| *e >= start)
                .map(|e| (start, e.min(len.saturating_sub(1))))
        }),
        _ => None,
    };
    match parsed {
        Some((start, end)) if len > 0 && start < len => Range::Part(start, end),
        _ => Range::Unsatisfiable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=1-3", 5), Range::Part(1, 3));
        assert_eq!(parse_range("bytes=2-", 5), Range::Part(2, 4));
        assert_eq!(parse_range("bytes=-2", 5), Range::Part(3, 4));
        assert_eq!(parse_range("bytes=1-99", 5), Range::Part(1, 4));
        assert_eq!(parse_range("bytes=5-", 5), Range::Unsatisfiable);
        assert_eq!(parse_range("bytes=3-1", 5), Range::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,3-4", 5), Range::Whole);
        assert_eq!(parse_range("items=0-1", 5), Range::Whole);
    }
}
