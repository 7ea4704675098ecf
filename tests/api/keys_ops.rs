//! The operational side of API keys: last use recorded without a write
//! per request, the secret in no log, and rate limits counted per key.

use std::time::Duration;

use cairn::settings::RateLimitRule;
use serde_json::json;

use crate::{
    helpers::{TestApp, json, serve, serve_call, serve_log_path, spawn_app, spawn_app_with},
    keys_api::{create_key, setup},
    keys_use::bearer,
};

/// `lastUsed` and `lastUsedIp` of key `id` as data.db holds them.
fn stored_use(db: &std::path::Path, id: &str) -> (String, String) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT lastUsed, lastUsedIp FROM _apiKeys WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

#[tokio::test]
async fn last_use_is_kept_in_memory_and_written_once_per_interval() {
    let app = spawn_app().await;
    let (admin, alice_id, _) = setup(&app).await;
    let (id, secret) = create_key(
        &app,
        &admin,
        json!({"name": "k", "collection": "users", "record": alice_id}),
    )
    .await;
    let key = bearer(&secret);
    let db = app.dir.path().join("data.db");
    let commits = app.state.store.data.commits();
    for _ in 0..20 {
        let resp = app
            .call("GET", "/api/collections/posts/records", Some(&key), None)
            .await;
        assert_eq!(resp.status(), 200);
    }
    assert_eq!(app.state.store.data.commits(), commits, "no write per request");
    assert_eq!(stored_use(&db, &id).0, "", "not written before the interval");
    // The API answers with the latest use all the same.
    let viewed = json(
        app.call("GET", &format!("/api/keys/{id}"), Some(&admin), None)
            .await,
    )
    .await;
    assert!(!viewed["lastUsed"].as_str().unwrap().is_empty(), "{viewed}");
    assert_eq!(viewed["lastUsedIp"], "127.0.0.1");
    // Shutting down writes what is pending.
    let dir = app.shutdown().await;
    let (when, ip) = stored_use(&dir.path().join("data.db"), &id);
    assert_eq!(when, viewed["lastUsed"].as_str().unwrap());
    assert_eq!(ip, "127.0.0.1");

    // With a short interval, the writer records it on its own, in one
    // commit for every key.
    let app = spawn_app_with(|c| c.key_usage_flush = Duration::from_millis(300)).await;
    let (admin, alice_id, _) = setup(&app).await;
    let (a, secret_a) = create_key(
        &app,
        &admin,
        json!({"name": "a", "collection": "users", "record": alice_id}),
    )
    .await;
    let (b, secret_b) = create_key(
        &app,
        &admin,
        json!({"name": "b", "collection": "users", "record": alice_id}),
    )
    .await;
    for secret in [&secret_a, &secret_b, &secret_a] {
        let resp = app
            .call(
                "GET",
                "/api/collections/posts/records",
                Some(&bearer(secret)),
                None,
            )
            .await;
        assert_eq!(resp.status(), 200);
    }
    let db = app.dir.path().join("data.db");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while stored_use(&db, &a).0.is_empty() || stored_use(&db, &b).0.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "flushed within the interval"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stored_use(&db, &b).1, "127.0.0.1");
}

#[tokio::test]
async fn the_secret_reaches_no_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // --dev: the most verbose logging there is.
    let (mut server, admin) = serve(&data, &["--log-format", "json", "--dev"]).await;
    let client = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let roots = serve_call(
        &server,
        "GET",
        "/api/collections/_superusers/records",
        Some(&admin),
        None,
    )
    .await;
    let root_id = roots["items"][0]["id"].as_str().unwrap().to_owned();
    let key = json!({"name": "logs", "collection": "_superusers", "record": root_id,
                     "scopes": [{"collection": "_superusers", "actions": ["list"]}]});
    let created = serve_call(&server, "POST", "/api/keys", Some(&admin), Some(key)).await;
    let secret = created["secret"].as_str().expect("a secret").to_owned();
    let fake = "cairn_sk_ThisIsAMadeUpKeyThatMustNotBeLoggedEither0000";
    // Answers of every kind: 200, 403 (scope and token minting), 401,
    // 400 (a bad filter), 404, and a batch.
    let requests: Vec<(&str, String, Option<serde_json::Value>, &str)> = vec![
        (
            "GET",
            "/api/collections/_superusers/records".into(),
            None,
            &secret,
        ),
        (
            "GET",
            format!("/api/collections/_superusers/records/{root_id}"),
            None,
            &secret,
        ),
        ("POST", "/api/files/token".into(), None, &secret),
        ("GET", "/api/collections/_superusers/records".into(), None, fake),
        (
            "GET",
            "/api/collections/_superusers/records?filter=((".into(),
            None,
            &secret,
        ),
        ("GET", "/api/collections/nope/records".into(), None, &secret),
        (
            "POST",
            "/api/batch".into(),
            Some(json!({"requests": [{"method": "GET", "url": "/api/collections/_superusers/records"}]})),
            &secret,
        ),
        ("GET", "/api/keys".into(), None, &secret),
    ];
    let mut statuses = Vec::new();
    for (i, (method, path, body, key)) in requests.iter().enumerate() {
        let mut req = client
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .header("authorization", format!("Bearer {key}"))
            .header("x-request-id", format!("key-log-{i}"));
        if let Some(body) = body {
            req = req.json(body);
        }
        statuses.push(req.send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [200, 403, 403, 401, 400, 404, 400, 403]);
    // The request log, as the API serves it: every request is in it
    // (positive control), the secret nowhere.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let logs = client
        .get(format!("{base}/api/logs?perPage=500"))
        .header("authorization", &admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for i in 0..requests.len() {
        assert!(
            logs.contains(&format!("key-log-{i}")),
            "request {i} logged: {logs}"
        );
    }
    // The entries name the key by id: who did what stays answerable.
    let parsed: serde_json::Value = serde_json::from_str(&logs).unwrap();
    let entry = |rid: &str| {
        parsed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["data"]["requestId"] == rid)
            .cloned()
            .unwrap()
    };
    assert_eq!(entry("key-log-0")["data"]["apiKey"], created["id"]);
    assert_eq!(entry("key-log-0")["data"]["auth"], "_superusers");
    assert!(
        entry("key-log-3")["data"].get("apiKey").is_none(),
        "the made-up key names none"
    );
    let secret_part = &secret["cairn_sk_".len()..];
    let fake_part = &fake["cairn_sk_".len()..];
    assert!(!logs.contains(secret_part), "the request log holds the key");
    assert!(!logs.contains(fake_part), "the request log holds the made-up key");
    // The server's own output.
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(20)).await, 0);
    let stderr = std::fs::read_to_string(serve_log_path(&data)).unwrap();
    assert!(stderr.contains("key-log-3"), "the log has the requests: {stderr}");
    assert!(!stderr.contains(secret_part), "stderr holds the key");
    assert!(!stderr.contains(fake_part), "stderr holds the made-up key");
    // Nor the files of the data folder.
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            let needle = secret_part.as_bytes();
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "{path:?}");
        }
    }
}

