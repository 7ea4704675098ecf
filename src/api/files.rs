//! `/api/files`: downloads of stored files (with thumbnails, ranges and
//! revalidation) and file tokens for protected fields. Plain poem handlers:
//! a download is bytes and headers, not a JSON operation.

use std::sync::Arc;

use poem::{
    Body, Request, Response, Result, handler,
    http::{HeaderValue, StatusCode, header},
    web::{Data, Json, Path, Query},
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::{guard, path, tags::tagged_routes};
use crate::{
    app::AppState,
    auth::token::file_token_for,
    files::sniff,
    http::{
        client,
        error::{ApiError, messages},
    },
    identity::Caller,
    keys,
    records::{RecordId, downloads},
};

/// Uploaded files are never documents of this origin: even a file that a
/// browser renders runs sandboxed, with nothing to load.
const FILE_CSP: &str = "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox";

#[derive(Deserialize)]
struct DownloadParams {
    thumb: Option<String>,
    download: Option<String>,
    token: Option<String>,
}

#[handler]
async fn download(
    req: &Request,
    Path((collection, record_id, filename)): Path<(String, String, String)>,
    Query(params): Query<DownloadParams>,
    Data(state): Data<&Arc<AppState>>,
) -> Result<Response> {
    // Anything missing is the same 404, so a guess learns nothing.
    let c = path::find_collection(state, &collection).ok_or_else(ApiError::not_found)?;
    let id = RecordId::parse(&record_id).ok_or_else(ApiError::not_found)?;
    let file_token = params.token.as_deref().filter(|t| !t.is_empty());
    // An API key (which mints no file tokens) may send itself instead:
    // the protected file is then read as its record, within its scopes.
    let presents_key = keys::presented(
        req.headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    )
    .is_some();
    let key_holder = match (file_token, presents_key) {
        (None, true) => Some(guard::identify(state, req).await?),
        _ => None,
    };
    // Set when the holder is a superuser outside `superuserIPs`. The
    // holder is only asked for (and this only set) for a protected file.
    let mut refused = None;
    let holder = async {
        match key_holder {
            Some(caller) => Ok(caller),
            None => {
                let caller = state
                    .auth_records
                    .identify_file(&state.schema, &state.store.data, &state.sessions, file_token)
                    .await?;
                // A superuser's file token is a superuser's credential:
                // `superuserIPs` applies to it as to a key (which
                // `guard::identify` checks). PocketBase 0.40.6 serves the
                // file; refusing keeps a token minted from an allowed
                // address from working anywhere for its lifetime.
                if caller.is_superuser()
                    && let Err(err) = client::superuser_may_call(req, &state.settings.get())
                {
                    refused = Some(err);
                    return Ok(Caller::Guest);
                }
                Ok(caller)
            }
        }
    };
    let found = downloads::find(
        &state.records(),
        c,
        &id,
        &filename,
        holder,
        params.thumb.as_deref().filter(|t| !t.is_empty()),
    )
    .await;
    if let Some(err) = refused {
        return Err(err.into());
    }
    let found = found.map_err(ApiError::from)?;
    let meta = tokio::fs::metadata(&found.path)
        .await
        .map_err(|_| ApiError::not_found())?;
    // Stored names are never reused, so size and time identify the bytes.
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let etag = format!("\"{:x}-{modified:x}\"", meta.len());
    let attachment = matches!(
        params.download.as_deref(),
        Some("1" | "t" | "true" | "TRUE" | "True")
    ) || !sniff::is_inline(found.mime);
    let mut resp = Response::builder()
        .header(header::ETAG, etag.as_str())
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_SECURITY_POLICY, FILE_CSP)
        .header(
            header::CACHE_CONTROL,
            if found.protected {
                "private, no-cache"
            } else {
                "max-age=2592000, stale-while-revalidate=86400"
            },
        );
    let revalidated = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if revalidated {
        return Ok(resp.status(StatusCode::NOT_MODIFIED).finish());
    }
    resp = resp.content_type(sniff::content_type(found.mime)).header(
        header::CONTENT_DISPOSITION,
        format!(
            "{}; filename=\"{}\"",
            if attachment { "attachment" } else { "inline" },
            found.name
        ),
    );
    // Streamed from disk, so a large file never sits in memory whole.
    let mut file = tokio::fs::File::open(&found.path)
        .await
        .map_err(ApiError::internal)?;
    let len = meta.len();
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|raw| parse_range(raw, len));
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

#[handler]
async fn token(req: &Request, Data(state): Data<&Arc<AppState>>) -> Result<Json<Value>> {
    // A file token would carry the record's rights without the key's
    // scopes, and outlive a revocation; a key downloads with itself.
    guard::refuse_api_key(req)?;
    let caller = guard::identify(state, req).await?;
    let token = file_token_for(&caller)
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::unauthorized(messages::UNAUTHORIZED))?;
    Ok(Json(json!({ "token": token })))
}

// The routes and their rate-limit tags (`api::tags`).
tagged_routes! {
    "/api/files/token" => { POST token },
    "/api/files/:collection/:record/:filename" => { GET download => "file", HEAD download => "file" },
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
