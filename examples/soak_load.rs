//! The load of `tests/bench/soak.py`: a mix of record views (58%),
//! filtered lists (15%), creates (10%), updates (6%), deletes (10%, only
//! while more than twice `RECENT` records exist, so the collection stays
//! about that size and a list costs the same at minute ten as at minute
//! one) and password sign-ins (1%) against a running Cairn, plus realtime
//! clients subscribed to the collection.
//! Python cannot drive Cairn near its peak, so the load is here; the script
//! sets the server up, samples its memory and files, and judges the run.
//!
//! ```text
//! soak_load --base URL --collection C --email E --password P --token T
//!           [--rate R] [--concurrency N] [--seconds S] [--realtime K]
//! ```
//!
//! `--rate 0` is closed loop (as fast as `--concurrency` workers go: the
//! peak); otherwise requests start on a fixed schedule of R per second
//! (open loop: a slow server makes latency grow, not the load shrink), and
//! a request's latency counts from when it was due. One JSON line per
//! second on stdout: `{"t", "ok", "errors", "p50", "p99", "max", "events",
//! "realtime"}` (ms; `events` realtime messages received that second;
//! `realtime` clients connected). Errors are printed on stderr, sampled.

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use serde_json::{Value, json};

/// Views and updates pick among this many newest records.
const RECENT: usize = 1000;

struct Args {
    base: String,
    collection: String,
    email: String,
    password: String,
    token: String,
    rate: f64,
    concurrency: usize,
    seconds: u64,
    realtime: usize,
}

fn args() -> Args {
    let mut a = Args {
        base: String::new(),
        collection: "posts".into(),
        email: String::new(),
        password: String::new(),
        token: String::new(),
        rate: 0.0,
        concurrency: 32,
        seconds: 10,
        realtime: 0,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let (k, v) = (pair[0].as_str(), pair.get(1).cloned().unwrap_or_default());
        match k {
            "--base" => a.base = v,
            "--collection" => a.collection = v,
            "--email" => a.email = v,
            "--password" => a.password = v,
            "--token" => a.token = v,
            "--rate" => a.rate = v.parse().expect("--rate"),
            "--concurrency" => a.concurrency = v.parse().expect("--concurrency"),
            "--seconds" => a.seconds = v.parse().expect("--seconds"),
            "--realtime" => a.realtime = v.parse().expect("--realtime"),
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(
        !a.base.is_empty() && !a.token.is_empty(),
        "--base and --token are required"
    );
    a
}

/// Latencies (µs) and errors of the current second.
#[derive(Default)]
struct Window {
    latencies: Vec<u64>,
    errors: u64,
}

struct Shared {
    args: Args,
    client: reqwest::Client,
    window: Mutex<Window>,
    /// Ids of records this run made and has not deleted (for views,
    /// updates and deletes).
    ids: Mutex<VecDeque<String>>,
    events: AtomicU64,
    connected: AtomicUsize,
    seq: AtomicU64,
    error_samples: AtomicU64,
}

impl Shared {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.args.base)
    }

    /// One of the newest `RECENT` records: deletes take only the oldest,
    /// and only while more than twice that many exist, so a record picked
    /// here is never one a concurrent delete removes (no false 404).
    fn pick(&self, n: u64) -> Option<String> {
        let ids = self.ids.lock().expect("ids");
        let recent = ids.len().min(RECENT);
        (recent > 0).then(|| ids[ids.len() - 1 - (n as usize) % recent].clone())
    }

    /// One request of the mix, chosen by `n`; `Err` says what went wrong.
    async fn one(&self, n: u64) -> Result<(), String> {
        let c = &self.args.collection;
        let auth = self.args.token.as_str();
        let slot = n % 100;
        let resp = match slot {
            0..58 => {
                let Some(id) = self.pick(n.wrapping_mul(2_654_435_761)) else {
                    return self.create(n).await;
                };
                self.client
                    .get(self.url(&format!("/api/collections/{c}/records/{id}")))
                    .send()
                    .await
            }
            58..73 => {
                self.client
                    .get(self.url(&format!(
                        "/api/collections/{c}/records?perPage=20&sort=-created&filter=(score%3E{})",
                        n % 1000
                    )))
                    .send()
                    .await
            }
            73..83 => return self.create(n).await,
            83..89 => {
                let Some(id) = self.pick(n.wrapping_mul(40_503)) else {
                    return Ok(());
                };
                self.client
                    .patch(self.url(&format!("/api/collections/{c}/records/{id}")))
                    .header("authorization", auth)
                    .json(&json!({"score": n % 1000, "title": format!("updated {n}")}))
                    .send()
                    .await
            }
            89..99 => {
                let id = {
                    let mut ids = self.ids.lock().expect("ids");
                    if ids.len() < 2 * RECENT {
                        return Ok(());
                    }
                    ids.pop_front().expect("not empty")
                };
                self.client
                    .delete(self.url(&format!("/api/collections/{c}/records/{id}")))
                    .header("authorization", auth)
                    .send()
                    .await
            }
            _ => {
                self.client
                    .post(self.url("/api/collections/users/auth-with-password"))
                    .json(&json!({"identity": self.args.email, "password": self.args.password}))
                    .send()
                    .await
            }
        };
        check(resp).await.map(drop)
    }

    async fn create(&self, n: u64) -> Result<(), String> {
        let c = &self.args.collection;
        let resp = self
            .client
            .post(self.url(&format!("/api/collections/{c}/records")))
            .header("authorization", self.args.token.as_str())
            .json(&json!({"title": format!("post {n}"), "body": "x".repeat(200), "score": n % 1000}))
            .send()
            .await;
        let body = check(resp).await?;
        if let Some(id) = body.get("id").and_then(Value::as_str) {
            self.ids.lock().expect("ids").push_back(id.to_owned());
        }
        Ok(())
    }

    fn record(&self, started: Instant, result: Result<(), String>) {
        let us = started.elapsed().as_micros() as u64;
        let mut w = self.window.lock().expect("window");
        match result {
            Ok(()) => w.latencies.push(us),
            Err(e) => {
                w.errors += 1;
                if self.error_samples.fetch_add(1, Ordering::Relaxed) < 20 {
                    eprintln!("error: {e}");
                }
            }
        }
    }
}

