//! Prometheus metrics on their own listener (`--metrics`): a guest on the
//! API's address gets nothing, the text parses with the reference parser
//! (the official Python client's, `prometheus_client.parser`), and the
//! counts follow what the server was asked.

use std::{process::Stdio, time::Duration};

use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::helpers::{ServeProcess, spawn_serve};

/// `(name, labels, value)` of every sample in `text`, as the reference
/// parser reads it (it fails on anything the format does not allow).
async fn parse(text: &str) -> Vec<(String, serde_json::Map<String, Value>, f64)> {
    const SCRIPT: &str = "import sys, json\n\
        from prometheus_client.parser import text_string_to_metric_families as parse\n\
        out = [[s.name, s.labels, s.value] for f in parse(sys.stdin.read()) for s in f.samples]\n\
        print(json.dumps(out))";
    let mut child = tokio::process::Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .await
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("parser finished")
        .unwrap();
    assert!(
        out.status.success(),
        "the reference parser refused the text (is prometheus-client installed? tests/run.sh installs it): {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<(String, serde_json::Map<String, Value>, f64)> =
        serde_json::from_slice(&out.stdout).unwrap();
    rows
}

fn value(
    samples: &[(String, serde_json::Map<String, Value>, f64)],
    name: &str,
    labels: &[(&str, &str)],
) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).and_then(Value::as_str) == Some(*v))
        })
        .map(|(_, _, v)| *v)
}

async fn scrape(server: &ServeProcess) -> String {
    let addr = server.metrics.expect("metrics address in the banner");
    let resp = reqwest::get(format!("http://{addr}/metrics")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        resp.headers()
    );
    resp.text().await.unwrap()
}

#[tokio::test]
async fn metrics_are_private_parse_and_count_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_serve(dir.path(), &["--metrics", "127.0.0.1:0"]).await;
    let api = format!("http://{}", server.addr);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    // A guest on the API's address learns nothing.
    for path in ["/metrics", "/api/metrics", "/_/metrics"] {
        let resp = client.get(format!("{api}{path}")).send().await.unwrap();
        let body = resp.text().await.unwrap();
        assert!(!body.contains("cairn_http_requests_total"), "{path}: {body}");
    }
    assert_eq!(
        client
            .get(format!("{api}/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    for _ in 0..3 {
        assert_eq!(
            client
                .get(format!("{api}/api/health"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let missing = client
        .get(format!("{api}/api/collections/users/records/doesnotexist123"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    // Sign-in attempts until the default rate limit refuses one.
    let mut limited = 0;
    for _ in 0..30 {
        let resp = client
            .post(format!("{api}/api/collections/users/auth-with-password"))
            .json(&serde_json::json!({"identity": "nobody@example.com", "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
        if resp.status() == 429 {
            limited += 1;
        }
    }
    assert!(limited > 0, "the default rate limit refused none of 30 sign-ins");
    // A realtime client, connected while the metrics are read.
    let sse = client.get(format!("{api}/api/realtime")).send().await.unwrap();
    assert_eq!(sse.status(), 200);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let text = scrape(&server).await;
    let samples = parse(&text).await;
    let requests = "cairn_http_requests_total";
    assert_eq!(
        value(
            &samples,
            requests,
            &[("route", "/api/health"), ("method", "GET"), ("status", "200")]
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        value(
            &samples,
            requests,
            &[
                ("route", "/api/collections/{collection}/records/{id}"),
                ("status", "404")
            ]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &samples,
            requests,
            &[
                ("route", "/api/collections/{collection}/auth-with-password"),
                ("status", "429")
            ]
        ),
        Some(f64::from(limited)),
        "{text}"
    );
    // The refused sign-ins came back from the described API (nested under
    // /api) as errors: labelled by their route all the same.
    assert_eq!(
        value(
            &samples,
            requests,
            &[
                ("route", "/api/collections/{collection}/auth-with-password"),
                ("status", "400")
            ]
        ),
        Some(f64::from(30 - limited)),
        "{text}"
    );
    assert_eq!(
        value(&samples, requests, &[("route", "/metrics")]),
        None,
        "the metrics listener's own requests are not the API's"
    );
    assert_eq!(
        value(&samples, "cairn_rate_limited_requests_total", &[]),
        Some(f64::from(limited))
    );
    // No raw path or id in any label: the series stay bounded.
    assert!(!text.contains("doesnotexist123"), "{text}");
    assert!(!text.contains("nobody@example.com"), "{text}");
    assert_eq!(
        value(
            &samples,
            "cairn_http_request_duration_seconds_count",
            &[("route", "/api/health"), ("method", "GET")]
        ),
        Some(3.0)
    );
    assert_eq!(
        value(&samples, "cairn_realtime_clients", &[]),
        Some(1.0),
        "{text}"
    );
    // In flight until the answer starts: an open event stream counts as a
    // realtime client, not as a request still being served.
    assert_eq!(value(&samples, "cairn_http_requests_in_flight", &[]), Some(0.0));
    assert!(value(&samples, "cairn_db_size_bytes", &[("db", "data")]).is_some_and(|v| v > 0.0));
    assert!(value(&samples, "cairn_db_read_wait_seconds_count", &[("db", "data")]).is_some_and(|v| v > 0.0));
    assert!(value(&samples, "cairn_cache_misses_total", &[("cache", "auth_records")]).is_some());
    assert!(value(&samples, "process_resident_memory_bytes", &[]).is_some_and(|v| v > 1e6));
    assert_eq!(value(&samples, "cairn_backup_running", &[]), Some(0.0));
    drop(sse);
}

#[tokio::test]
async fn without_the_flag_no_metrics_are_served_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_serve(dir.path(), &[]).await;
    assert!(server.metrics.is_none(), "no metrics line in the banner");
    let resp = reqwest::get(format!("http://{}/metrics", server.addr))
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert!(!resp.text().await.unwrap().contains("cairn_"));
}
