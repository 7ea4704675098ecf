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
//! the request inside `in_request`, a task-local scope (which also holds
//! the caller the access line names), and `Lines` (the
//! formatter every other line goes through) reads the id from there and
//! writes it where a `request` span's fields would go. A span per request
//! (created, entered and left on every poll, closed) was about 4,000
//! instructions of a request's 40,000 to 110,000. Cairn opens no spans of
//! its own, so `Lines` writes only that one scope.
//!
//! Access lines are not written one by one: they collect in a buffer that
//! a thread writes out `FLUSH_EVERY` after the first of them (or at once when it is full, and
//! at shutdown), so a busy server makes one `write` per batch instead of
//! one per request. A line may so appear up to that long after the lines
//! `tracing` writes directly; each carries its own timestamp.

use std::{
    cell::{OnceCell, RefCell},
    fmt::Write as _,
    future::Future,
    io::{IsTerminal, Write},
    net::IpAddr,
    sync::{Condvar, Mutex, OnceLock},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::{
    EnvFilter, fmt,
    fmt::{FmtContext, FormatEvent, FormatFields, format::JsonFields, format::Writer},
    prelude::*,
    registry::LookupSpan,
};

use crate::config::LogFormat;

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
    let registry = tracing_subscriber::registry().with(filter);
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

/// What the log knows of the request whose task is running.
struct RequestScope {
    id: String,
    /// The signed-in record it acts as, once the auth guard knows.
    caller: OnceCell<String>,
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
    };
    REQUEST.scope(scope, f)
}

/// Notes the record the current request is signed in as, for its access
/// line. The first note stands; outside a request it is ignored.
pub fn note_caller(record_id: &str) {
    let _ = REQUEST.try_with(|r| r.caller.set(record_id.to_owned()));
}

/// The record the current request is signed in as, if it is and was noted.
pub fn caller() -> Option<String> {
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

/// `tracing`'s JSON shape: `fields` holds the message and the fields,
/// `span` the request's id under the name a span would have.
fn json_line(line: &mut Vec<u8>, level: &str, a: &Access<'_>) {
    json_head(line, level);
    line.extend_from_slice(b"{\"message\":\"request\",\"method\":");
    json_str(line, a.method);
    line.extend_from_slice(b",\"path\":");
    json_str(line, a.path);
    line.extend_from_slice(b",\"status\":");
    push_int(line, a.status);
    line.extend_from_slice(b",\"duration_ms\":\"");
    millis(line, a.duration);
    // An address needs no escaping.
    line.extend_from_slice(b"\",\"ip\":\"");
    push_ip(line, a.ip);
    line.extend_from_slice(b"\",\"auth_id\":");
    json_str(line, a.auth_id);
    line.push(b'}');
    json_tail(line, ACCESS_TARGET, Some(a.request_id));
}

/// A JSON line up to its `fields` object.
fn json_head(line: &mut Vec<u8>, level: &str) {
    line.extend_from_slice(b"{\"timestamp\":\"");
    timestamp(line);
    line.extend_from_slice(b"\",\"level\":\"");
    line.extend_from_slice(level.as_bytes());
    line.extend_from_slice(b"\",\"fields\":");
}

/// A JSON line after its `fields` object.
fn json_tail(line: &mut Vec<u8>, target: &str, request_id: Option<&str>) {
    line.extend_from_slice(b",\"target\":");
    json_str(line, target);
    if let Some(id) = request_id {
        line.extend_from_slice(b",\"span\":{\"request_id\":");
        json_str(line, id);
        line.extend_from_slice(b",\"name\":\"request\"}");
    }
    line.extend_from_slice(b"}\n");
}

/// `tracing`'s plain shape, without the target (as `init` configures it).
fn pretty_line(line: &mut Vec<u8>, level: &str, a: &Access<'_>) {
    pretty_head(line, level, Some(a.request_id), false);
    line.extend_from_slice(b"request method=");
    line.extend_from_slice(a.method.as_bytes());
    line.extend_from_slice(b" path=");
    line.extend_from_slice(a.path.as_bytes());
    line.extend_from_slice(b" status=");
    push_int(line, a.status);
    line.extend_from_slice(b" duration_ms=");
    millis(line, a.duration);
    line.extend_from_slice(b" ip=");
    push_ip(line, a.ip);
    // `Debug` for the id, as tracing records a plain `&str` field.
    line.extend_from_slice(b" auth_id=");
    push_debug_str(line, a.auth_id);
    line.push(b'\n');
}

/// A plain line up to its fields: the time, the level right-aligned in
/// five columns and the request's scope; in colour for a terminal.
fn pretty_head(line: &mut Vec<u8>, level: &str, request_id: Option<&str>, ansi: bool) {
    let paint = |line: &mut Vec<u8>, code: &[u8], text: &[u8]| {
        if ansi {
            line.extend_from_slice(b"\x1b[");
            line.extend_from_slice(code);
            line.push(b'm');
            line.extend_from_slice(text);
            line.extend_from_slice(b"\x1b[0m");
        } else {
            line.extend_from_slice(text);
        }
    };
    let mut time = Vec::with_capacity(27);
    timestamp(&mut time);
    paint(line, b"2", &time);
    line.push(b' ');
    let mut padded = Vec::with_capacity(5);
    padded.extend(std::iter::repeat_n(b' ', 5usize.saturating_sub(level.len())));
    padded.extend_from_slice(level.as_bytes());
    let colour: &[u8] = match level {
        "ERROR" => b"31",
        "WARN" => b"33",
        "INFO" => b"32",
        "DEBUG" => b"34",
        _ => b"35",
    };
    paint(line, colour, &padded);
    line.push(b' ');
    if let Some(id) = request_id {
        paint(line, b"1", b"request{");
        line.extend_from_slice(b"request_id=");
        line.extend_from_slice(id.as_bytes());
        paint(line, b"1", b"}");
        line.extend_from_slice(b": ");
    }
}

// The line is built byte by byte rather than with `write!`: `fmt`'s
// machinery (argument tables, padding, `Display` for an address) was
// about half of the line's cost, and the line is written on every request.

fn push_int(line: &mut Vec<u8>, n: impl itoa::Integer) {
    line.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// `n` zero-padded to `width` digits.
fn push_padded(line: &mut Vec<u8>, n: u32, width: usize) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n);
    line.extend(std::iter::repeat_n(b'0', width.saturating_sub(digits.len())));
    line.extend_from_slice(digits.as_bytes());
}

