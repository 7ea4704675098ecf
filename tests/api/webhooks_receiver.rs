//! The webhook tests' receiver: tests/webhooks/receiver.py, a small
//! Python server that verifies every request with the `standardwebhooks`
//! library from PyPI (the spec's own, independent of Cairn) and keeps what
//! it got; and the set-up every webhook test shares.

use std::{process::Stdio, time::Duration};

use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

use crate::helpers::{TestApp, json, spawn_app_with};

pub struct Receiver {
    _child: Child,
    pub port: u16,
    pub secret: String,
    client: reqwest::Client,
}

impl Receiver {
    /// Starts a receiver that verifies with `secret`.
    pub async fn start(secret: &str) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/webhooks/receiver.py");
        let mut child = Command::new("python3")
            .args([script, "--secret", secret])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the receiver started")
            .unwrap();
        let Some(port) = first.as_deref().and_then(|l| l.strip_prefix("PORT ")) else {
            let mut err = String::new();
            let mut stderr = BufReader::new(child.stderr.take().unwrap());
            let _ = tokio::time::timeout(
                Duration::from_secs(2),
                tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut err),
            )
            .await;
            panic!(
                "the receiver did not start (is standardwebhooks installed? tests/run.sh installs it): {err}"
            );
        };
        Self {
            port: port.trim().parse().unwrap(),
            _child: child,
            secret: secret.to_owned(),
            client: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// A webhook's body: `posts` creates, sent to `path` here, signed with
    /// this receiver's secret.
    pub fn on_create(&self, path: &str) -> Value {
        json!({"collection": "posts", "events": ["create"], "url": self.url(path), "secret": self.secret})
    }

    /// Every request received, in order of arrival.
    pub async fn log(&self) -> Vec<Value> {
        let resp = self.client.get(self.url("/_log")).send().await.unwrap();
        json(resp).await.as_array().unwrap().clone()
    }

    /// The requests received once there are at least `n` (within `limit`).
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let log = self.log().await;
            if log.len() >= n {
                return log;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {n} requests, got {}: {log:#?}",
                log.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Lets held requests (`/hold/N`) answer.
    pub async fn release(&self) {
        self.client.post(self.url("/_release")).send().await.unwrap();
    }

    /// Verifies every later request with `secret` too: its index in an
    /// entry's `verifiedWith` is 1 for the first one added, and so on.
    pub async fn add_secret(&self, secret: &str) {
        let resp = self
            .client
            .post(self.url("/_secret"))
            .body(secret.to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
}

/// A receiver that accepts connections and never reads nor answers: every
/// attempt to it can only end by the sender's timeout.
pub struct Silent {
    pub port: u16,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Silent {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                held.push(socket);
            }
        });
        Self { port, accepted, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An app that lets webhooks reach loopback, retries after 200 ms, with
/// collection `posts` (`title`, `n`, hidden `note`), a superuser token, and
/// a receiver.
pub async fn setup() -> (TestApp, String, Receiver) {
    setup_with(|_| {}).await
}

pub async fn setup_with(tweak: impl FnOnce(&mut cairn::Config)) -> (TestApp, String, Receiver) {
    let app = spawn_app_with(|c| {
        c.webhooks.allow_private = true;
        c.jobs.retry_base = Duration::from_millis(200);
        c.jobs.retry_cap = Duration::from_millis(400);
        tweak(c);
    })
    .await;
    let su = app.superuser_token().await;
    create_posts(&app, &su).await;
    let receiver = Receiver::start(&cairn::webhooks::sign::generate_secret()).await;
    (app, su, receiver)
}

pub async fn create_posts(app: &TestApp, su: &str) {
    app.post_ok(
        su,
        "/api/collections",
        json!({
            "name": "posts",
            "type": "base",
            "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "n", "type": "number"},
                {"name": "note", "type": "text", "hidden": true}
            ]
        }),
    )
    .await;
}

/// Creates a webhook (answers 200) and returns it.
pub async fn webhook(app: &TestApp, su: &str, body: Value) -> Value {
    app.post_ok(su, "/api/webhooks", body).await
}

/// The deliveries log of webhook `id`.
pub async fn deliveries(app: &TestApp, su: &str, id: &str) -> Vec<Value> {
    let resp = app
        .call("GET", &format!("/api/webhooks/{id}/deliveries"), Some(su), None)
        .await;
    assert_eq!(resp.status(), 200);
    json(resp).await.as_array().unwrap().clone()
}

/// Whether delivery `d` has had `n` attempts end: an attempt counts from
/// its start, so not while it runs.
pub fn attempts_ended(d: &Value, n: u64) -> bool {
    d["attempts"].as_u64().unwrap_or(0) >= n && d["status"] != json!("running")
}

/// The newest delivery of webhook `id` once `n` of its attempts have
/// ended (within 20 s).
pub async fn after_attempts(app: &TestApp, su: &str, id: &str, n: u64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let list = deliveries(app, su, id).await;
        if let Some(d) = list.first().filter(|d| attempts_ended(d, n)) {
            return d.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not {n} attempts ended: {list:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until every delivery of webhook `id` is finished (done or dead)
/// and there are at least `n`; returns them, newest first.
pub async fn settled(app: &TestApp, su: &str, id: &str, n: usize, limit: Duration) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let list = deliveries(app, su, id).await;
        let finished = list
            .iter()
            .all(|d| matches!(d["status"].as_str(), Some("done" | "dead")));
        if list.len() >= n && finished {
            return list;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "deliveries did not settle: {list:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