async fn check(resp: reqwest::Result<reqwest::Response>) -> Result<Value, String> {
    let resp = resp.map_err(|e| chain(&e))?;
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|e| chain(&e))?;
    if !status.is_success() {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&bytes)));
    }
    Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// An error with its causes: reqwest's own text ("error decoding
/// response body") does not say what went wrong underneath.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// One realtime client: connects, subscribes to the collection, counts
/// messages; reconnects if the stream ends (the server's lifetime cap).
async fn realtime_client(shared: Arc<Shared>, stop: Instant) {
    while Instant::now() < stop {
        let Ok(resp) = shared.client.get(shared.url("/api/realtime")).send().await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let mut stream = resp.bytes_stream();
        let mut buf = String::new();
        let mut subscribed = false;
        shared.connected.fetch_add(1, Ordering::Relaxed);
        while let Ok(Some(Ok(chunk))) =
            tokio::time::timeout(stop.saturating_duration_since(Instant::now()), stream.next()).await
        {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let frame: String = buf.drain(..end + 2).collect();
                if !subscribed && frame.contains("PB_CONNECT") {
                    let id = frame
                        .lines()
                        .find_map(|l| l.strip_prefix("id:"))
                        .unwrap_or_default()
                        .trim()
                        .to_owned();
                    let sub = shared
                        .client
                        .post(shared.url("/api/realtime"))
                        .header("authorization", shared.args.token.as_str())
                        .json(&json!({"clientId": id, "subscriptions": [shared.args.collection]}))
                        .send()
                        .await;
                    subscribed = check(sub).await.is_ok();
                } else if subscribed {
                    shared.events.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        shared.connected.fetch_sub(1, Ordering::Relaxed);
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let args = args();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency.max(64) * 2)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let (seconds, rate, concurrency, realtime) = (args.seconds, args.rate, args.concurrency, args.realtime);
    let shared = Arc::new(Shared {
        args,
        client,
        window: Mutex::default(),
        ids: Mutex::default(),
        events: AtomicU64::new(0),
        connected: AtomicUsize::new(0),
        seq: AtomicU64::new(0),
        error_samples: AtomicU64::new(0),
    });
    let start = Instant::now();
    let stop = start + Duration::from_secs(seconds);
    // A first few records, so views have something to read.
    for n in 0..50 {
        let _ = shared.create(n).await;
    }
    for _ in 0..realtime {
        tokio::spawn(realtime_client(shared.clone(), stop));
    }

    if rate <= 0.0 {
        for _ in 0..concurrency {
            let s = shared.clone();
            tokio::spawn(async move {
                while Instant::now() < stop {
                    let n = s.seq.fetch_add(1, Ordering::Relaxed);
                    let t = Instant::now();
                    let r = s.one(n).await;
                    s.record(t, r);
                }
            });
        }
    } else {
        // Open loop: request k is due at start + k / rate; a bounded number
        // in flight, so an overloaded server shows as latency and errors
        // rather than as unbounded memory here.
        let s = shared.clone();
        let in_flight = Arc::new(tokio::sync::Semaphore::new(4096));
        tokio::spawn(async move {
            let mut k: u64 = 0;
            loop {
                let due = start + Duration::from_secs_f64(k as f64 / rate);
                if due >= stop {
                    return;
                }
                tokio::time::sleep_until(due.into()).await;
                let Ok(permit) = in_flight.clone().acquire_owned().await else {
                    return;
                };
                let s = s.clone();
                tokio::spawn(async move {
                    let r = s.one(k).await;
                    s.record(due, r);
                    drop(permit);
                });
                k += 1;
            }
        });
    }

    let mut last_events = 0;
    for t in 1..=seconds {
        tokio::time::sleep_until((start + Duration::from_secs(t)).into()).await;
        let w = std::mem::take(&mut *shared.window.lock().expect("window"));
        let mut l = w.latencies;
        l.sort_unstable();
        let events = shared.events.load(Ordering::Relaxed);
        println!(
            "{}",
            json!({
                "t": t,
                "ok": l.len(),
                "errors": w.errors,
                "p50": percentile(&l, 0.50),
                "p99": percentile(&l, 0.99),
                "max": percentile(&l, 1.0),
                "events": events - last_events,
                "realtime": shared.connected.load(Ordering::Relaxed),
            })
        );
        last_events = events;
    }
}
