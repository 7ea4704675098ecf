//! OAuth2 sign-in (`auth-with-oauth2`) against a mock OAuth2/OIDC provider
//! served by the test on loopback (`mock.rs`). Negative paths first: the
//! refusals and provider failures (`signin.rs`), then what a sign-in does
//! to accounts and links (`accounts.rs`), then the other providers and the
//! secrecy of what passes through (`providers.rs`).

mod accounts;
mod apple_secret;
mod avatars;
mod catalog;
mod mock;
mod providers;
mod signin;

use serde_json::{Value, json};

use self::mock::MockProvider;
use crate::helpers::{TestApp, json};

pub fn alice() -> Value {
    json!({"sub": "idp-alice", "email": "alice@example.com", "email_verified": true, "name": "Alice Liddell", "preferred_username": "alice"})
}

pub async fn configure(app: &TestApp, token: &str, body: Value) {
    let resp = app
        .call("PATCH", "/api/collections/users", Some(token), Some(body))
        .await;
    let status = resp.status();
    assert_eq!(status, 200, "{}", json(resp).await);
}

pub async fn enable(app: &TestApp, token: &str, provider: Value) {
    configure(
        app,
        token,
        json!({"oauth2": {"enabled": true, "providers": [provider]}}),
    )
    .await;
}

/// The first provider's entry of `auth-methods`: (codeVerifier, codeChallenge).
pub async fn pkce_pair(app: &TestApp) -> (String, String) {
    let methods = json(app.get("/api/collections/users/auth-methods").await).await;
    let p = &methods["oauth2"]["providers"][0];
    assert!(p["codeVerifier"].is_string(), "{methods}");
    (
        p["codeVerifier"].as_str().unwrap().to_owned(),
        p["codeChallenge"].as_str().unwrap().to_owned(),
    )
}

pub async fn sign_in(app: &TestApp, token: Option<&str>, body: Value) -> reqwest::Response {
    app.call(
        "POST",
        "/api/collections/users/auth-with-oauth2",
        token,
        Some(body),
    )
    .await
}

/// A whole `oidc` sign-in as the SDK does it for `user`.
pub async fn sign_in_as(
    app: &TestApp,
    mock: &MockProvider,
    user: Value,
    create_data: Value,
) -> reqwest::Response {
    sign_in_with(app, mock, "oidc", user, create_data).await
}

/// A whole sign-in through `provider` (the collection's first) for `user`.
pub async fn sign_in_with(
    app: &TestApp,
    mock: &MockProvider,
    provider: &str,
    user: Value,
    create_data: Value,
) -> reqwest::Response {
    let (verifier, challenge) = pkce_pair(app).await;
    let code = mock.issue_code(&challenge, user);
    sign_in(
        app,
        None,
        json!({"provider": provider, "code": code, "codeVerifier": verifier,
               "redirectURL": "http://localhost/cb", "createData": create_data}),
    )
    .await
}

pub async fn count(app: &TestApp, token: &str, collection: &str) -> u64 {
    let list = json(
        app.call(
            "GET",
            &format!("/api/collections/{collection}/records"),
            Some(token),
            None,
        )
        .await,
    )
    .await;
    list["totalItems"].as_u64().unwrap()
}
