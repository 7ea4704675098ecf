//! A delivery attempt is bounded by `--webhooks-timeout`: a receiver that
//! accepts the connection and never answers, or answers later than the
//! bound, fails the attempt as timed out, and the delivery is retried;
//! a fast receiver, the control, is delivered once.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    helpers::{run_cairn, serve, serve_call},
    webhooks_receiver::{Silent, after_attempts, attempts_ended, deliveries, settled, setup_with, webhook},
};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn an_attempt_past_the_timeout_fails_as_timed_out_and_is_retried() {
    let (app, su, rx) = setup_with(|c| c.webhooks.timeout = Duration::from_secs(1)).await;
    let silent = Silent::start().await;
    let hook =
        |url: String| json!({"collection": "posts", "events": ["create"], "url": url, "secret": rx.secret});
    let never = webhook(&app, &su, hook(silent.url("/in"))).await;
    // Sleeps 3 s on the first request, answers the next at once.
    let late = webhook(&app, &su, rx.on_create("/slow/3/1")).await;
    let fast = webhook(&app, &su, rx.on_create("/ok")).await;
    app.post_ok(&su, "/api/collections/posts/records", json!({"title": "a"}))
        .await;

    // The control: a fast receiver, delivered at the first attempt.
    let done = settled(&app, &su, fast["id"].as_str().unwrap(), 1, WAIT).await;
    assert_eq!(done[0]["status"], json!("done"), "{done:#?}");
    assert_eq!(done[0]["attempts"], json!(1), "{done:#?}");
    assert_eq!(done[0]["lastError"], json!(""), "{done:#?}");

    // The silent receiver: every attempt ends at the bound (1 s, not the
    // default 10 s), as a timeout, and is tried again.
    let d = after_attempts(&app, &su, never["id"].as_str().unwrap(), 2).await;
    assert_eq!(d["status"], json!("failed"), "{d:#}");
    assert!(d["lastError"].as_str().unwrap().contains("timed out"), "{d:#}");
    let ms = d["result"]["ms"].as_u64().unwrap();
    assert!((1000..4000).contains(&ms), "the attempt took {ms} ms: {d:#}");
    assert!(d["result"].get("status").is_none(), "no answer, no status: {d:#}");
    assert!(silent.accepted() >= 2, "one connection per attempt");

    // The late receiver: the first attempt timed out while it slept, the
    // second went through; both carried the same message.
    let done = settled(&app, &su, late["id"].as_str().unwrap(), 1, WAIT).await;
    assert_eq!(done[0]["status"], json!("done"), "{done:#?}");
    assert_eq!(done[0]["attempts"], json!(2), "{done:#?}");
    let log = rx.log().await;
    let late_log: Vec<&Value> = log.iter().filter(|e| e["path"] == json!("/slow/3/1")).collect();
    assert_eq!(late_log.len(), 2, "{log:#?}");
    assert_eq!(late_log[0]["id"], late_log[1]["id"]);
    assert!(late_log.iter().all(|e| e["verified"] == json!(true)), "{log:#?}");
    let fast_log = log.iter().filter(|e| e["path"] == json!("/ok")).count();
    assert_eq!(fast_log, 1, "the fast receiver heard it once: {log:#?}");
}

#[tokio::test]
async fn the_timeout_is_a_start_up_option() {
    // Out of range: refused at start-up, before anything listens.
    for bad in ["0", "301", "soon"] {
        let (code, _, err) = run_cairn(
            &["serve", "--webhooks-timeout", bad, "--dir", "/nonexistent"],
            &[],
        )
        .await;
        assert_eq!(code, 2, "--webhooks-timeout {bad}: {err}");
        assert!(err.contains("--webhooks-timeout"), "{err}");
    }
    // In range: the real server bounds an attempt by it (1 s, where the
    // default would wait 10 s).
    let dir = tempfile::tempdir().unwrap();
    let flags = ["--webhooks-allow-private", "--webhooks-timeout", "1"];
    let (server, su) = serve(dir.path(), &flags).await;
    let collection = json!({"name": "posts", "type": "base", "fields": [{"name": "title", "type": "text"}]});
    serve_call(&server, "POST", "/api/collections", Some(&su), Some(collection)).await;
    let silent = Silent::start().await;
    let hook = json!({"collection": "posts", "events": ["create"], "url": silent.url("/in")});
    let hook = serve_call(&server, "POST", "/api/webhooks", Some(&su), Some(hook)).await;
    let record = json!({"title": "a"});
    serve_call(
        &server,
        "POST",
        "/api/collections/posts/records",
        Some(&su),
        Some(record),
    )
    .await;
    let path = format!("/api/webhooks/{}/deliveries", hook["id"].as_str().unwrap());
    let deadline = tokio::time::Instant::now() + WAIT;
    let d = loop {
        let list = serve_call(&server, "GET", &path, Some(&su), None).await;
        if attempts_ended(&list[0], 1) {
            break list[0].clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "{list:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(d["lastError"].as_str().unwrap().contains("timed out"), "{d:#}");
    let ms = d["result"]["ms"].as_u64().unwrap();
    assert!((1000..4000).contains(&ms), "the attempt took {ms} ms: {d:#}");
    assert_eq!(silent.accepted(), 1);
}

#[tokio::test]
async fn the_log_shows_an_attempt_in_progress_as_running_then_its_outcome() {
    // Attempts of 2 s against a receiver that never answers, and a retry
    // a minute later, so the first attempt's outcome stays in view.
    let (app, su, rx) = setup_with(|c| {
        c.webhooks.timeout = Duration::from_secs(2);
        c.jobs.retry_base = Duration::from_secs(60);
        c.jobs.retry_cap = Duration::from_secs(60);
    })
    .await;
    let silent = Silent::start().await;
    let hook =
        json!({"collection": "posts", "events": ["create"], "url": silent.url("/in"), "secret": rx.secret});
    let id = webhook(&app, &su, hook).await["id"].as_str().unwrap().to_owned();
    app.post_ok(&su, "/api/collections/posts/records", json!({"title": "a"}))
        .await;
    // While the attempt waits on the receiver (2 s): running, its
    // attempt counted. (For the moment between the claim and the count
    // it shows running with none counted yet.)
    let deadline = tokio::time::Instant::now() + WAIT;
    let running = loop {
        let list = deliveries(&app, &su, &id).await;
        let counted = |d: &&Value| d["status"] == json!("running") && d["attempts"] == json!(1);
        if let Some(d) = list.first().filter(counted) {
            break d.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never seen running: {list:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(running["id"].is_i64(), "{running:#}");
    // Once it timed out: the same attempt, failed and waiting to retry,
    // no longer running (the control).
    let d = after_attempts(&app, &su, &id, 1).await;
    assert_eq!(d["status"], json!("failed"), "{d:#}");
    assert_eq!(d["attempts"], json!(1), "{d:#}");
    assert_eq!(d["id"], running["id"]);
}
