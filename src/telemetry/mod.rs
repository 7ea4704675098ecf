//! Log output: human-readable lines by default, one JSON object per line
//! with `--log-format json`, always on standard error (standard output
//! carries only the start banner). `RUST_LOG` overrides the level filter.
//!
//! Every line goes through `tracing`, except the access line, the one line
//! every request writes: `access` formats it here, in the same shape
//! `tracing`'s formatters give it, straight into one `write` to standard
//! error. Through the generic formatter (field visitors, `Debug` for every
//! value, span bookkeeping) it cost about a sixth of a health check's CPU.
//! The level filter still decides whether it is written.
//!
//! A request's lines name its id without a `tracing` span: the edge runs
//! the request inside `in_request`, a task-local scope that also holds
//! the caller the access line names. `Lines`, the formatter of every
//! other line, reads the id from there and writes it where a `request`
//! span's fields would go. A span per request (created, entered and left
//! on every poll, closed) was about 4,000 instructions of a request's
//! 40,000 to 110,000. Cairn opens no spans of its own, so `Lines` writes
//! only that one scope. `shape` writes the bytes of both kinds of line.
//!
//! Access lines are not written one by one: they collect in a buffer that
//! a thread writes out `FLUSH_EVERY` after the first of them (or at once when it is full, and
//! at shutdown), so a busy server makes one `write` per batch instead of
//! one per request. A line may so appear up to that long after the lines
//! `tracing` writes directly; each carries its own timestamp.

use std::{
    cell::{Cell, OnceCell, RefCell},
    future::Future,
    io::{IsTerminal, Write},
    net::IpAddr,
    sync::{Condvar, Mutex, OnceLock},
    time::Duration,
};

use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::{
    EnvFilter, Layer,
    filter::LevelFilter,
    fmt,
    fmt::{FmtContext, FormatEvent, FormatFields, format::JsonFields, format::Writer},
    prelude::*,
    registry::LookupSpan,
};

pub use self::forward::{EventSink, add_sink};
use self::shape::{json_head, json_line, json_tail, pretty_head, pretty_line};
use crate::{config::LogFormat, store::explain::SlowQuery};

mod forward;
mod shape;

/// How `access` writes its line; unset (so it goes through `tracing`)
/// until `init`, and for colour output, which only a person at a
/// terminal sees.
static FAST_FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// Access lines not yet written to standard error.
static PENDING: Mutex<Vec<u8>> = Mutex::new(Vec::new());
/// Wakes the flusher when `PENDING` stops being empty, so an idle server's
/// flusher sleeps instead of waking every `FLUSH_EVERY`.
static WAKE: Condvar = Condvar::new();
/// How long an access line may wait in `PENDING`.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// A batch this large is written by the request that fills it.
const FLUSH_BYTES: usize = 64 * 1024;

/// The target the access line is logged under (for `RUST_LOG`).
const ACCESS_TARGET: &str = "cairn::access";

