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
        Arc, RwLock,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::Duration,
};

use crate::stats::{Histogram, HistogramSnapshot};

/// (route template, method, status).
type RequestKey = (&'static str, &'static str, u16);

/// What the edge counts per request.
#[derive(Default)]
pub struct Metrics {
    requests: RwLock<HashMap<RequestKey, Arc<AtomicU64>>>,
    latency: RwLock<HashMap<(&'static str, &'static str), Arc<Histogram>>>,
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
        entry(&self.requests, (route, method, status), Default::default).fetch_add(1, Ordering::Relaxed);
        entry(&self.latency, (route, method), Histogram::latency).observe_duration(took);
    }

    /// Counts a request the rate limiter refused.
    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// Writes the request metrics.
    pub fn write_to(&self, out: &mut Exposition) {
        let mut requests: Vec<_> = read(&self.requests)
            .into_iter()
            .map(|((route, method, status), n)| {
                (
                    vec![
                        ("route", route.to_owned()),
                        ("method", method.to_owned()),
                        ("status", status.to_string()),
                    ],
                    n.load(Ordering::Relaxed) as f64,
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
        let mut latency: Vec<_> = read(&self.latency).into_iter().collect();
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
                &h.snapshot(),
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

fn entry<K: std::hash::Hash + Eq + Copy, V>(
    map: &RwLock<HashMap<K, Arc<V>>>,
    key: K,
    make: impl FnOnce() -> V,
) -> Arc<V> {
    if let Some(v) = map.read().ok().and_then(|m| m.get(&key).cloned()) {
        return v;
    }
    let mut m = map.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    m.entry(key).or_insert_with(|| Arc::new(make())).clone()
}

fn read<K: Clone, V>(map: &RwLock<HashMap<K, Arc<V>>>) -> Vec<(K, Arc<V>)> {
    map.read()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
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