/// Turns the limiter on with `rule` alone, for every caller (loopback
/// included).
async fn limit_everyone(app: &TestApp, mut rule: RateLimitRule) {
    rule.audience = String::new();
    app.change_settings(|s| {
        s.rate_limits.excluded_ips.clear();
        s.rate_limits.enabled = true;
        s.rate_limits.rules = vec![rule];
    })
    .await;
}

#[tokio::test]
async fn each_key_counts_in_a_bucket_of_its_own() {
    let app = spawn_app().await;
    let (admin, alice_id, _) = setup(&app).await;
    limit_everyone(&app, RateLimitRule::new("*:list", 60, 2)).await;
    let key_of = |record: &'static str, collection: &'static str| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let body = json!({"name": "rl", "collection": collection, "record": record});
            bearer(&create_key(app, &admin, body).await.1)
        }
    };
    let alice = alice_id.clone();
    let one = {
        let body = json!({"name": "one", "collection": "users", "record": alice});
        bearer(&create_key(&app, &admin, body).await.1)
    };
    let two = {
        let body = json!({"name": "two", "collection": "users", "record": alice_id});
        bearer(&create_key(&app, &admin, body).await.1)
    };
    let root = key_of("root@example.com", "_superusers").await;
    let list = "/api/collections/posts/records";
    let status = |auth: Option<String>| {
        let app = &app;
        async move {
            app.call("GET", list, auth.as_deref(), None)
                .await
                .status()
                .as_u16()
        }
    };
    assert_eq!(status(Some(one.clone())).await, 200);
    assert_eq!(status(Some(one.clone())).await, 200);
    assert_eq!(
        status(Some(one.clone())).await,
        429,
        "the key's own bucket is full"
    );
    // Another key, and guests, from the same address count apart.
    assert_eq!(status(Some(two.clone())).await, 200);
    assert_eq!(status(None).await, 200);
    assert_eq!(status(None).await, 200);
    assert_eq!(status(None).await, 429);
    assert_eq!(status(Some(two.clone())).await, 200);
    assert_eq!(status(Some(two)).await, 429);
    // A superuser's key is limited; the superuser in person is not.
    assert_eq!(status(Some(root.clone())).await, 200);
    assert_eq!(status(Some(root.clone())).await, 200);
    assert_eq!(status(Some(root)).await, 429);
    for _ in 0..3 {
        assert_eq!(status(Some(admin.clone())).await, 200);
    }
}

/// A key that does not work is refused (401), but counted first as the
/// guest request it is, in its address's bucket: a flood of made-up keys
/// meets the limit like any other flood. A good key, in a bucket of its
/// own, still works from the same address.
#[tokio::test]
async fn bad_keys_count_against_their_address() {
    let app = spawn_app().await;
    let (admin, alice_id, _) = setup(&app).await;
    let good = bearer(
        &create_key(
            &app,
            &admin,
            json!({"name": "good", "collection": "users", "record": alice_id}),
        )
        .await
        .1,
    );
    let bad = bearer(&format!("cairn_sk_{}", "x".repeat(48)));
    let list = "/api/collections/posts/records";
    let status = |auth: String| {
        let app = &app;
        async move { app.call("GET", list, Some(&auth), None).await.status().as_u16() }
    };
    // The limiter off: a bad key is a 401 however often it is sent.
    for _ in 0..6 {
        assert_eq!(status(bad.clone()).await, 401);
    }
    limit_everyone(&app, RateLimitRule::new("/api/", 60, 3)).await;
    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.push(status(bad.clone()).await);
    }
    assert_eq!(seen, [401, 401, 401, 429, 429, 429]);
    // The good key counts apart and works; a guest from the address shares
    // the bad keys' bucket, which is full.
    assert_eq!(status(good).await, 200);
    assert_eq!(app.get(list).await.status(), 429);
}