pub fn init(format: LogFormat, dev: bool) {
    let default = if dev { "debug,hyper=info,h2=info" } else { "info" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(forward::Forward.with_filter(LevelFilter::WARN));
    // Colours only for a person at a terminal: escape codes in a log
    // file or the journal are noise, and cost time on every line.
    let ansi = std::io::stderr().is_terminal();
    // A second init (tests) is harmless; keep the first subscriber.
    let installed = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .event_format(Lines(format))
                    .fmt_fields(JsonFields::new())
                    .with_ansi(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(
                fmt::layer()
                    .event_format(Lines(format))
                    .with_ansi(ansi)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    if installed.is_ok() && (format == LogFormat::Json || !ansi) && FAST_FORMAT.set(format).is_ok() {
        let flusher = std::thread::Builder::new().name("cairn-log".into()).spawn(|| {
            loop {
                let Ok(mut pending) = PENDING.lock() else {
                    return;
                };
                while pending.is_empty() {
                    pending = match WAKE.wait(pending) {
                        Ok(p) => p,
                        Err(_) => return,
                    };
                }
                // Let the batch gather before writing it.
                drop(pending);
                std::thread::sleep(FLUSH_EVERY);
                flush();
            }
        });
        if let Err(err) = flusher {
            tracing::warn!(error = %err, "no log flusher thread; access lines are written in batches when full");
        }
    }
}

/// Installs only the forwarding of warnings and errors to the sinks
/// (`add_sink`) when nothing else was installed: a server built without
/// `init` (tests, an embedding program) still keeps its own warnings in
/// its request log. Where `init` ran first this does nothing.
pub fn ensure_forwarding() {
    let _ = tracing_subscriber::registry()
        .with(forward::Forward.with_filter(LevelFilter::WARN))
        .try_init();
}

/// The signed-in record a request acts as: its collection's name and id.
#[derive(Debug, Clone)]
pub struct Caller {
    pub collection: String,
    pub id: String,
    /// The API key it acts through, by id (never the secret).
    pub api_key: Option<String>,
}

/// What the log knows of the request whose task is running.
struct RequestScope {
    id: String,
    /// The signed-in record it acts as, once the auth guard knows.
    caller: OnceCell<Caller>,
    /// Its reads slower than the threshold (rare: a lock taken only then).
    slow: std::sync::Mutex<Vec<SlowQuery>>,
    /// The error it was answered with, if it was.
    error: OnceCell<NotedError>,
    /// Whether its request log entry is kept only if it fails.
    quiet_success: Cell<bool>,
}

/// The error a request was answered with, for its request log entry: the
/// message the client got, and what explains it (the fields that were
/// refused, or the cause of a server error), which only superusers read.
#[derive(Debug, Clone, PartialEq)]
pub struct NotedError {
    pub message: String,
    pub details: String,
}

tokio::task_local! {
    static REQUEST: RequestScope;
}

/// Runs `f` as request `id`: every line logged while it runs names `id`.
/// Not an `async fn`: that would hold `f` twice (as its argument and
/// inside the scope), doubling the request's future, which poem copies
/// when it boxes it.
pub fn in_request<F: Future>(id: String, f: F) -> impl Future<Output = F::Output> {
    let scope = RequestScope {
        id,
        caller: OnceCell::new(),
        slow: std::sync::Mutex::default(),
        error: OnceCell::new(),
        quiet_success: Cell::new(false),
    };
    REQUEST.scope(scope, f)
}

/// Notes the record the current request is signed in as (the name of
/// its collection, and its id), for its access line and request log. The
/// first note stands; outside a request it is ignored.
pub fn note_caller(collection: &str, record_id: &str, api_key: Option<&str>) {
    let _ = REQUEST.try_with(|r| {
        // A request may be identified more than once (a superuser check,
        // then its rule's requester); copy the id only the first time.
        if r.caller.get().is_none() {
            let _ = r.caller.set(Caller {
                collection: collection.to_owned(),
                id: record_id.to_owned(),
                api_key: api_key.map(str::to_owned),
            });
        }
    });
}

/// Notes the error the current request is answered with; `details` is
/// made only inside a request. The first note stands (an error answered
/// inside another's handling is the cause); outside a request it is
/// ignored.
pub fn note_error(message: &str, details: impl FnOnce() -> String) {
    let _ = REQUEST.try_with(|r| {
        if r.error.get().is_none() {
            let _ = r.error.set(NotedError {
                message: message.to_owned(),
                details: details(),
            });
        }
    });
}

/// Keeps the current request out of the request log unless it fails
/// (its access line is written all the same), as PocketBase keeps its
/// static files, realtime streams and reads of the log itself out
/// (`http::middleware::access_log` lists who asks). Outside a request it
/// is ignored.
pub fn log_only_failure() {
    let _ = REQUEST.try_with(|r| r.quiet_success.set(true));
}

/// Whether the current request's entry is kept only if it fails.
pub fn logs_only_failure() -> bool {
    REQUEST.try_with(|r| r.quiet_success.get()).unwrap_or(false)
}

/// The error noted for the current request, if any.
pub fn noted_error() -> Option<NotedError> {
    REQUEST.try_with(|r| r.error.get().cloned()).ok().flatten()
}

/// Notes a slow read of the current request, for its request log entry;
/// outside a request it is ignored.
pub fn note_slow_query(query: SlowQuery) {
    let _ = REQUEST.try_with(|r| {
        r.slow
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(query);
    });
}

/// The slow reads noted for the current request so far, taken.
pub fn take_slow_queries() -> Vec<SlowQuery> {
    REQUEST
        .try_with(|r| std::mem::take(&mut *r.slow.lock().unwrap_or_else(std::sync::PoisonError::into_inner)))
        .unwrap_or_default()
}

/// The record the current request is signed in as, if it is and was noted.
pub fn caller() -> Option<Caller> {
    REQUEST.try_with(|r| r.caller.get().cloned()).ok().flatten()
}

/// The id of the request being served on this thread, if any. Cloned:
/// only the rare lines other than the access line ask for it.
fn current_request() -> Option<String> {
    REQUEST.try_with(|r| r.id.clone()).ok()
}

/// The formatter of every line but the fast access line: `tracing`'s own
/// shapes (plain without the target, or JSON), with the request scope
/// written from `REQUEST`.
struct Lines(LogFormat);

impl<S, N> FormatEvent<S, N> for Lines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        // Lines from the `log` crate carry their real level and target
        // as fields.
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let request = current_request();
        let mut part = Vec::with_capacity(96);
        match self.0 {
            LogFormat::Json => {
                json_head(&mut part, meta.level().as_str());
                w.write_str(&String::from_utf8_lossy(&part))?;
                ctx.format_fields(w.by_ref(), event)?;
                part.clear();
                json_tail(&mut part, meta.target(), request.as_deref());
            }
            LogFormat::Pretty => {
                pretty_head(
                    &mut part,
                    meta.level().as_str(),
                    request.as_deref(),
                    w.has_ansi_escapes(),
                );
                w.write_str(&String::from_utf8_lossy(&part))?;
                ctx.format_fields(w.by_ref(), event)?;
                part.clear();
                part.push(b'\n');
            }
        }
        w.write_str(&String::from_utf8_lossy(&part))
    }
}

/// Writes out the access lines waiting in the buffer (at shutdown, so that
/// none is lost and they come before the last lines).
pub fn flush() {
    let Ok(mut pending) = PENDING.lock() else {
        return;
    };
    write_out(&mut pending);
}

/// Under the buffer's lock, so batches reach standard error in order.
fn write_out(pending: &mut Vec<u8>) {
    if !pending.is_empty() {
        let _ = std::io::stderr().lock().write_all(pending);
        pending.clear();
    }
}

/// What the access line says about one request.
pub struct Access<'a> {
    pub request_id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub duration: Duration,
    pub ip: IpAddr,
    /// The signed-in record's id, or empty.
    pub auth_id: &'a str,
}

