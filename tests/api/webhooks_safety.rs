//! `/api/webhooks` is for superusers, checks what it saves (filters in
//! place, events, secrets, URLs), and the SSRF guard: private targets are
//! refused at save time (literal addresses) and at delivery (a name that
//! resolves to loopback), unless the operator allowed them; redirects are
//! not followed; a huge answer is read only up to the bound. A webhook
//! failing for `disable_after` is disabled, with a warning in the log.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    helpers::{assert_envelope, json},
    webhooks_receiver::{after_attempts, settled, setup, setup_with, webhook},
};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn only_superusers_manage_webhooks() {
    let (app, su, rx) = setup().await;
    let hook = webhook(
        &app,
        &su,
        json!({"collection": "posts", "events": ["create"], "url": rx.url("/ok")}),
    )
    .await;
    let id = hook["id"].as_str().unwrap();
    let (_, user) = app.sign_up("user@example.com", "pass-12345").await;
    let body = json!({"collection": "posts", "events": ["create"], "url": rx.url("/ok")});
    let routes: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", "/api/webhooks".into(), None),
        ("POST", "/api/webhooks".into(), Some(body)),
        ("GET", format!("/api/webhooks/{id}"), None),
        ("GET", format!("/api/webhooks/{id}/secret"), None),
        (
            "PATCH",
            format!("/api/webhooks/{id}"),
            Some(json!({"enabled": false})),
        ),
        (
            "PATCH",
            format!("/api/webhooks/{id}"),
            Some(json!({"secret": "", "previousSecretHours": 24})),
        ),
        ("GET", format!("/api/webhooks/{id}/deliveries"), None),
        ("POST", format!("/api/webhooks/{id}/deliveries/1/redeliver"), None),
        ("DELETE", format!("/api/webhooks/{id}"), None),
    ];
    for (method, path, body) in &routes {
        let guest = app.call(method, path, None, body.clone()).await;
        assert_eq!(guest.status(), 401, "{method} {path} as a guest");
        let as_user = app.call(method, path, Some(&user), body.clone()).await;
        assert_eq!(as_user.status(), 403, "{method} {path} as a user");
    }
    // Their rotations changed nothing: the first secret alone signs.
    let secret_path = format!("/api/webhooks/{id}/secret");
    let kept = json(app.call("GET", &secret_path, Some(&su), None).await).await;
    assert_eq!(kept, json!({"secret": hook["secret"]}), "{kept:#}");
    // The positive control: the superuser reaches every one of them.
    for (method, path, body) in &routes {
        let resp = app.call(method, path, Some(&su), body.clone()).await;
        let status = resp.status().as_u16();
        let expected: &[u16] = if path.ends_with("redeliver") {
            &[404]
        } else {
            &[200, 204]
        };
        assert!(
            expected.contains(&status),
            "{method} {path} as the superuser: {status}"
        );
    }
    // Lists and views show a hint of the secret, never the secret.
    let list = json(app.call("GET", "/api/webhooks", Some(&su), None).await).await;
    let first = &list.as_array().unwrap()[0];
    assert!(first.get("secret").is_none(), "{first:#}");
    assert!(first["secretHint"].as_str().unwrap().starts_with("whsec_"));
    let secret = json(
        app.call(
            "GET",
            &format!("/api/webhooks/{}/secret", first["id"].as_str().unwrap()),
            Some(&su),
            None,
        )
        .await,
    )
    .await;
    assert!(secret["secret"].as_str().unwrap().starts_with("whsec_"));
    assert!(cairn::webhooks::sign::key_of(secret["secret"].as_str().unwrap()).is_some());
}

