//! A file on disk as a response, for every route that serves one (stored
//! files under `/api/files`, the public folder): validators from its size
//! and time (`ETag` and `Last-Modified`, as PocketBase sends the latter,
//! so `If-None-Match` and `If-Modified-Since` answer 304,
//! `If-Unmodified-Since` 412 and `If-Range` decides whether a range is
//! still the client's file, RFC 9110 §13), one byte `Range` (206, or 416),
//! and the bytes streamed so a large file never sits in memory whole. The
//! caller sets what depends on the route (type, cache policy,
//! disposition) on the builder it passes.

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
    /// The client's copy is not the file's (`If-Unmodified-Since`).
    PreconditionFailed,
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
    let conditions = Conditions {
        if_none_match: header_text(header::IF_NONE_MATCH),
        if_modified_since: header_text(header::IF_MODIFIED_SINCE),
        if_unmodified_since: header_text(header::IF_UNMODIFIED_SINCE),
        if_range: header_text(header::IF_RANGE),
    };
    let range = header_text(header::RANGE);
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
        let since_epoch = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .unwrap_or_default();
        let etag = format!("\"{:x}-{:x}\"", meta.len(), since_epoch.as_nanos());
        // HTTP dates count whole seconds.
        let modified = i64::try_from(since_epoch.as_secs()).unwrap_or(0);
        let len = meta.len();
        let range = match range {
            Some(raw) if conditions.range_applies(&etag, modified) => Some(parse_range(&raw, len)),
            _ => None,
        };
        let opened = match conditions.verdict(&etag, modified) {
            Verdict::Failed => Opened::PreconditionFailed,
            Verdict::NotModified => Opened::NotModified,
            Verdict::Serve if matches!(range, None | Some(Range::Whole)) && len < read_below => {
                let mut bytes = Vec::with_capacity(len as usize);
                std::io::Read::read_to_end(&mut &file, &mut bytes)?;
                Opened::Bytes(bytes)
            }
            Verdict::Serve => Opened::Stream(file),
        };
        Ok(Some((etag, modified, len, range, opened)))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let Some((etag, modified, len, range, opened)) = opened else {
        return Err(ApiError::not_found());
    };
    let resp = resp
        .header(header::ETAG, etag.as_str())
        .header(header::LAST_MODIFIED, http_date(modified))
        .header(header::ACCEPT_RANGES, "bytes");
    let file = match opened {
        Opened::NotModified => return Ok(resp.status(StatusCode::NOT_MODIFIED).finish()),
        Opened::PreconditionFailed => return Ok(resp.status(StatusCode::PRECONDITION_FAILED).finish()),
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

/// The request's conditional headers (RFC 9110 §13.1).
struct Conditions {
    if_none_match: Option<String>,
    if_modified_since: Option<String>,
    if_unmodified_since: Option<String>,
    if_range: Option<String>,
}

enum Verdict {
    Serve,
    NotModified,
    Failed,
}

impl Conditions {
    /// What the conditions decide for a file of `etag` last modified at
    /// `modified` (Unix seconds), in the order of RFC 9110 §13.2.2.
    fn verdict(&self, etag: &str, modified: i64) -> Verdict {
        if self
            .if_unmodified_since
            .as_deref()
            .and_then(parse_http_date)
            .is_some_and(|since| modified > since)
        {
            return Verdict::Failed;
        }
        match &self.if_none_match {
            Some(tags) if tags.split(',').any(|t| t.trim() == etag || t.trim() == "*") => {
                Verdict::NotModified
            }
            // A list of tags decides alone; the date is not read then.
            Some(_) => Verdict::Serve,
            None if self
                .if_modified_since
                .as_deref()
                .and_then(parse_http_date)
                .is_some_and(|since| modified <= since) =>
            {
                Verdict::NotModified
            }
            None => Verdict::Serve,
        }
    }

    /// Whether a `Range` still names a part of the client's copy: without
    /// `If-Range`, or with one that is this file's tag or exact date. A
    /// resumed download of a file that changed gets the whole new file,
    /// not the new file's tail after the old one's head.
    fn range_applies(&self, etag: &str, modified: i64) -> bool {
        match self.if_range.as_deref().map(str::trim) {
            None => true,
            Some(tag) if tag.starts_with('"') || tag.starts_with("W/") => tag == etag,
            Some(date) => parse_http_date(date) == Some(modified),
        }
    }
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 §5.6.7) for Unix seconds.
fn http_date(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// Unix seconds of an HTTP date in its preferred form; `None` for any
/// other text, which makes the condition that carries it void. The day
/// of the week is not checked against the date, as PocketBase (Go's
/// `http.ParseTime`) does not check it.
fn parse_http_date(text: &str) -> Option<i64> {
    let text = text.trim().strip_suffix(" GMT")?;
    let (_weekday, date) = text.split_once(", ")?;
    chrono::NaiveDateTime::parse_from_str(date, "%d %b %Y %H:%M:%S")
        .ok()
        .map(|t| t.and_utc().timestamp())
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
    fn http_dates_round_trip() {
        assert_eq!(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784111777));
        assert_eq!(parse_http_date("Mon, 06 Nov 1994 08:49:37 GMT"), Some(784111777));
        assert_eq!(parse_http_date("garbage"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37"), None);
    }

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
