//! One log line per request, written when the response is ready: method,
//! path, status, duration, client IP and the caller's record id (which
//! the auth guard notes in the request's log scope), with the request id.
//! `telemetry::access` owns how the line is written.

use std::{net::IpAddr, time::Instant};

use poem::{Request, http::Method};

use crate::telemetry;

/// What the line needs from the request, taken before it is served.
pub struct AccessLog {
    started: Instant,
    method: Method,
    path: String,
    ip: IpAddr,
}

impl AccessLog {
    /// Starts the clock.
    pub fn begin(req: &Request, ip: IpAddr) -> Self {
        Self {
            started: Instant::now(),
            method: req.method().clone(),
            path: req.uri().path().to_owned(),
            ip,
        }
    }

    /// Writes the line; called inside the request's scope
    /// (`telemetry::in_request`), where its caller was noted.
    pub fn finish(self, request_id: &str, status: u16) {
        let caller = telemetry::caller();
        telemetry::access(&telemetry::Access {
            request_id,
            method: self.method.as_str(),
            path: &self.path,
            status,
            duration: self.started.elapsed(),
            ip: self.ip,
            auth_id: caller.as_deref().unwrap_or(""),
        });
    }
}
