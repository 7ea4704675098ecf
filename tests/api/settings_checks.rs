//! A settings change is checked field by field before it is saved, in
//! PocketBase's codes, so a client can point at the value that is wrong:
//! a negative count or a word where a number goes, an application with no
//! name, mail on with no server, a rate limit rule that cannot match or
//! that another rule already claims, a feature switched on without what it
//! needs (S3 without a bucket, a batch of at most 0 requests, rate limits
//! with no rule). A refused change saves nothing.

use serde_json::{Value, json};

use crate::{
    differential::start_both,
    helpers::{error_codes, spawn_app},
};

const RULE: fn(&str, i64, i64, &str) -> Value = |label, max, duration, audience| json!({"label": label, "maxRequests": max, "duration": duration, "audience": audience});

fn bad_changes() -> Vec<Value> {
    vec![
        json!({"rateLimits": {"rules": [RULE("", 10, 3, "")]}}),
        json!({"rateLimits": {"rules": [RULE("not a label!!", 10, 3, "")]}}),
        json!({"rateLimits": {"rules": [RULE("api/x", 10, 3, "")]}}),
        json!({"rateLimits": {"rules": [RULE("users:*", 10, 3, "")]}}),
        json!({"rateLimits": {"rules": [RULE("/api/", 0, 3, "")]}}),
        json!({"rateLimits": {"rules": [RULE("/api/", 10, 0, "")]}}),
        json!({"rateLimits": {"rules": [RULE("/api/", -5, 3, "")]}}),
        json!({"rateLimits": {"rules": [RULE("/api/", 10, 3, "@nobody")]}}),
        json!({"rateLimits": {"rules": [RULE("/api/", 10, 3, ""), RULE("/api/", 5, 3, "")]}}),
        json!({"rateLimits": {"rules": [RULE("/api/", 10, 3, "@guest"), RULE("/api/", 5, 3, "")]}}),
        json!({"rateLimits": {"rules": [RULE("/api/", 10, 3, "@guest"), RULE("/api/", 5, 3, "@guest")]}}),
        json!({"rateLimits": {"excludedIPs": ["10.0.0.1", "bad"]}}),
        json!({"batch": {"maxRequests": -1}}),
        json!({"batch": {"maxBodySize": -1}}),
        json!({"logs": {"maxDays": -1}}),
        json!({"logs": {"maxDataSize": -1}}),
        json!({"meta": {"appName": "", "appURL": "not a url"}}),
        json!({"meta": {"appURL": ""}}),
        json!({"meta": {"senderName": ""}}),
        json!({"meta": {"senderAddress": "bad"}}),
        json!({"smtp": {"enabled": true, "host": "", "port": 0}}),
        // A feature switched on without what it needs, and values that
        // wait to break one: PocketBase refuses each, Cairn saved them.
        json!({"meta": {"appName": "x".repeat(256)}}),
        json!({"meta": {"appName": "é".repeat(128)}}),
        json!({"smtp": {"authMethod": "login"}}),
        json!({"smtp": {"enabled": true, "host": "h", "port": 25, "authMethod": "nope"}}),
        json!({"smtp": {"localName": "bad name!"}}),
        json!({"s3": {"enabled": true}}),
        json!({"s3": {"enabled": true, "bucket": "b", "region": "r", "endpoint": "not a url", "accessKey": "a", "secret": "s"}}),
        json!({"backups": {"s3": {"enabled": true, "bucket": "b"}}}),
        json!({"backups": {"cronMaxKeep": -1}}),
        json!({"backups": {"cron": "0 0 * * *", "cronMaxKeep": 0}}),
        json!({"batch": {"enabled": true, "maxRequests": 0, "timeout": 0}}),
        json!({"batch": {"enabled": true, "timeout": 0}}),
        json!({"rateLimits": {"enabled": true, "rules": []}}),
        json!({"rateLimits": {"rules": [{"label": "/api/"}]}}),
    ]
}

