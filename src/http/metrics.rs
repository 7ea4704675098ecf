//! `GET /metrics` on its own listener (`--metrics ADDR`), never on the
//! API's: Prometheus' text format, gathered at scrape time from what each
//! part of the server measures of itself. A separate address rather than
//! a token, because a scraper on the same host or network then needs no
//! secret, and the API's address (often public behind a proxy) serves
//! nothing of it: a guest there gets a 404.

use std::sync::Arc;

use poem::{Endpoint, Response, Route, get, handler, http::StatusCode, web::Data};

use crate::{
    app::AppState,
    ops::metrics::{Exposition, Labels},
    stats::HistogramSnapshot,
    store::DatabaseStats,
};

/// The metrics listener's routes: `/metrics`, and 404 elsewhere.
pub fn routes(state: Arc<AppState>) -> impl Endpoint<Output = Response> + 'static {
    use poem::EndpointExt;
    Route::new()
        .at("/metrics", get(metrics))
        .data(state)
        .map_to_response()
}

#[handler]
fn metrics(Data(state): Data<&Arc<AppState>>) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .header("cache-control", "no-store")
        .body(render(state))
}

/// Every metric, as text.
pub fn render(state: &AppState) -> String {
    let mut out = Exposition::default();
    state.metrics.write_to(&mut out);
    databases(&mut out, state);
    caches(&mut out, state);
    realtime(&mut out, state);
    backups(&mut out, state);
    jobs(&mut out, state);
    process(&mut out);
    out.finish()
}

fn databases(out: &mut Exposition, state: &AppState) {
    let dbs: [(&str, DatabaseStats); 2] = [
        ("data", state.store.data.stats()),
        ("auxiliary", state.store.auxiliary.stats()),
    ];
    let db = |name: &str| -> Labels { vec![("db", name.to_owned())] };
    let gauge =
        |out: &mut Exposition, name: &str, kind: &str, help: &str, f: &dyn Fn(&DatabaseStats) -> f64| {
            let samples: Vec<(Labels, f64)> = dbs.iter().map(|(n, s)| (db(n), f(s))).collect();
            out.family(name, kind, help, &samples);
        };
    gauge(
        out,
        "cairn_db_write_queue_depth",
        "gauge",
        "Write jobs waiting for the writer.",
        &|s| s.queued as f64,
    );
    gauge(
        out,
        "cairn_db_commits_total",
        "counter",
        "Write transactions committed.",
        &|s| s.commits as f64,
    );
    gauge(
        out,
        "cairn_db_size_bytes",
        "gauge",
        "Size of the database file.",
        &|s| s.file_bytes as f64,
    );
    gauge(
        out,
        "cairn_db_wal_size_bytes",
        "gauge",
        "Size of the database's write-ahead log.",
        &|s| s.wal_bytes as f64,
    );
    let histogram =
        |out: &mut Exposition, name: &str, help: &str, f: &dyn Fn(&DatabaseStats) -> &HistogramSnapshot| {
            out.header(name, "histogram", help);
            for (n, s) in &dbs {
                out.histogram_samples(name, &db(n), f(s));
            }
        };
    histogram(
        out,
        "cairn_db_write_group_size",
        "Write jobs sharing one committed transaction.",
        &|s| &s.group_size,
    );
    histogram(
        out,
        "cairn_db_commit_duration_seconds",
        "Time from BEGIN to the end of COMMIT of a write transaction.",
        &|s| &s.commit_seconds,
    );
    histogram(
        out,
        "cairn_db_read_wait_seconds",
        "Time a read waits for a reader thread.",
        &|s| &s.read_wait_seconds,
    );
}

fn jobs(out: &mut Exposition, state: &AppState) {
    let queue = &state.jobs;
    out.family(
        "cairn_jobs_pending",
        "gauge",
        "Jobs waiting in the durable queue (due or not), as last counted.",
        &[(
            Vec::new(),
            queue.stats().pending.load(std::sync::atomic::Ordering::Relaxed) as f64,
        )],
    );
    out.family(
        "cairn_jobs_running",
        "gauge",
        "Jobs running now.",
        &[(Vec::new(), queue.running() as f64)],
    );
    let attempts: Vec<(Labels, f64)> = queue
        .stats()
        .outcomes()
        .into_iter()
        .map(|(kind, outcome, n)| (vec![("kind", kind), ("outcome", outcome.to_owned())], n as f64))
        .collect();
    out.family(
        "cairn_job_attempts_total",
        "counter",
        "Job attempts finished, by kind and outcome (done, retry: failed and to be tried again, dead: given up).",
        &attempts,
    );
}

fn caches(out: &mut Exposition, state: &AppState) {
    let caches = [
        ("auth_records", state.auth_records.lookups.get()),
        ("sessions", state.sessions.lookups.get()),
        ("api_keys", state.keys.lookups.get()),
        ("list_counts", state.list_counts.hit_ratio()),
    ];
    let cache = |name: &str| -> Labels { vec![("cache", name.to_owned())] };
    let hits: Vec<(Labels, f64)> = caches.iter().map(|(n, (h, _))| (cache(n), *h as f64)).collect();
    let misses: Vec<(Labels, f64)> = caches.iter().map(|(n, (_, m))| (cache(n), *m as f64)).collect();
    out.family(
        "cairn_cache_hits_total",
        "counter",
        "Lookups answered from a cache.",
        &hits,
    );
    out.family(
        "cairn_cache_misses_total",
        "counter",
        "Lookups a cache could not answer (read from the database).",
        &misses,
    );
}

fn realtime(out: &mut Exposition, state: &AppState) {
    let broker = &state.realtime;
    out.family(
        "cairn_realtime_clients",
        "gauge",
        "Realtime (SSE) clients connected.",
        &[(vec![], broker.len() as f64)],
    );
    out.family(
        "cairn_realtime_subscriptions",
        "gauge",
        "Subscriptions held by the connected realtime clients.",
        &[(vec![], broker.subscriptions() as f64)],
    );
    out.family(
        "cairn_realtime_lagging_disconnects_total",
        "counter",
        "Realtime clients cut off because they fell behind.",
        &[(vec![], broker.fell_behind() as f64)],
    );
}

fn backups(out: &mut Exposition, state: &AppState) {
    out.family(
        "cairn_backup_running",
        "gauge",
        "1 while a backup or restore runs.",
        &[(vec![], f64::from(u8::from(state.backups.is_running())))],
    );
    if let Some(last) = state.backups.last() {
        out.family(
            "cairn_backup_last_timestamp_seconds",
            "gauge",
            "When the last backup attempted since start ended (Unix time).",
            &[(vec![], last.at)],
        );
        out.family(
            "cairn_backup_last_success",
            "gauge",
            "1 if the last backup attempted since start succeeded, else 0.",
            &[(vec![], f64::from(u8::from(last.ok)))],
        );
    }
}

/// The process's memory and open files, under Prometheus' standard names
/// (Linux only: read from /proc).
fn process(out: &mut Exposition) {
    let rss = std::fs::read_to_string("/proc/self/status").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
    });
    if let Some(kib) = rss {
        out.family(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            &[(vec![], kib * 1024.0)],
        );
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        out.family(
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            &[(vec![], fds.count() as f64)],
        );
    }
}
