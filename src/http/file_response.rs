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

/// What the file system gave, in one blocking step (each call from
/// async code is a hop to the blocking pool and back).
enum Opened {
    /// The client's copy is current.
    NotModified,
    /// The whole file, read.
    Bytes(Vec<u8>),
    /// The open file, to stream (or a part of it).
    Stream(std::fs::File),
}

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
    let header_text = |name| {
        req.headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let (if_none_match, range) = (header_text(header::IF_NONE_MATCH), header_text(header::RANGE));
    let path = path.to_owned();
    let opened = tokio::task::spawn_blocking(move || -> std::io::Result<Option<_>> {
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(_) => return Ok(None),
        };
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Ok(None);
        }
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let etag = format!("\"{:x}-{modified:x}\"", meta.len());
        let len = meta.len();
        let range = range.map(|raw| parse_range(&raw, len));
        let revalidated =
            if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
        let opened = if revalidated {
            Opened::NotModified
        } else if matches!(range, None | Some(Range::Whole)) && len < read_below {
            let mut bytes = Vec::with_capacity(len as usize);
            std::io::Read::read_to_end(&mut &file, &mut bytes)?;
            Opened::Bytes(bytes)
        } else {
            Opened::Stream(file)
        };
        Ok(Some((etag, len, range, opened)))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let Some((etag, len, range, opened)) = opened else {
        return Err(ApiError::not_found());
    };
    let resp = resp
        .header(header::ETAG, etag.as_str())
        .header(header::ACCEPT_RANGES, "bytes");
    let file = match opened {
        Opened::NotModified => return Ok(resp.status(StatusCode::NOT_MODIFIED).finish()),
        Opened::Bytes(bytes) => return Ok(resp.body(bytes)),
        Opened::Stream(file) => tokio::fs::File::from_std(file),
    };
    let mut file = file;
    Ok(match range {
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
