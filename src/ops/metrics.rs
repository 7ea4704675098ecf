//! Metrics in Prometheus' text format (version 0.0.4): the request
//! counts and latencies the edge records here per request, and a writer
//! for the exposition that the metrics endpoint fills at scrape time from
//! what each part measures of itself (`Database::stats`, the realtime
//! broker, the caches, the backups).
//!
//! Label values are bounded: a route is the template the router matched
//! (`/api/collections/{collection}/records/{id}`, never a raw path; an
//! unknown path is `other`), a method one of the standard ones or
//! `OTHER`, so a scanner cannot make the series grow without end.

use std::{
    collections::HashMap,
    fmt::Write as _,
    sync::{
        RwLock,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::Duration,
};

use crate::stats::{Histogram, HistogramSnapshot};

/// The maps' hasher: their keys are a handful of static strings (hashed
/// by address: each template and method is one static string) and a
/// status, so SipHash's defence against chosen keys buys nothing here
/// and costs on every request.
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }
}

type Fast = std::hash::BuildHasherDefault<KeyHasher>;

/// A static string compared and hashed by its address (every route
/// template and method label is one static string).
#[derive(Clone, Copy)]
struct ByAddress(&'static str);

impl PartialEq for ByAddress {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for ByAddress {}

impl std::hash::Hash for ByAddress {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_usize(self.0.as_ptr() as usize);
    }
}

/// What the edge counts per request.
#[derive(Default)]
pub struct Metrics {
    /// By (route template, method, status).
    requests: RwLock<HashMap<(ByAddress, ByAddress, u16), AtomicU64, Fast>>,
    latency: RwLock<HashMap<(ByAddress, ByAddress), Histogram, Fast>>,
    in_flight: AtomicI64,
    rate_limited: AtomicU64,
}

/// Decrements the in-flight gauge when the request ends, however it ends.
pub struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The standard methods by name; any other is `OTHER`.
pub fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("OTHER")
}

