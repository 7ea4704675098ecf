//! The request body limit. A declared `Content-Length` over the limit is
//! refused before a byte is read; a chunked body (no length) is read up to
//! the limit and refused the moment it passes it, so a client cannot make
//! the server buffer an unbounded stream. Handlers then see a complete,
//! in-memory body.
//!
//! The 413 carries `Connection: close`: the unread rest of the body would
//! otherwise have to be drained before the connection could be reused.

use std::sync::Arc;

use bytes::BytesMut;
use futures_util::StreamExt;
use poem::{
    Endpoint, IntoResponse, Request, Response, Result,
    http::{HeaderValue, header},
};

use crate::http::error::ApiError;

fn too_large() -> Response {
    let mut resp = ApiError::payload_too_large().to_response();
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

pub async fn handle<E: Endpoint>(ep: Arc<E>, mut req: Request, limit: usize) -> Result<Response> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(0) => return ep.call(req).await.map(IntoResponse::into_response),
        Some(n) if n > limit as u64 => return Ok(too_large()),
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
            return Ok(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    req.set_body(buf.freeze());
    ep.call(req).await.map(IntoResponse::into_response)
}
