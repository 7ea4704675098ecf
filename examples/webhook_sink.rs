//! The webhook receiver for the benchmarks (tests/bench/webhooks_overhead.py):
//! answers every POST at once and keeps, per delivery, the time from the
//! record's `created` stamp (set in the write's transaction, just before
//! its commit) to the moment the request was read. Cheap on purpose, so it
//! takes as little as possible of the CPU the server is measured on.
//! Signatures are checked by the tests, not here.
//!
//! `POST /hook` a delivery; `GET /stats` `{count, p50, p99, max}` in ms;
//! `POST /reset` forgets. Prints the address it listens on.

use std::sync::{Arc, Mutex};

use chrono::{NaiveDateTime, Utc};
use poem::{EndpointExt, Route, Server, get, handler, listener::TcpListener, post, web::Data, web::Json};
use serde_json::{Value, json};

type Seen = Arc<Mutex<Vec<f64>>>;

#[handler]
fn hook(body: Json<Value>, seen: Data<&Seen>) -> &'static str {
    let now = Utc::now();
    let created = body.0["data"]["record"]["created"].as_str().unwrap_or("");
    if let Ok(t) = NaiveDateTime::parse_from_str(created, "%Y-%m-%d %H:%M:%S%.3fZ") {
        let ms = (now - t.and_utc()).num_microseconds().unwrap_or(0) as f64 / 1000.0;
        if let Ok(mut s) = seen.lock() {
            s.push(ms);
        }
    }
    "ok"
}

#[handler]
fn stats(seen: Data<&Seen>) -> Json<Value> {
    let mut v = seen.lock().map(|s| s.clone()).unwrap_or_default();
    v.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if v.is_empty() {
            0.0
        } else {
            v[((v.len() as f64 - 1.0) * q).round() as usize]
        }
    };
    Json(json!({"count": v.len(), "p50": at(0.5), "p99": at(0.99), "max": at(1.0)}))
}

#[handler]
fn reset(seen: Data<&Seen>) -> Json<Value> {
    if let Ok(mut s) = seen.lock() {
        s.clear();
    }
    Json(json!({}))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    drop(listener);
    println!("{addr}");
    let seen: Seen = Arc::default();
    Server::new(TcpListener::bind(addr.to_string()))
        .run(
            Route::new()
                .at("/hook", post(hook))
                .at("/stats", get(stats))
                .at("/reset", post(reset))
                .data(seen),
        )
        .await
}
