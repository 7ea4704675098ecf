//! `POST /api/settings/test/email`: a sample of an auth collection's mail
//! template, sent with the live mail settings; superusers only, refusals
//! in PocketBase's words (checked against PocketBase 0.40.6 by hand: the
//! same codes and messages for a blank body, a bad address, an unknown
//! template and a collection that is not an auth collection).

use std::time::Duration;

use serde_json::json;
use tokio::net::TcpListener;

use crate::{
    helpers::{assert_envelope, json, spawn_app},
    mail::{smtp_sink, use_smtp},
};

const PATH: &str = "/api/settings/test/email";

#[tokio::test]
async fn only_superusers_may_send_a_test_email() {
    let app = spawn_app().await;
    let body = json!({"email": "to@example.com", "template": "otp"});
    assert_envelope(app.call("POST", PATH, None, Some(body.clone())).await, 401).await;
    let (_, user) = app.sign_up("user@example.com", "pass-word-1").await;
    assert_envelope(app.call("POST", PATH, Some(&user), Some(body.clone())).await, 403).await;
    // Positive control: the same body from a superuser goes out (to the outbox).
    let su = app.superuser_token().await;
    assert_eq!(app.call("POST", PATH, Some(&su), Some(body)).await.status(), 204);
}

#[tokio::test]
async fn bad_input_is_named_field_by_field() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    let err = assert_envelope(app.call("POST", PATH, Some(&su), Some(json!({}))).await, 400).await;
    assert_eq!(err["message"], "Failed to send the test email.");
    assert_eq!(err["data"]["email"]["code"], "validation_required");
    assert_eq!(err["data"]["template"]["code"], "validation_required");

    let err = assert_envelope(
        app.call(
            "POST",
            PATH,
            Some(&su),
            Some(json!({"email": "x", "template": "nope"})),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(err["data"]["email"]["code"], "validation_is_email");
    assert_eq!(err["data"]["template"]["code"], "validation_in_invalid");

    // `posts`-like base collections and unknown names are not auth collections.
    for collection in ["nope", "_otps"] {
        let body = json!({"email": "x@y.co", "template": "otp", "collection": collection});
        let err = assert_envelope(app.call("POST", PATH, Some(&su), Some(body)).await, 400).await;
        assert_eq!(
            err["data"]["collection"]["code"], "validation_invalid_auth_collection",
            "{collection}"
        );
        assert!(err["data"].get("email").is_none(), "{err}");
    }
}

#[tokio::test]
async fn each_template_reaches_the_smtp_server() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    let (port, mut received) = smtp_sink().await;
    use_smtp(&app, port).await;
    let cases = [
        ("verification", "users", "confirm-verification"),
        ("password-reset", "_superusers", "confirm-password-reset"),
        ("email-change", "users", "confirm-email-change"),
        ("otp", "_superusers", "12345678"),
        ("login-alert", "users", "127.0.0.1"),
    ];
    for (template, collection, expect) in cases {
        let body = json!({"email": "check@example.com", "template": template, "collection": collection});
        let resp = app.call("POST", PATH, Some(&su), Some(body)).await;
        assert_eq!(resp.status(), 204, "{template}");
        // Sent before the answer, so it is already there.
        let data = tokio::time::timeout(Duration::from_secs(2), received.recv())
            .await
            .expect("the mail arrived before the answer")
            .unwrap()
            .replace("=\n", "");
        assert!(data.contains("To: check@example.com"), "{template}: {data}");
        assert!(data.contains(expect), "{template}: {data}");
    }
    let page = json(app.call("GET", "/api/mail/outbox", Some(&su), None).await).await;
    assert_eq!(page["totalItems"], 0, "nothing kept in the outbox");
}

#[tokio::test]
async fn a_mail_server_that_cannot_be_reached_is_reported() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    use_smtp(&app, port).await;
    let body = json!({"email": "x@example.com", "template": "otp"});
    let err = assert_envelope(app.call("POST", PATH, Some(&su), Some(body)).await, 400).await;
    let message = err["message"].as_str().unwrap();
    assert!(
        message.starts_with("Failed to send the test email. Raw error: \n"),
        "{message}"
    );
    assert!(
        message.len() > "Failed to send the test email. Raw error: \n".len(),
        "{message}"
    );
}

#[tokio::test]
async fn without_smtp_the_test_email_lands_in_the_outbox() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    let before = json(app.call("GET", "/api/mail/outbox", Some(&su), None).await).await;
    let body = json!({"email": "box@example.com", "template": "password-reset"});
    assert_eq!(app.call("POST", PATH, Some(&su), Some(body)).await.status(), 204);
    let after = json(app.call("GET", "/api/mail/outbox", Some(&su), None).await).await;
    assert_eq!(
        after["totalItems"],
        before["totalItems"].as_u64().unwrap() + 1,
        "{after}"
    );
    assert_eq!(after["items"][0]["to"], "box@example.com", "{after}");
}