#[tokio::test]
async fn what_is_saved_is_checked() {
    let (app, su, rx) = setup().await;
    let base = json!({"collection": "posts", "events": ["create"], "url": rx.url("/ok")});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("filter", json!("n >")), "filter", "validation_invalid_rule"),
        (
            with("filter", json!("nosuchfield = 1")),
            "filter",
            "validation_invalid_rule",
        ),
        (
            with("events", json!(["create", "explode"])),
            "events",
            "validation_invalid_event",
        ),
        (with("events", json!([])), "events", "validation_required"),
        (
            with("events", json!(["auth.signin"])),
            "events",
            "validation_invalid_event",
        ),
        (
            with("collection", json!("nosuch")),
            "collection",
            "validation_missing_collection",
        ),
        (
            with("secret", json!("whsec_short")),
            "secret",
            "validation_invalid_secret",
        ),
        (
            with("url", json!("ftp://example.com/")),
            "url",
            "validation_invalid_url",
        ),
        (with("url", json!("")), "url", "validation_required"),
    ];
    for (body, field, code) in cases {
        let resp = app
            .call("POST", "/api/webhooks", Some(&su), Some(body.clone()))
            .await;
        let err = assert_envelope(resp, 400).await;
        assert_eq!(err["data"][field]["code"], json!(code), "{body}: {err:#}");
    }
    // The positive controls: each of those, fixed, is accepted.
    for body in [
        with("filter", json!("n > 5 && title ~ 'x'")),
        with("events", json!(["create", "update", "delete"])),
        with("collection", json!("*")),
        json!({"collection": "users", "events": ["auth.signin", "auth.signup"], "url": rx.url("/ok")}),
        with("secret", json!(cairn::webhooks::sign::generate_secret())),
    ] {
        let resp = app
            .call("POST", "/api/webhooks", Some(&su), Some(body.clone()))
            .await;
        assert_eq!(resp.status(), 200, "{body}");
    }
    // A change is checked the same way, and an unchanged field stays.
    let hook = webhook(&app, &su, base.clone()).await;
    let path = format!("/api/webhooks/{}", hook["id"].as_str().unwrap());
    let err = assert_envelope(
        app.call("PATCH", &path, Some(&su), Some(json!({"filter": "n >"})))
            .await,
        400,
    )
    .await;
    assert_eq!(err["data"]["filter"]["code"], json!("validation_invalid_rule"));
    let changed = json(
        app.call("PATCH", &path, Some(&su), Some(json!({"filter": "n > 1"})))
            .await,
    )
    .await;
    assert_eq!(changed["filter"], json!("n > 1"));
    assert_eq!(changed["url"], hook["url"]);
    assert!(
        changed.get("secret").is_none(),
        "the secret did not change: not shown"
    );
}

#[tokio::test]
async fn private_targets_are_refused_unless_allowed() {
    let (app, su, rx) = setup_with(|c| c.webhooks.allow_private = false).await;
    for url in [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://127.0.0.1:9/",
        "http://[::ffff:192.168.0.1]/",
        "http://0x7f000001/",
    ] {
        let body = json!({"collection": "posts", "events": ["create"], "url": url});
        let err = assert_envelope(
            app.call("POST", "/api/webhooks", Some(&su), Some(body)).await,
            400,
        )
        .await;
        assert_eq!(
            err["data"]["url"]["code"],
            json!("validation_private_target"),
            "{url}: {err:#}"
        );
        // It says how to allow such a target.
        let message = err["data"]["url"]["message"].as_str().unwrap();
        assert!(message.contains("--webhooks-allow-private"), "{message}");
    }
    // A public address is accepted (disabled: nothing is sent anywhere).
    let body = json!({"collection": "posts", "events": ["create"], "url": "https://93.184.216.34/hook", "enabled": false});
    assert_eq!(
        app.call("POST", "/api/webhooks", Some(&su), Some(body))
            .await
            .status(),
        200
    );

    // A name is resolved at delivery: `localhost` is loopback, refused there.
    let port = rx.port;
    let hook = webhook(
        &app,
        &su,
        json!({"collection": "posts", "events": ["create"], "url": format!("http://localhost:{port}/ok"), "secret": rx.secret}),
    )
    .await;
    app.post_ok(&su, "/api/collections/posts/records", json!({"title": "a"}))
        .await;
    let id = hook["id"].as_str().unwrap();
    let failed = after_attempts(&app, &su, id, 1).await;
    assert!(
        failed["lastError"]
            .as_str()
            .unwrap()
            .contains("private, loopback"),
        "{failed:#}"
    );
    assert!(rx.log().await.is_empty(), "nothing reached the receiver");

    // The positive control: the same webhook where loopback is allowed.
    let (app2, su2, rx2) = setup().await;
    webhook(
        &app2,
        &su2,
        json!({"collection": "posts", "events": ["create"], "url": format!("http://localhost:{}/ok", rx2.port), "secret": rx2.secret}),
    )
    .await;
    app2.post_ok(&su2, "/api/collections/posts/records", json!({"title": "a"}))
        .await;
    let log = rx2.wait_for(1, WAIT).await;
    assert_eq!(log[0]["verified"], json!(true));
}

