//! Behind a reverse proxy on the same host every request comes from
//! 127.0.0.1; the proxy's forwarding header names the client. Loopback
//! proxies are believed by default, so each client has its own rate-limit
//! bucket, and the one resolved address is what sessions, logs and the
//! superuser's health answer show. A peer that is not a trusted proxy
//! cannot leave its bucket by sending the header.

use std::time::Duration;

use cairn::settings::Network;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json, serve_log_path, spawn_app, spawn_serve};

const PASSWORD: &str = "pass-word-1";

/// A password sign-in as the proxy forwards it, with `headers` added.
async fn sign_in_via(app: &TestApp, email: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/api/collections/users/auth-with-password"))
        .json(&json!({"identity": email, "password": PASSWORD}));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

/// Shipped rate limits (`*:auth`: 2 per 3 s per client), nothing excluded.
async fn default_limits(app: &TestApp) {
    app.change_settings(|s| s.rate_limits = Default::default()).await;
}

#[tokio::test]
async fn clients_behind_a_loopback_proxy_get_their_own_buckets() {
    let app = spawn_app().await;
    app.sign_up("a@example.com", PASSWORD).await;
    app.sign_up("b@example.com", PASSWORD).await;
    default_limits(&app).await;

    let alice = [("x-forwarded-for", "203.0.113.1")];
    let bob = [("x-forwarded-for", "203.0.113.2")];
    assert_eq!(sign_in_via(&app, "a@example.com", &alice).await.status(), 200);
    assert_eq!(sign_in_via(&app, "a@example.com", &alice).await.status(), 200);
    assert_eq!(sign_in_via(&app, "a@example.com", &alice).await.status(), 429);
    // Bob, through the same proxy, is not held back by Alice.
    assert_eq!(sign_in_via(&app, "b@example.com", &bob).await.status(), 200);
    // nginx appends the peer it saw: what the client wrote to the left
    // of it changes nothing.
    for fake in ["198.51.100.1", "198.51.100.2"] {
        let appended = format!("{fake}, 203.0.113.1");
        let resp = sign_in_via(&app, "a@example.com", &[("x-forwarded-for", &appended)]).await;
        assert_eq!(resp.status(), 429, "{appended}");
    }
    // Nor does another header the client adds.
    let resp = sign_in_via(
        &app,
        "a@example.com",
        &[("x-real-ip", "198.51.100.3"), ("x-forwarded-for", "203.0.113.1")],
    )
    .await;
    assert_eq!(resp.status(), 429);
}

#[tokio::test]
async fn a_peer_that_is_not_a_trusted_proxy_keeps_its_bucket() {
    let app = spawn_app().await;
    app.sign_up("a@example.com", PASSWORD).await;
    default_limits(&app).await;
    // The proxy is elsewhere: 127.0.0.1 is now a direct client.
    app.change_settings(|s| s.trusted_proxy.networks = vec!["10.0.0.0/8".parse::<Network>().unwrap()])
        .await;
    let mut statuses = Vec::new();
    for fake in ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"] {
        let headers = [
            ("x-forwarded-for", fake),
            ("x-real-ip", fake),
            ("forwarded", "for=198.51.100.9"),
        ];
        statuses.push(
            sign_in_via(&app, "a@example.com", &headers)
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [200, 200, 429, 429]);

    // Positive control: once 127.0.0.1 is a trusted proxy again, the same
    // header does name a client (a fresh bucket).
    app.change_settings(|s| s.trusted_proxy = Default::default())
        .await;
    let resp = sign_in_via(&app, "a@example.com", &[("x-forwarded-for", "203.0.113.5")]).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn sessions_and_health_show_the_resolved_address() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    app.sign_up("a@example.com", PASSWORD).await;
    let proxied = [("x-forwarded-for", "203.0.113.7")];
    let session = json(sign_in_via(&app, "a@example.com", &proxied).await).await;
    let token = session["token"].as_str().unwrap();
    let list = json(app.call("GET", "/api/sessions", Some(token), None).await).await;
    let current = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()
        .clone();
    assert_eq!(current["ip"], "203.0.113.7", "{current}");

    let health = |headers: &'static [(&'static str, &'static str)], auth: Option<String>| {
        let app = &app;
        async move {
            let mut req = app.client.get(app.url("/api/health"));
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if let Some(auth) = auth {
                req = req.header("authorization", auth);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 200);
            json(resp).await["data"].clone()
        }
    };
    let via_proxy: &[(&str, &str)] = &[("x-forwarded-for", "203.0.113.8")];
    assert_eq!(
        health(via_proxy, Some(root.clone())).await,
        json!({"canBackup": true, "realIP": "203.0.113.8", "possibleProxyHeader": ""})
    );
    // Guests and other records see nothing.
    assert_eq!(health(via_proxy, None).await, json!({}));
    assert_eq!(health(via_proxy, Some(token.to_owned())).await, json!({}));

    // From a peer that is not trusted, the header is reported, not used.
    app.change_settings(|s| s.trusted_proxy.networks = vec![]).await;
    assert_eq!(
        health(via_proxy, Some(root.clone())).await,
        json!({"canBackup": true, "realIP": "127.0.0.1", "possibleProxyHeader": "X-Forwarded-For"})
    );
    assert_eq!(
        health(&[], Some(root)).await,
        json!({"canBackup": true, "realIP": "127.0.0.1", "possibleProxyHeader": ""})
    );
}

#[tokio::test]
async fn the_access_log_shows_the_forwarded_client() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = spawn_serve(&data, &["--log-format", "json"]).await;
    let resp = reqwest::Client::new()
        .get(format!("http://{}/api/health", server.addr))
        .header("x-forwarded-for", "203.0.113.9")
        .header("x-request-id", "proxied-1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Only the log matters here, not how the server ends (a TERM that
    // comes before its handler is installed ends it at once).
    server.signal("TERM");
    server.wait_exit(Duration::from_secs(20)).await;
    let log = std::fs::read_to_string(serve_log_path(&data)).unwrap();
    let line: Value = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["span"]["request_id"] == "proxied-1")
        .unwrap_or_else(|| panic!("no access line in:\n{log}"));
    assert_eq!(line["fields"]["ip"], "203.0.113.9");
}
