//! One log line per request, written when the response is ready: method,
//! path, status, duration, client IP and, once auth exists, the caller's
//! record id, with the request id. `telemetry::access` owns how the line
//! is written.

use std::{
    net::IpAddr,
    sync::{Arc, OnceLock},
    time::Instant,
};

use poem::{Request, http::Method};

use crate::telemetry;

/// Filled in by the auth layer when a request is authenticated, so the
/// access log can name who made it.
#[derive(Debug, Clone, Default)]
pub struct AuthSlot(pub Arc<OnceLock<String>>);

/// What the line needs from the request, taken before it is served.
pub struct AccessLog {
    started: Instant,
    method: Method,
    path: String,
    ip: IpAddr,
    auth: AuthSlot,
}

impl AccessLog {
    /// Starts the clock and gives `req` the slot its caller is noted in.
    pub fn begin(req: &mut Request, ip: IpAddr) -> Self {
        let auth = AuthSlot::default();
        req.extensions_mut().insert(auth.clone());
        Self {
            started: Instant::now(),
            method: req.method().clone(),
            path: req.uri().path().to_owned(),
            ip,
            auth,
        }
    }

    pub fn finish(self, request_id: &str, status: u16) {
        telemetry::access(&telemetry::Access {
            request_id,
            method: self.method.as_str(),
            path: &self.path,
            status,
            duration: self.started.elapsed(),
            ip: self.ip,
            auth_id: self.auth.0.get().map(String::as_str).unwrap_or(""),
        });
    }
}
