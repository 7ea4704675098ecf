//! Structured logs: with `--log-format json` every line is a JSON object,
//! and every line a request logs carries its request id.

use std::time::Duration;

use crate::helpers::{run_cairn, serve_log_path, spawn_serve, spawn_serve_env};

/// The server's log, one JSON value per line, once it has exited.
async fn json_log(
    mut server: crate::helpers::ServeProcess,
    data: &std::path::Path,
) -> (String, Vec<serde_json::Value>) {
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(20)).await, 0);
    let log = std::fs::read_to_string(serve_log_path(data)).unwrap();
    let lines = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not a JSON line: {l}")))
        .collect();
    (log, lines)
}

#[tokio::test]
async fn json_access_log_lines_carry_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = spawn_serve(&data, &["--log-format", "json"]).await;
    let client = reqwest::Client::new();
    let resp = client
        .get(format!("http://{}/api/nope", server.addr))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let (log, lines) = json_log(server, &data).await;
    let access = lines
        .iter()
        .find(|l| l["span"]["request_id"] == "trace-me-42")
        .unwrap_or_else(|| panic!("no line for the request in:\n{log}"));
    assert_eq!(access["fields"]["path"], "/api/nope");
    assert_eq!(access["fields"]["status"], 404);
    assert_eq!(access["fields"]["method"], "GET");
    assert_eq!(access["fields"]["ip"], "127.0.0.1");
    assert!(access["fields"]["duration_ms"].is_string() || access["fields"]["duration_ms"].is_number());
}

#[tokio::test]
async fn every_line_a_request_logs_names_it_and_others_do_not() {
    // `--dev` logs framework rejections at debug, from inside the request.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = spawn_serve(&data, &["--log-format", "json", "--dev"]).await;
    let resp = reqwest::Client::new()
        .post(format!(
            "http://{}/api/collections/_superusers/auth-with-password",
            server.addr
        ))
        .header("x-request-id", "rejected-9")
        .header("content-type", "application/json")
        .body("{bad")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let (log, lines) = json_log(server, &data).await;
    let rejected = lines
        .iter()
        .find(|l| l["fields"]["message"] == "request rejected")
        .unwrap_or_else(|| panic!("no rejection line in:\n{log}"));
    assert_eq!(rejected["span"]["request_id"], "rejected-9", "{log}");
    assert_eq!(rejected["level"], "DEBUG");
    assert_eq!(rejected["target"], "cairn::http::error");
    assert_eq!(rejected["fields"]["status"], 400);
    // Start-up and shutdown lines belong to no request.
    let stopped = lines
        .iter()
        .find(|l| l["fields"]["message"] == "stopped")
        .unwrap_or_else(|| panic!("no shutdown line in:\n{log}"));
    assert!(stopped.get("span").is_none(), "{stopped}");
    assert!(
        lines
            .iter()
            .filter(|l| l.get("span").is_some())
            .all(|l| l["span"]["request_id"] == "rejected-9"),
        "{log}"
    );
}

#[tokio::test]
async fn the_access_line_names_the_signed_in_caller() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let (code, _, err) = run_cairn(
        &[
            "superuser",
            "upsert",
            "root@example.com",
            "longenough1",
            "--dir",
            d,
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let server = spawn_serve(&data, &["--log-format", "json"]).await;
    let client = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let auth: serde_json::Value = client
        .post(format!("{base}/api/collections/_superusers/auth-with-password"))
        .json(&serde_json::json!({"identity": "root@example.com", "password": "longenough1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = auth["token"].as_str().expect("token");
    let record_id = auth["record"]["id"].as_str().expect("id").to_owned();
    for (request_id, token) in [("signed-in-1", Some(token)), ("guest-1", None)] {
        let mut req = client
            .get(format!("{base}/api/collections/_superusers/records"))
            .header("x-request-id", request_id);
        if let Some(token) = token {
            req = req.header("authorization", token);
        }
        req.send().await.unwrap();
    }
    let (log, lines) = json_log(server, &data).await;
    let access = |request_id: &str| {
        lines
            .iter()
            .find(|l| l["span"]["request_id"] == request_id && l["fields"]["message"] == "request")
            .unwrap_or_else(|| panic!("no access line for {request_id} in:\n{log}"))
    };
    assert_eq!(access("signed-in-1")["fields"]["auth_id"], record_id.as_str());
    assert_eq!(access("signed-in-1")["fields"]["status"], 200);
    assert_eq!(access("guest-1")["fields"]["auth_id"], "");
    assert_eq!(access("guest-1")["fields"]["status"], 403);
}

#[tokio::test]
async fn rust_log_can_turn_the_access_line_off() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = [("RUST_LOG", "info,cairn::access=off")];
    let server = spawn_serve_env(&data, &["--log-format", "json"], &env).await;
    let resp = reqwest::get(format!("http://{}/api/health", server.addr))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (log, lines) = json_log(server, &data).await;
    assert!(
        lines.iter().any(|l| l["target"] == "cairn::cli"),
        "other info lines are still written:\n{log}"
    );
    assert!(
        !lines.iter().any(|l| l["target"] == "cairn::access"),
        "no access line:\n{log}"
    );
}

#[tokio::test]
async fn access_lines_reach_the_log_while_the_server_runs() {
    // They are written in batches; a batch must not wait for shutdown.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = spawn_serve(&data, &["--log-format", "json"]).await;
    let resp = reqwest::Client::new()
        .get(format!("http://{}/api/health", server.addr))
        .header("x-request-id", "while-running-7")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut log = String::new();
    while std::time::Instant::now() < deadline {
        log = std::fs::read_to_string(serve_log_path(&data)).unwrap();
        if log.contains("while-running-7") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        log.contains("while-running-7"),
        "no access line within 5 s:\n{log}"
    );
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(20)).await, 0);
}
