//! The request body limit. A declared `Content-Length` over the limit is
//! refused before a byte is read; a chunked body (no length) is read up to
//! the limit and refused the moment it passes it, so a client cannot make
//! the server buffer an unbounded stream. Handlers then see a complete,
//! in-memory body.
//!
//! JSON bodies get the small configured limit. A multipart body (an
//! upload) to a collection's records may be as large as that collection's
//! file fields allow together (each field's `maxSize` × `maxSelect`), as
//! PocketBase sizes it; a batch may use `settings.batch.maxBodySize` (or,
//! when that is 0, room for its largest collection's files in every
//! request, up to 128 MiB).
//!
//! The 413 carries `Connection: close`. Before it is sent, a body over the
//! limit is read on and thrown away, up to `DRAIN_MAX` and `DRAIN_TIME`: a
//! client that writes its whole body before reading the answer (Python's
//! `requests`, curl without `Expect`) otherwise meets a closed connection
//! mid-write and reports a broken pipe instead of the 413. Past those
//! bounds the connection is closed at once, as PocketBase does past its
//! own limit; nothing read is kept, so the cost is bandwidth, not memory.

use bytes::BytesMut;
use futures_util::StreamExt;
use poem::{
    Request, Response, Result,
    http::{HeaderValue, header},
};

use crate::{app::AppState, files::upload::form_capacity, http::error::ApiError};

/// How much of an oversized body is read and dropped before the 413.
const DRAIN_MAX: u64 = 32 << 20;
/// How long that may take.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads the rest of `stream` and drops it, within the drain bounds, so
/// the client may finish writing and read the 413.
async fn drain<S, E>(mut stream: S, mut seen: u64)
where
    S: futures_util::Stream<Item = std::result::Result<bytes::Bytes, E>> + Unpin,
{
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(Ok(chunk)) = stream.next().await {
            seen += chunk.len() as u64;
            if seen > DRAIN_MAX {
                break;
            }
        }
    })
    .await;
}

fn too_large() -> Response {
    let mut resp = ApiError::payload_too_large().to_response();
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// The largest body `req` may carry.
pub fn limit_for(req: &Request, state: &AppState) -> usize {
    let base = state.config.body_limit;
    let multipart = req
        .content_type()
        .and_then(|t| t.get(.."multipart/form-data".len()))
        .is_some_and(|t| t.eq_ignore_ascii_case("multipart/form-data"));
    let path = req.uri().path();
    let widest = |cap: u64| base.saturating_add(usize::try_from(cap).unwrap_or(usize::MAX));
    if path == "/api/batch" {
        let batch = state.settings.get().batch.clone();
        if batch.max_body_size > 0 {
            return usize::try_from(batch.max_body_size).unwrap_or(usize::MAX);
        }
        if !multipart {
            return base;
        }
        // Every request filled to capacity, but no more than PocketBase's
        // own default for batches (128 MiB): the body is held in memory.
        const BATCH_CEILING: u64 = 128 << 20;
        let per_request = state
            .schema
            .catalog()
            .all()
            .map(|c| form_capacity(c))
            .max()
            .unwrap_or(0);
        let all = per_request.saturating_mul(u64::from(batch.max_requests.max(1)));
        return widest(all.min(BATCH_CEILING));
    }
    if !multipart {
        return base;
    }
    let catalog = state.schema.catalog();
    let collection = path
        .strip_prefix("/api/collections/")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(_, rest)| *rest == "records" || rest.starts_with("records/"))
        .and_then(|(name, _)| catalog.get(name));
    match collection {
        Some(c) => widest(form_capacity(c)),
        None => base,
    }
}

/// Routes whose handlers stream the body to disk rather than hold it,
/// with the most each may take: a backup archive can be gigabytes.
fn streamed_limit(req: &Request) -> Option<u64> {
    (req.uri().path() == "/api/backups/upload").then_some(crate::backups::UPLOAD_LIMIT)
}

/// Reads `req`'s whole body into memory, up to its limit; the 413 to send
/// if it is over. A streamed route's body is left a stream, cut off with
/// an error once it passes its limit.
pub async fn buffer(req: &mut Request, state: &AppState) -> Result<Option<Response>> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(cap) = streamed_limit(req) {
        if declared.is_some_and(|n| n > cap) {
            return Ok(Some(too_large()));
        }
        let mut seen: u64 = 0;
        let stream = req.take_body().into_bytes_stream().map(move |chunk| {
            let chunk = chunk?;
            seen += chunk.len() as u64;
            if seen > cap {
                return Err(std::io::Error::other("the request body is over its limit"));
            }
            Ok(chunk)
        });
        req.set_body(poem::Body::from_bytes_stream(stream));
        return Ok(None);
    }
    let limit = limit_for(req, state);
    match declared {
        Some(0) => return Ok(None),
        Some(n) if n > DRAIN_MAX => return Ok(Some(too_large())),
        Some(n) if n > limit as u64 => {
            drain(req.take_body().into_bytes_stream(), 0).await;
            return Ok(Some(too_large()));
        }
        _ => {}
    }
    let mut stream = req.take_body().into_bytes_stream();
    let mut buf = BytesMut::with_capacity(declared.map_or(0, |n| n as usize));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|err| {
            poem::Error::from_string(
                format!("reading the request body: {err}"),
                poem::http::StatusCode::BAD_REQUEST,
            )
        })?;
        if buf.len() + chunk.len() > limit {
            drain(stream, (buf.len() + chunk.len()) as u64).await;
            return Ok(Some(too_large()));
        }
        buf.extend_from_slice(&chunk);
    }
    req.set_body(buf.freeze());
    Ok(None)
}