/// As `Display` writes it.
fn push_ip(line: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    line.push(b'.');
                }
                push_int(line, octet);
            }
        }
        IpAddr::V6(v6) => {
            let _ = write!(line, "{v6}");
        }
    }
}

/// As `Debug` writes a string: quoted, with `"`, `\` and anything
/// unprintable escaped. Record ids never need it, so they skip `fmt`.
fn push_debug_str(line: &mut Vec<u8>, s: &str) {
    if s.bytes()
        .all(|b| matches!(b, b' '..=b'~') && b != b'"' && b != b'\\')
    {
        line.push(b'"');
        line.extend_from_slice(s.as_bytes());
        line.push(b'"');
    } else {
        let _ = write!(line, "{s:?}");
    }
}

/// A JSON string literal: record ids and request ids are plain, but a
/// path may carry anything the URI grammar allows.
fn json_str(line: &mut Vec<u8>, s: &str) {
    // Writing a `&str` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(line, s);
}

/// Milliseconds with three decimals, as the `tracing` path gives them.
fn millis(line: &mut Vec<u8>, d: Duration) {
    let micros = d.as_micros();
    push_int(line, micros / 1000);
    line.push(b'.');
    // Below 1000, so it fits.
    push_padded(line, (micros % 1000) as u32, 3);
}