fn good_changes() -> Vec<Value> {
    vec![
        json!({"rateLimits": {"rules": [
            RULE("/api/", 10, 3, "@guest"), RULE("/api/", 5, 3, "@auth"), RULE("GET /api/", 5, 3, ""),
            RULE("POST /api/x", 1, 1, ""), RULE("*:create", 1, 1, ""), RULE("users:auth", 1, 1, ""), RULE("/", 1, 1, "")]}}),
        json!({"rateLimits": {"excludedIPs": ["10.0.0.0/8", "::1"]}}),
        json!({"batch": {"enabled": false, "maxRequests": 0, "timeout": 0}}),
        json!({"meta": {"appURL": "https://example.com/app"}}),
        json!({"meta": {"appName": "x".repeat(255)}}),
        json!({"meta": {"appURL": "localhost:8090"}}),
        json!({"smtp": {"authMethod": "LOGIN", "localName": "mail_1.example.com"}}),
        json!({"backups": {"cron": "", "cronMaxKeep": 0}}),
        json!({"rateLimits": {"enabled": false, "rules": []}}),
    ]
}

#[tokio::test]
async fn a_bad_change_is_refused_field_by_field_and_saves_nothing() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    let before = crate::helpers::json(app.call("GET", "/api/settings", Some(&su), None).await).await;
    for change in bad_changes() {
        let resp = app
            .call("PATCH", "/api/settings", Some(&su), Some(change.clone()))
            .await;
        assert_eq!(resp.status(), 400, "{change}");
        let body = crate::helpers::json(resp).await;
        assert!(
            body["data"].as_object().is_some_and(|d| !d.is_empty()),
            "{change}: a field is named: {body}"
        );
        let now = crate::helpers::json(app.call("GET", "/api/settings", Some(&su), None).await).await;
        assert_eq!(now, before, "{change} saved nothing");
    }
    // A negative count is named at its path, in words, not serde's.
    let resp = app
        .call(
            "PATCH",
            "/api/settings",
            Some(&su),
            Some(json!({"batch": {"timeout": "soon"}})),
        )
        .await;
    let body = crate::helpers::json(resp).await;
    assert_eq!(
        body["data"]["batch"]["timeout"]["message"], "Must be a whole number.",
        "{body}"
    );
    // Positive controls: each good change saves.
    for change in good_changes() {
        let resp = app
            .call("PATCH", "/api/settings", Some(&su), Some(change.clone()))
            .await;
        assert_eq!(resp.status(), 200, "{change}: {}", resp.text().await.unwrap());
    }
    // A user and a guest change nothing, good or bad.
    let (_, user) = app.sign_up("settings@example.com", "user-pass-123").await;
    let change = json!({"meta": {"appName": "Mine"}});
    assert_eq!(
        app.call("PATCH", "/api/settings", Some(&user), Some(change.clone()))
            .await
            .status(),
        403
    );
    assert_eq!(
        app.call("PATCH", "/api/settings", None, Some(change))
            .await
            .status(),
        401
    );
    let now = crate::helpers::json(app.call("GET", "/api/settings", Some(&su), None).await).await;
    assert_ne!(now["meta"]["appName"], "Mine");
}

/// An excluded network is not limited; an address outside it is.
#[tokio::test]
async fn an_excluded_network_is_not_limited() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    let limit = |excluded: Value| json!({"rateLimits": {"enabled": true, "excludedIPs": excluded, "rules": [RULE("/api/health", 1, 60, "")]}});
    let burst = || async {
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(app.call("GET", "/api/health", None, None).await.status().as_u16());
        }
        statuses
    };
    let resp = app
        .call(
            "PATCH",
            "/api/settings",
            Some(&su),
            Some(limit(json!(["127.0.0.0/8"]))),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(burst().await, [200, 200, 200], "loopback is in 127.0.0.0/8");
    let resp = app
        .call(
            "PATCH",
            "/api/settings",
            Some(&su),
            Some(limit(json!(["10.0.0.0/8"]))),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert!(burst().await.contains(&429), "loopback is not in 10.0.0.0/8");
}

#[tokio::test]
async fn settings_errors_agree_with_pocketbase() {
    let Some(both) = start_both().await else {
        return;
    };
    let mut disagreements = Vec::new();
    for change in bad_changes().into_iter().chain(good_changes()) {
        let mut answers = Vec::new();
        for s in [&both.pb, &both.cairn] {
            let (status, body) = s
                .call("PATCH", "/api/settings", Some(&s.superuser), Some(change.clone()))
                .await;
            answers.push((
                status,
                if status == 200 {
                    Value::Null
                } else {
                    error_codes(&body["data"])
                },
            ));
        }
        if answers[0] != answers[1] {
            disagreements.push(format!(
                "{change}: PocketBase {:?} Cairn {:?}",
                answers[0], answers[1]
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
