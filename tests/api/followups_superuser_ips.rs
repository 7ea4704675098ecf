//! `settings.superuserIPs` (PocketBase 0.40.6 has it): when the list is not
//! empty, a request authenticated as a superuser from any other client IP
//! is refused with 403, as is a superuser's successful sign-in; guests and
//! other accounts are unaffected. The client IP is the resolved one
//! (`http::client`), so a trusted proxy's `X-Forwarded-For` counts.

use serde_json::json;

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

async fn allow(app: &TestApp, ips: &[&str]) {
    let ips: Vec<String> = ips.iter().map(|s| s.to_string()).collect();
    app.change_settings(|s| s.superuser_ips = ips).await;
}

fn su_login() -> serde_json::Value {
    json!({"identity": "root@example.com", "password": "root-pass-123"})
}

#[tokio::test]
async fn superusers_from_other_ips_are_refused() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    app.sign_up("u@example.com", "user-pass-123").await;
    allow(&app, &["10.1.2.3", "192.168.0.0/16"]).await;

    for path in [
        "/api/settings",
        "/api/collections",
        "/api/collections/users/records",
    ] {
        let resp = app.call("GET", path, Some(&su), None).await;
        assert_eq!(resp.status(), 403, "{path}");
        let body = assert_envelope(resp, 403).await;
        assert_eq!(
            body["message"], "You are not allowed to perform this request.",
            "{path}"
        );
    }
    let login = "/api/collections/_superusers/auth-with-password";
    assert_envelope(app.call("POST", login, None, Some(su_login())).await, 403).await;
    // A wrong password is still just a failed sign-in.
    let wrong = json!({"identity": "root@example.com", "password": "wrong-pass-1"});
    assert_envelope(app.call("POST", login, None, Some(wrong)).await, 400).await;

    // Controls: guests and users go on as before.
    assert_eq!(app.call("GET", "/api/health", None, None).await.status(), 200);
    assert_eq!(
        app.sign_in("users", "u@example.com", "user-pass-123")
            .await
            .status(),
        200
    );

    // From an allowed address (the loopback proxy forwards it), all works.
    let resp = app
        .client
        .get(app.url("/api/settings"))
        .header("authorization", &su)
        .header("x-forwarded-for", "10.1.2.3")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    allow(&app, &["127.0.0.0/8"]).await;
    assert_eq!(
        app.call("GET", "/api/settings", Some(&su), None).await.status(),
        200
    );
    assert_eq!(
        app.call("POST", login, None, Some(su_login())).await.status(),
        200
    );
    allow(&app, &[]).await;
    assert_eq!(
        app.call("GET", "/api/settings", Some(&su), None).await.status(),
        200
    );
}

#[tokio::test]
async fn only_addresses_and_networks_are_stored() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    let resp = app
        .call(
            "PATCH",
            "/api/settings",
            Some(&su),
            Some(json!({"superuserIPs": ["not-an-ip"]})),
        )
        .await;
    let body = assert_envelope(resp, 400).await;
    assert!(body["data"]["superuserIPs"]["0"]["code"].is_string(), "{body}");
    let resp = app
        .call(
            "PATCH",
            "/api/settings",
            Some(&su),
            Some(json!({"superuserIPs": ["127.0.0.1", "::1/128"]})),
        )
        .await;
    let status = resp.status();
    let body = json(resp).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["superuserIPs"], json!(["127.0.0.1", "::1/128"]));
}
