//! What `auth-with-oauth2` refuses, and how a failing provider is reported;
//! what `auth-methods` lists and what the collection shows of a provider.

use std::time::{Duration, Instant};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{
    alice, configure, count, enable,
    mock::{CLIENT_ID, CLIENT_SECRET, MockProvider},
    pkce_pair, sign_in, sign_in_as,
};
use crate::helpers::{assert_envelope, json, spawn_app};

#[tokio::test]
async fn disabled_unknown_and_incomplete_requests_are_refused() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;

    let body = json!({"provider": "oidc", "code": "c", "codeVerifier": "v", "redirectURL": "x"});
    let resp = sign_in(&app, None, body.clone()).await;
    let err = assert_envelope(resp, 403).await;
    assert_eq!(
        err["message"],
        "The collection is not configured to allow OAuth2 authentication."
    );
    let resp = app
        .call("POST", "/api/collections/nope/auth-with-oauth2", None, Some(body))
        .await;
    assert_envelope(resp, 404).await;

    enable(&app, &root, mock.config()).await;
    let resp = sign_in(&app, None, json!({"provider": "github", "code": "c"})).await;
    let err = assert_envelope(resp, 400).await;
    assert_eq!(err["data"]["provider"]["code"], "validation_invalid_provider");
    let resp = sign_in(&app, None, json!({})).await;
    let err = assert_envelope(resp, 400).await;
    assert_eq!(err["data"]["provider"]["code"], "validation_required");
    assert_eq!(err["data"]["code"]["code"], "validation_required");
    // None of these reached the provider.
    assert!(mock.token_requests().is_empty());
}

#[tokio::test]
async fn a_wrong_code_or_verifier_fails_at_the_token_step() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;
    enable(&app, &root, mock.config()).await;
    let (verifier, challenge) = pkce_pair(&app).await;

    let resp = sign_in(
        &app,
        None,
        json!({"provider": "oidc", "code": "forged", "codeVerifier": verifier, "redirectURL": "http://localhost/cb"}),
    )
    .await;
    let err = assert_envelope(resp, 400).await;
    assert_eq!(err["message"], "Failed to fetch OAuth2 token.");

    let code = mock.issue_code(&challenge, alice());
    let other_verifier = "x".repeat(43);
    let resp = sign_in(
        &app,
        None,
        json!({"provider": "oidc", "code": code, "codeVerifier": other_verifier, "redirectURL": "http://localhost/cb"}),
    )
    .await;
    let err = assert_envelope(resp, 400).await;
    assert_eq!(err["message"], "Failed to fetch OAuth2 token.");
    assert!(!err.to_string().contains(CLIENT_SECRET));

    // The server sent the client's credentials and the verifier it got.
    let sent = mock.token_requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1]["client_secret"], CLIENT_SECRET);
    assert_eq!(sent[1]["code_verifier"], other_verifier);
    assert_eq!(sent[1]["redirect_uri"], "http://localhost/cb");
    assert_eq!(count(&app, &root, "users").await, 0);
    assert_eq!(count(&app, &root, "_externalAuths").await, 0);
}

#[tokio::test]
async fn a_provider_that_is_down_or_hangs_fails_in_bounded_time() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;
    let mut config = mock.config();

    // Nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    config["tokenURL"] = json!(format!("http://{}/token", closed.local_addr().unwrap()));
    drop(closed);
    enable(&app, &root, config.clone()).await;
    let resp = sign_in_as(&app, &mock, alice(), json!({})).await;
    let err = assert_envelope(resp, 400).await;
    assert_eq!(err["message"], "Failed to fetch OAuth2 token.");

    // Answers nothing, ever: the server gives up after its call timeout.
    config["tokenURL"] = json!(mock.url("/hang"));
    enable(&app, &root, config).await;
    let started = Instant::now();
    let resp = sign_in_as(&app, &mock, alice(), json!({})).await;
    let took = started.elapsed();
    let err = assert_envelope(resp, 400).await;
    assert_eq!(err["message"], "Failed to fetch OAuth2 token.");
    let limit = cairn::auth::oauth2::exchange::CALL_TIMEOUT;
    assert!(
        took >= limit && took < limit + Duration::from_secs(5),
        "took {took:?}"
    );
}

