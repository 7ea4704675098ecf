//! The rate limiter classifies a request as the router resolves it: a
//! collection named percent-encoded, in another case or by id is the same
//! collection, and so the same rule and the same bucket.

use cairn::settings::RateLimitRule;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, assert_envelope, spawn_app};

/// Every way the router accepts to name the `users` collection.
const FORMS: [&str; 6] = [
    "users",
    "%75sers",
    "%75%73%65%72%73",
    "UsErS",
    "_pb_users_auth_",
    "%5Fpb_users_auth_",
];

/// The default rules' tags: (tag, endpoint under `/api/collections/{c}/`, body).
fn tagged() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "auth",
            "auth-with-password",
            // The right password: failed sign-ins back off per identity.
            json!({"identity": "a@example.com", "password": "pass-word-1"}),
        ),
        ("create", "records", json!({})),
        ("requestOTP", "request-otp", json!({"email": "a@example.com"})),
        (
            "requestPasswordReset",
            "request-password-reset",
            json!({"email": "a@example.com"}),
        ),
        (
            "confirmPasswordReset",
            "confirm-password-reset",
            json!({"token": "x", "password": "pass-word-1", "passwordConfirm": "pass-word-1"}),
        ),
        (
            "requestVerification",
            "request-verification",
            json!({"email": "a@example.com"}),
        ),
        (
            "confirmVerification",
            "confirm-verification",
            json!({"token": "x"}),
        ),
        (
            "requestEmailChange",
            "request-email-change",
            json!({"newEmail": "b@example.com"}),
        ),
        (
            "confirmEmailChange",
            "confirm-email-change",
            json!({"token": "x", "password": "pass-word-1"}),
        ),
    ]
}

/// One request per `(tag, form)` pair, each rule allowing one per minute:
/// (tag, form, status).
async fn round(app: &TestApp) -> Vec<(&'static str, &'static str, u16)> {
    let mut seen = Vec::new();
    for (tag, endpoint, body) in tagged() {
        for form in FORMS {
            let path = format!("/api/collections/{form}/{endpoint}");
            let status = app.call("POST", &path, None, Some(body.clone())).await.status();
            seen.push((tag, form, status.as_u16()));
        }
    }
    seen
}

#[tokio::test]
async fn every_limited_tag_counts_every_form_of_the_collection() {
    let app = spawn_app().await;
    app.sign_up("a@example.com", "pass-word-1").await;
    let root = app.superuser_token().await;

    // Positive control: with 127.0.0.1 excluded (the harness default),
    // every form reaches its handler, so each is a real way in.
    for (tag, form, status) in round(&app).await {
        assert!(status != 404 && status != 429, "{tag} via {form}: {status}");
    }

    app.change_settings(|s| {
        s.rate_limits.excluded_ips.clear();
        s.rate_limits.rules = tagged()
            .into_iter()
            .map(|(tag, _, _)| RateLimitRule::new(&format!("*:{tag}"), 60, 1))
            .collect();
    })
    .await;
    // The plain name takes each rule's one request; every other form
    // must then find the same bucket full.
    for (tag, form, status) in round(&app).await {
        if form == "users" {
            assert_ne!(status, 429, "{tag}: the first request is allowed");
        } else {
            assert_eq!(status, 429, "{tag} via {form} escaped the limit");
        }
    }

    // A superuser is still never limited, whatever the form.
    let resp = app
        .call(
            "POST",
            "/api/collections/%75sers/records",
            Some(&root),
            Some(json!({})),
        )
        .await;
    assert_eq!(resp.status(), 400, "validation, not 429");
}

#[tokio::test]
async fn path_labels_see_the_collection_by_its_name() {
    let app = spawn_app().await;
    app.change_settings(|s| {
        s.rate_limits.excluded_ips.clear();
        s.rate_limits.rules = vec![RateLimitRule::new("GET /api/collections/users/records", 60, 1)];
    })
    .await;
    let list = |form: &'static str| {
        let app = &app;
        async move {
            app.get(&format!("/api/collections/{form}/records"))
                .await
                .status()
                .as_u16()
        }
    };
    assert_eq!(list("users").await, 200);
    for form in FORMS.into_iter().skip(1) {
        assert_eq!(list(form).await, 429, "{form}");
    }
    // Another collection is not covered by the label.
    assert_eq!(
        app.get("/api/collections/_superusers/records").await.status(),
        403
    );
}

/// Sends a request line as given (no client-side path clean-up) and
/// returns the status.
async fn raw_status(app: &TestApp, method: &str, path: &str) -> u16 {
    let mut conn = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    );
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer);
    text.split(' ').nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn paths_the_router_does_not_resolve_reach_no_handler() {
    // Shapes a limiter could misread: the router answers 404 to each, or
    // the edge redirects it to its clean path (`http_clients.rs`), so
    // none is a way around a rule: the request the redirect leads to is
    // judged as any other. With limits lifted, so a 404 is the router's
    // answer and not a refusal.
    let app = spawn_app().await;
    for path in [
        "/api/collections/users/auth-with-password/",
        "/api/collections/users/auth-with-p%61ssword",
        "/api/%62atch",
        "/api/batch/",
        "/API/batch",
    ] {
        assert_eq!(raw_status(&app, "POST", path).await, 404, "{path}");
    }
    for path in [
        "/api//collections/users/auth-with-password",
        "/api/collections//users/auth-with-password",
        "/api/collections/users//auth-with-password",
        "/api/collections/users/records/../auth-with-password",
        "/api/collections/users/./auth-with-password",
    ] {
        assert_eq!(raw_status(&app, "POST", path).await, 307, "{path}");
    }
    // Positive control: the plain paths do reach their handlers.
    assert_eq!(
        raw_status(&app, "POST", "/api/collections/users/auth-with-password").await,
        400
    );
    assert_envelope(app.call("POST", "/api/batch", None, Some(json!({}))).await, 400).await;
}