/// RFC 3339 UTC with microseconds, as `tracing`'s default timer writes.
/// The part down to the second is formatted once a second per thread.
fn timestamp(line: &mut Vec<u8>) {
    thread_local! {
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    SECOND.with_borrow_mut(|(secs, text)| {
        if *secs != now.as_secs() {
            *secs = now.as_secs();
            text.clear();
            let at = chrono::DateTime::from_timestamp(now.as_secs() as i64, 0).unwrap_or_default();
            let _ = write!(text, "{}", at.format("%Y-%m-%dT%H:%M:%S"));
        }
        line.extend_from_slice(text.as_bytes());
    });
    line.push(b'.');
    push_padded(line, now.subsec_micros(), 6);
    line.push(b'Z');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(path: &str) -> Access<'_> {
        Access {
            request_id: "trace-me-42",
            method: "GET",
            path,
            status: 404,
            duration: Duration::from_micros(1_234_567),
            ip: IpAddr::from([127, 0, 0, 1]),
            auth_id: "",
        }
    }

    fn render(shape: fn(&mut Vec<u8>, &str, &Access<'_>), level: &str, a: &Access<'_>) -> String {
        let mut line = Vec::new();
        shape(&mut line, level, a);
        String::from_utf8(line).expect("utf-8")
    }

    #[test]
    fn the_json_line_is_json_in_tracings_shape() {
        let line = render(json_line, "INFO", &sample("/api/\"odd\\\u{1}path"));
        assert!(line.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).expect("json");
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["target"], ACCESS_TARGET);
        assert_eq!(v["span"]["request_id"], "trace-me-42");
        assert_eq!(v["span"]["name"], "request");
        assert_eq!(v["fields"]["message"], "request");
        assert_eq!(v["fields"]["path"], "/api/\"odd\\\u{1}path");
        assert_eq!(v["fields"]["status"], 404);
        assert_eq!(v["fields"]["duration_ms"], "1234.567");
        assert_eq!(v["fields"]["auth_id"], "");
        let ts = v["timestamp"].as_str().expect("timestamp");
        let parsed = chrono::DateTime::parse_from_rfc3339(ts).expect("rfc 3339");
        let age = chrono::Utc::now().signed_duration_since(parsed);
        assert!(age.num_seconds().abs() < 5, "{ts}");
        assert_eq!(ts.len(), "2026-12-02T09:14:46.301596Z".len());
    }

    #[test]
    fn the_plain_line_reads_like_tracings() {
        let line = render(pretty_line, "ERROR", &sample("/api/x"));
        let (ts, rest) = line.split_once(' ').expect("timestamp");
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
        assert_eq!(
            rest,
            "ERROR request{request_id=trace-me-42}: request method=GET path=/api/x status=404 \
             duration_ms=1234.567 ip=127.0.0.1 auth_id=\"\"\n"
        );
        let info = render(pretty_line, "INFO", &sample("/"));
        assert!(info.contains("Z  INFO request{"), "{info}");
    }

    #[test]
    fn plain_heads_name_the_request_and_colour_only_for_a_terminal() {
        let head = |level, id, ansi| {
            let mut line = Vec::new();
            pretty_head(&mut line, level, id, ansi);
            String::from_utf8(line).expect("utf-8")
        };
        let plain = head("WARN", Some("r-1"), false);
        let (ts, rest) = plain.split_once(' ').expect("timestamp");
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
        assert_eq!(rest, " WARN request{request_id=r-1}: ");
        assert!(head("ERROR", None, false).ends_with("Z ERROR "));
        let colour = head("INFO", Some("r-2"), true);
        assert!(
            colour.starts_with("\x1b[2m") && colour.contains("\x1b[32m INFO\x1b[0m"),
            "{colour:?}"
        );
        assert!(
            colour.ends_with("\x1b[1mrequest{\x1b[0mrequest_id=r-2\x1b[1m}\x1b[0m: "),
            "{colour:?}"
        );
    }

    #[test]
    fn json_tails_carry_the_request_only_inside_one() {
        let tail = |id| {
            let mut line = b"{\"fields\":{}".to_vec();
            json_tail(&mut line, "cairn::x", id);
            serde_json::from_slice::<serde_json::Value>(&line).expect("json")
        };
        assert_eq!(tail(Some("q\"1"))["span"]["request_id"], "q\"1");
        assert_eq!(tail(Some("q"))["span"]["name"], "request");
        assert_eq!(tail(None)["target"], "cairn::x");
        assert!(tail(None).get("span").is_none());
    }

    #[test]
    fn the_plain_line_writes_ids_and_addresses_as_tracing_would() {
        let odd = "say \"hi\"\\\u{7}é";
        for (auth_id, ip) in [
            ("abc123def456ghi", IpAddr::from([10, 0, 255, 9])),
            (odd, "2001:db8::1".parse().expect("ipv6")),
            ("", "::ffff:1.2.3.4".parse().expect("mapped")),
        ] {
            let a = Access {
                auth_id,
                ip,
                duration: Duration::from_micros(7),
                ..sample("/p")
            };
            let line = render(pretty_line, "INFO", &a);
            let expected = format!(" status=404 duration_ms=0.007 ip={ip} auth_id={auth_id:?}\n");
            assert!(line.ends_with(&expected), "{line}");
            let v: serde_json::Value = serde_json::from_str(&render(json_line, "INFO", &a)).expect("json");
            assert_eq!(v["fields"]["ip"], ip.to_string());
            assert_eq!(v["fields"]["auth_id"], auth_id);
            assert_eq!(v["fields"]["duration_ms"], "0.007");
        }
    }
}
