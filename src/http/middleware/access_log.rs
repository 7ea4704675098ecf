//! One record per request, made when the response is ready: method,
//! path, status, duration, client IP and the caller (which the auth guard
//! notes in the request's log scope), with the request id. It is written
//! twice from this one place: as the access line on standard error
//! (`telemetry::access` owns how), and, unless `settings.logs` turns it
//! off, as the request's entry in the request log (`ops::logs`, which
//! writes it off the request path), except a success whose handler keeps
//! only failures (`telemetry::log_only_failure`).
//!
//! PocketBase keeps these out of its log unless they fail, and so does
//! Cairn: a static file (the dashboard's or the public folder's; opening
//! the dashboard fetched some thirty), an opened realtime stream, and a
//! read of the log itself (a log viewer that polls would fill the log with
//! its own reads).

use std::{net::IpAddr, time::Instant};

use chrono::{DateTime, Utc};
use poem::{
    Request,
    http::{Method, header},
};

use crate::{
    ops::logs::{self, Logs, RequestRecord},
    settings, telemetry,
};

/// What the record needs from the request, taken before it is served.
pub struct AccessLog {
    started: Instant,
    method: Method,
    path: String,
    ip: IpAddr,
    /// What only the request log keeps; `None` when it is off, so a
    /// server that keeps no log copies nothing more.
    persisted: Option<Persisted>,
}

struct Persisted {
    at: DateTime<Utc>,
    url: String,
    remote_ip: IpAddr,
    referer: String,
    user_agent: String,
}

fn header_text(req: &Request, name: header::HeaderName) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

impl AccessLog {
    /// Starts the clock. `ip` is the client as the proxy settings resolve
    /// it; `keep` says whether the request log wants this request.
    pub fn begin(req: &Request, ip: IpAddr, keep: &settings::Logs) -> Self {
        let persisted = logs::enabled(keep).then(|| Persisted {
            at: Utc::now(),
            url: req
                .uri()
                .path_and_query()
                .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned()),
            remote_ip: req.remote_addr().as_socket_addr().map_or(ip, |a| a.ip()),
            referer: header_text(req, header::REFERER),
            user_agent: header_text(req, header::USER_AGENT),
        });
        Self {
            started: Instant::now(),
            method: req.method().clone(),
            path: req.uri().path().to_owned(),
            ip,
            persisted,
        }
    }

    /// Writes the line and queues the log entry; called inside the
    /// request's scope (`telemetry::in_request`), where its caller was
    /// noted.
    pub fn finish(self, request_id: &str, status: u16, log: &Logs, keep: &settings::Logs) {
        let caller = telemetry::caller();
        let duration = self.started.elapsed();
        telemetry::access(&telemetry::Access {
            request_id,
            method: self.method.as_str(),
            path: &self.path,
            status,
            duration,
            ip: self.ip,
            auth_id: caller.as_ref().map_or("", |c| c.id.as_str()),
        });
        // A success the handler asked to leave out (`log_only_failure`).
        let quiet = status < 400 && telemetry::logs_only_failure();
        if let Some(p) = self.persisted.filter(|_| !quiet) {
            log.request(
                keep,
                RequestRecord {
                    at: p.at,
                    method: self.method.as_str().to_owned(),
                    url: p.url,
                    status,
                    exec_time: duration,
                    remote_ip: p.remote_ip,
                    user_ip: self.ip,
                    referer: p.referer,
                    user_agent: p.user_agent,
                    api_key: caller.as_ref().and_then(|c| c.api_key.clone()),
                    auth: caller.map(|c| (c.collection, c.id)),
                    request_id: request_id.to_owned(),
                    slow_queries: telemetry::take_slow_queries(),
                    error: telemetry::noted_error().map(|e| (e.message, e.details)),
                },
            );
        }
    }
}