impl Metrics {
    /// Counts a request in flight until the guard drops.
    pub fn begin(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// Counts one answered request.
    pub fn record(&self, route: &'static str, method: &'static str, status: u16, took: Duration) {
        let (route, method) = (ByAddress(route), ByAddress(method));
        with_entry(&self.requests, (route, method, status), AtomicU64::default, |n| {
            n.fetch_add(1, Ordering::Relaxed);
        });
        with_entry(&self.latency, (route, method), Histogram::latency, |h| {
            h.observe_duration(took);
        });
    }

    /// Counts a request the rate limiter refused.
    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// Writes the request metrics.
    pub fn write_to(&self, out: &mut Exposition) {
        let mut requests: Vec<_> = read(&self.requests, |n| n.load(Ordering::Relaxed))
            .into_iter()
            .map(|((ByAddress(route), ByAddress(method), status), n)| {
                (
                    vec![
                        ("route", route.to_owned()),
                        ("method", method.to_owned()),
                        ("status", status.to_string()),
                    ],
                    n as f64,
                )
            })
            .collect();
        requests.sort_by(|a, b| a.0.cmp(&b.0));
        out.family(
            "cairn_http_requests_total",
            "counter",
            "HTTP requests answered, by route template, method and status.",
            &requests,
        );
        let mut latency: Vec<_> = read(&self.latency, Histogram::snapshot)
            .into_iter()
            .map(|((ByAddress(route), ByAddress(method)), h)| ((route, method), h))
            .collect();
        latency.sort_by_key(|(k, _)| *k);
        out.header(
            "cairn_http_request_duration_seconds",
            "histogram",
            "Time from a request's arrival to its answer, by route template and method.",
        );
        for ((route, method), h) in latency {
            out.histogram_samples(
                "cairn_http_request_duration_seconds",
                &[("route", route.to_owned()), ("method", method.to_owned())],
                &h,
            );
        }
        out.family(
            "cairn_http_requests_in_flight",
            "gauge",
            "Requests being served now (until their answer starts).",
            &[(vec![], self.in_flight.load(Ordering::Relaxed) as f64)],
        );
        out.family(
            "cairn_rate_limited_requests_total",
            "counter",
            "Requests refused by the rate limiter (429).",
            &[(vec![], self.rate_limited.load(Ordering::Relaxed) as f64)],
        );
    }
}

/// Runs `f` on `key`'s value, made by `make` the first time; only that
/// first time takes the write lock.
fn with_entry<K: std::hash::Hash + Eq, V>(
    map: &RwLock<HashMap<K, V, Fast>>,
    key: K,
    make: impl FnOnce() -> V,
    f: impl FnOnce(&V),
) {
    if let Ok(m) = map.read()
        && let Some(v) = m.get(&key)
    {
        return f(v);
    }
    let mut m = map.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    f(m.entry(key).or_insert_with(make));
}

/// Every key with `read` of its value.
fn read<K: Copy, V, T>(map: &RwLock<HashMap<K, V, Fast>>, read: impl Fn(&V) -> T) -> Vec<(K, T)> {
    map.read()
        .map(|m| m.iter().map(|(k, v)| (*k, read(v))).collect())
        .unwrap_or_default()
}

/// Labels of one sample: (name, value) pairs.
pub type Labels = Vec<(&'static str, String)>;

/// The text being written for one scrape.
#[derive(Default)]
pub struct Exposition(String);

impl Exposition {
    /// `# HELP` and `# TYPE` of a family.
    pub fn header(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {}", escape(help, false));
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    /// A counter or gauge family with its samples.
    pub fn family(&mut self, name: &str, kind: &str, help: &str, samples: &[(Labels, f64)]) {
        self.header(name, kind, help);
        for (labels, value) in samples {
            self.sample(name, labels, None, *value);
        }
    }

    /// A histogram family of one series.
    pub fn histogram(
        &mut self,
        name: &str,
        help: &str,
        labels: &[(&'static str, String)],
        h: &HistogramSnapshot,
    ) {
        self.header(name, "histogram", help);
        self.histogram_samples(name, labels, h);
    }

    /// The `_bucket`, `_sum` and `_count` samples of one series (after
    /// its family's header).
    pub fn histogram_samples(
        &mut self,
        name: &str,
        labels: &[(&'static str, String)],
        h: &HistogramSnapshot,
    ) {
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0;
        for (i, n) in h.buckets.iter().enumerate() {
            cumulative += n;
            let le = h
                .bounds
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), |b| format_value(*b));
            self.sample(&bucket, labels, Some(&le), cumulative as f64);
        }
        self.sample(&format!("{name}_sum"), labels, None, h.sum);
        self.sample(&format!("{name}_count"), labels, None, h.count as f64);
    }

    fn sample(&mut self, name: &str, labels: &[(&'static str, String)], le: Option<&str>, value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() || le.is_some() {
            self.0.push('{');
            let mut first = true;
            let le = le.map(|v| ("le", v.to_owned()));
            for (k, v) in labels.iter().chain(le.as_ref()) {
                if !first {
                    self.0.push(',');
                }
                first = false;
                let _ = write!(self.0, "{k}=\"{}\"", escape(v, true));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {}", format_value(value));
    }

    pub fn finish(self) -> String {
        self.0
    }
}

fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        v.to_string()
    }
}

/// Escapes a label value (backslash, quote, newline) or help text
/// (backslash, newline).
fn escape(s: &str, quotes: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quotes => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_counters_and_cumulative_histograms() {
        let m = Metrics::default();
        m.record("/api/health", "GET", 200, Duration::from_millis(3));
        m.record("/api/health", "GET", 200, Duration::from_millis(30));
        let mut out = Exposition::default();
        m.write_to(&mut out);
        let text = out.finish();
        assert!(
            text.contains("cairn_http_requests_total{method=\"GET\",route=\"/api/health\",status=\"200\"} 2")
                || text.contains(
                    "cairn_http_requests_total{route=\"/api/health\",method=\"GET\",status=\"200\"} 2"
                ),
            "{text}"
        );
        assert!(
            text.contains(
                "cairn_http_request_duration_seconds_bucket{route=\"/api/health\",method=\"GET\",le=\"0.005\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("cairn_http_request_duration_seconds_bucket{route=\"/api/health\",method=\"GET\",le=\"+Inf\"} 2"),
            "{text}"
        );
        assert_eq!(escape("a\"b\\c\nd", true), "a\\\"b\\\\c\\nd");
    }
}
