//! Operations: what keeps a running server observable and tidy, as
//! services below the edge. `logs` keeps request and server logs in
//! `auxiliary.db` (written off the request path, in batches); `cron` runs
//! Cairn's own scheduled jobs (retention, cleanups) and lets a superuser
//! run one now; `metrics` counts requests and writes Prometheus' text
//! format. None knows HTTP: the edge feeds `logs` what the access log
//! recorded and `metrics` each request's route, status and time, and maps
//! their errors.

pub mod cron;
pub mod logs;
pub mod metrics;