#[tokio::test]
async fn the_create_rule_and_field_validation_govern_sign_up() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;
    enable(&app, &root, mock.config()).await;

    configure(&app, &root, json!({"createRule": null})).await;
    let resp = sign_in_as(&app, &mock, alice(), json!({})).await;
    assert_envelope(resp, 403).await;

    configure(&app, &root, json!({"createRule": "@request.body.name = 'ok'"})).await;
    let resp = sign_in_as(&app, &mock, alice(), json!({"name": "not ok"})).await;
    let err = assert_envelope(resp, 400).await;
    assert_eq!(err["message"], "Failed to create record.");

    configure(&app, &root, json!({"createRule": ""})).await;
    let resp = sign_in_as(&app, &mock, alice(), json!({"email": "not-an-email"})).await;
    let err = assert_envelope(resp, 400).await;
    assert_eq!(err["data"]["email"]["code"], "validation_is_email");

    // A provider that does not vouch for the address gives none: no email,
    // no account.
    let mut unverified = alice();
    unverified["email_verified"] = json!(false);
    let resp = sign_in_as(&app, &mock, unverified, json!({})).await;
    let err = assert_envelope(resp, 400).await;
    assert_eq!(err["data"]["email"]["code"], "validation_required");

    // Nothing was half-written: no account, no link.
    assert_eq!(count(&app, &root, "users").await, 0);
    assert_eq!(count(&app, &root, "_externalAuths").await, 0);
}

#[tokio::test]
async fn the_client_secret_stays_on_the_server() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;

    // Bad provider entries are refused when OAuth2 is on.
    let resp = app
        .call(
            "PATCH",
            "/api/collections/users",
            Some(&root),
            Some(json!({"oauth2": {"enabled": true, "providers": [
                {"name": "nope", "clientId": "a", "clientSecret": "b"},
                {"name": "oidc", "clientId": "a", "clientSecret": "", "tokenURL": "not a url"},
            ]}})),
        )
        .await;
    let err = assert_envelope(resp, 400).await;
    let providers = &err["data"]["oauth2"]["providers"];
    assert_eq!(providers["0"]["name"]["code"], "validation_missing_provider");
    assert_eq!(providers["1"]["clientSecret"]["code"], "validation_required");
    assert_eq!(providers["1"]["tokenURL"]["code"], "validation_is_url");

    enable(&app, &root, mock.config()).await;
    let view = app
        .call("GET", "/api/collections/users", Some(&root), None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        view.contains(CLIENT_ID) && !view.contains(CLIENT_SECRET),
        "{view}"
    );
    let list = app
        .call("GET", "/api/collections", Some(&root), None)
        .await
        .text()
        .await
        .unwrap();
    assert!(!list.contains(CLIENT_SECRET));
    let methods = app
        .get("/api/collections/users/auth-methods")
        .await
        .text()
        .await
        .unwrap();
    assert!(!methods.contains(CLIENT_SECRET));

    // Saving the provider back as the API showed it keeps the secret.
    let shown: Value = serde_json::from_str(&view).unwrap();
    configure(&app, &root, json!({"oauth2": shown["oauth2"]})).await;
    let resp = sign_in_as(&app, &mock, alice(), json!({})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(mock.token_requests()[0]["client_secret"], CLIENT_SECRET);
}

#[tokio::test]
async fn auth_methods_lists_the_provider_with_a_pkce_pair() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;
    enable(&app, &root, mock.config()).await;
    let methods = json(app.get("/api/collections/users/auth-methods").await).await;
    assert_eq!(methods["oauth2"]["enabled"], true);
    let p = &methods["oauth2"]["providers"][0];
    assert_eq!(p["displayName"], "Mock IdP");
    assert_eq!(p["codeChallengeMethod"], "S256");
    let verifier = p["codeVerifier"].as_str().unwrap();
    let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    assert_eq!(p["codeChallenge"], expected.as_str());
    let url = p["authURL"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}?", mock.url("/authorize"))), "{url}");
    assert!(url.contains(&format!("client_id={CLIENT_ID}")));
    assert!(url.contains(&format!("code_challenge={expected}")));
    assert!(url.contains(&format!("state={}", p["state"].as_str().unwrap())));
    assert!(url.ends_with("&redirect_uri="));
    assert_eq!(methods["authProviders"][0]["name"], "oidc");
    // Each listing hands out a fresh pair.
    let again = json(app.get("/api/collections/users/auth-methods").await).await;
    assert_ne!(again["oauth2"]["providers"][0]["codeVerifier"], p["codeVerifier"]);
}