/// Logs `a`: at `ERROR` for a server error, `INFO` otherwise.
pub fn access(a: &Access<'_>) {
    let error = a.status >= 500;
    let enabled = if error {
        tracing::enabled!(target: ACCESS_TARGET, Level::ERROR)
    } else {
        tracing::enabled!(target: ACCESS_TARGET, Level::INFO)
    };
    if !enabled {
        return;
    }
    let Some(format) = FAST_FORMAT.get() else {
        let duration_ms = format_args!("{:.3}", a.duration.as_secs_f64() * 1000.0);
        let (method, path, status, ip, auth_id) = (a.method, a.path, a.status, a.ip, a.auth_id);
        // The request's scope is current, and `Lines` adds the id.
        if error {
            tracing::error!(target: ACCESS_TARGET, %method, %path, status, %duration_ms, %ip, auth_id, "request");
        } else {
            tracing::info!(target: ACCESS_TARGET, %method, %path, status, %duration_ms, %ip, auth_id, "request");
        }
        return;
    };
    thread_local! {
        static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    LINE.with_borrow_mut(|line| {
        line.clear();
        let level = if error { "ERROR" } else { "INFO" };
        match format {
            LogFormat::Json => json_line(line, level, a),
            LogFormat::Pretty => pretty_line(line, level, a),
        }
        match PENDING.lock() {
            Ok(mut pending) => {
                let first = pending.is_empty();
                pending.extend_from_slice(line);
                if pending.len() >= FLUSH_BYTES {
                    write_out(&mut pending);
                } else if first {
                    WAKE.notify_one();
                }
            }
            // A thread panicked while holding it: write directly.
            Err(_) => {
                let _ = std::io::stderr().lock().write_all(line);
            }
        }
    });
}