#[tokio::test]
async fn redirects_are_not_followed_and_answers_are_bounded() {
    let (app, su, rx) = setup().await;
    let redirect = webhook(&app, &su, rx.on_create("/redirect")).await;
    let big = webhook(&app, &su, rx.on_create("/big")).await;
    app.post_ok(&su, "/api/collections/posts/records", json!({"title": "a"}))
        .await;
    let failed = after_attempts(&app, &su, redirect["id"].as_str().unwrap(), 1).await;
    assert!(
        failed["lastError"].as_str().unwrap().contains("302"),
        "{failed:#}"
    );
    assert_eq!(failed["result"]["status"], json!(302));

    let done = settled(&app, &su, big["id"].as_str().unwrap(), 1, WAIT).await;
    let result = &done[0]["result"];
    assert_eq!(done[0]["status"], json!("done"), "{done:#?}");
    // 10 MiB, sent slowly after the first MiB: read only up to the bound,
    // so the attempt ends long before the body would.
    assert!(result["ms"].as_u64().unwrap() < 4000, "{result:#}");
    assert_eq!(result["response"].as_str().unwrap().len(), 1024);

    tokio::time::sleep(Duration::from_millis(500)).await;
    let paths: Vec<Value> = rx.log().await.iter().map(|e| e["path"].clone()).collect();
    assert!(paths.contains(&json!("/redirect")), "{paths:?}");
    assert!(
        !paths.contains(&json!("/landed")),
        "the redirect was followed: {paths:?}"
    );
}

#[tokio::test]
async fn a_webhook_failing_too_long_is_disabled_and_a_superuser_told() {
    let (app, su, rx) = setup_with(|c| c.webhooks.disable_after = Duration::from_millis(800)).await;
    let failing = webhook(&app, &su, rx.on_create("/fail/1000")).await;
    let healthy = webhook(&app, &su, rx.on_create("/ok")).await;
    let path = format!("/api/webhooks/{}", failing["id"].as_str().unwrap());
    app.post_ok(&su, "/api/collections/posts/records", json!({"title": "a"}))
        .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut saw_failing = false;
    let state = loop {
        let h = json(app.call("GET", &path, Some(&su), None).await).await;
        saw_failing |= h["state"] == json!("failing");
        if h["state"] == json!("disabledAfterFailures") {
            break h;
        }
        assert!(tokio::time::Instant::now() < deadline, "not disabled: {h:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(saw_failing, "a failing webhook shows as failing first");
    assert_eq!(state["enabled"], json!(false));
    assert!(!state["disabledReason"].as_str().unwrap().is_empty());
    // The healthy one stays.
    let h = json(
        app.call(
            "GET",
            &format!("/api/webhooks/{}", healthy["id"].as_str().unwrap()),
            Some(&su),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(h["state"], json!("enabled"));
    // Disabled, it hears nothing more.
    let before = rx
        .log()
        .await
        .iter()
        .filter(|e| e["path"] == json!("/fail/1000"))
        .count();
    app.post_ok(&su, "/api/collections/posts/records", json!({"title": "b"}))
        .await;
    rx.wait_for(before + 2, WAIT).await; // the healthy webhook's two
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rx
        .log()
        .await
        .iter()
        .filter(|e| e["path"] == json!("/fail/1000"))
        .count();
    assert_eq!(before, after);
    // The warning is in the request log, naming the receiver's host but
    // neither its path (hook URLs carry credentials there) nor the secret.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let logs = json(app.call("GET", "/api/logs?perPage=200", Some(&su), None).await).await;
        let found = logs["items"].as_array().unwrap().iter().find(|l| {
            l["message"].as_str().unwrap_or("").contains("webhook") && l["level"].as_i64() == Some(4)
        });
        if let Some(warning) = found {
            assert!(
                warning.to_string().contains("127.0.0.1"),
                "the host is named: {warning:#}"
            );
            let text = logs.to_string();
            assert!(!text.contains("/fail/1000"), "{logs:#}");
            assert!(!text.contains(&rx.secret), "{logs:#}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no warning in the log: {logs:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Enabled again by a superuser: a fresh start.
    let again = json(
        app.call("PATCH", &path, Some(&su), Some(json!({"enabled": true})))
            .await,
    )
    .await;
    assert_eq!(again["state"], json!("enabled"), "{again:#}");
}
