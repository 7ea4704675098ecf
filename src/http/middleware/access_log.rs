//! One log line per request, written when the response is ready: method,
//! path, status, duration, client IP and, once auth exists, the caller's
//! record id. It runs inside the request-id span, so the id is on the line.

use std::{
    sync::{Arc, OnceLock},
    time::Instant,
};

use poem::{Endpoint, IntoResponse, Request, Response, Result};

use crate::http::client::ClientInfo;

/// Filled in by the auth layer when a request is authenticated, so the
/// access log can name who made it.
#[derive(Debug, Clone, Default)]
pub struct AuthSlot(pub Arc<OnceLock<String>>);

pub async fn handle<E: Endpoint>(ep: Arc<E>, mut req: Request) -> Result<Response> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let ip = req
        .extensions()
        .get::<ClientInfo>()
        .map(|c| c.ip.to_string())
        .unwrap_or_default();
    let auth = AuthSlot::default();
    req.extensions_mut().insert(auth.clone());
    let resp = match ep.call(req).await {
        Ok(resp) => resp.into_response(),
        Err(err) => crate::http::error::envelope_for(err),
    };
    let status = resp.status().as_u16();
    let duration_ms = format_args!("{:.3}", started.elapsed().as_secs_f64() * 1000.0);
    let auth_id = auth.0.get().map(String::as_str).unwrap_or("");
    if status >= 500 {
        tracing::error!(target: "cairn::access", %method, %path, status, %duration_ms, %ip, auth_id, "request");
    } else {
        tracing::info!(target: "cairn::access", %method, %path, status, %duration_ms, %ip, auth_id, "request");
    }
    Ok(resp)
}
