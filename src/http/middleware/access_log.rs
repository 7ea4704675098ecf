//! One log line per request, written when the response is ready: method,
//! path, status, duration, client IP and, once auth exists, the caller's
//! record id. It runs inside the request-id layer, so the id is on the
//! line. `telemetry::access` owns how the line is written.

use std::{
    sync::{Arc, OnceLock},
    time::Instant,
};

use poem::{Endpoint, IntoResponse, Request, Response, Result};

use crate::{
    http::{client::ClientInfo, middleware::request_id::RequestId},
    telemetry,
};

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
    let request_id = req.extensions().get::<RequestId>().map(|id| id.0.clone());
    let auth = AuthSlot::default();
    req.extensions_mut().insert(auth.clone());
    let resp = match ep.call(req).await {
        Ok(resp) => resp.into_response(),
        Err(err) => crate::http::error::envelope_for(err),
    };
    telemetry::access(&telemetry::Access {
        request_id: request_id.as_deref().unwrap_or(""),
        method: method.as_str(),
        path: &path,
        status: resp.status().as_u16(),
        duration: started.elapsed(),
        ip: &ip,
        auth_id: auth.0.get().map(String::as_str).unwrap_or(""),
    });
    Ok(resp)
}
