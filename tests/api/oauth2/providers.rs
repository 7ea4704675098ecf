//! The other providers through the same mock (GitHub's profile and address
//! list), several providers on one collection, and that no secret that
//! passes through a sign-in reaches the server's log.

use std::time::Duration;

use serde_json::json;

use super::{mock::MockProvider, pkce_pair, sign_in, sign_in_with};
use crate::helpers::{json, run_cairn, serve_log_path, spawn_app, spawn_serve};

#[tokio::test]
async fn github_ids_logins_and_only_a_verified_primary_address_are_used() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;
    let mut github = mock.config();
    github["name"] = json!("github");
    github["displayName"] = json!("");
    super::enable(&app, &root, github).await;
    let methods = json(app.get("/api/collections/users/auth-methods").await).await;
    let listed = &methods["oauth2"]["providers"][0];
    assert_eq!(listed["displayName"], "GitHub");
    assert!(
        listed["authURL"]
            .as_str()
            .unwrap()
            .contains("scope=read%3Auser+user%3Aemail")
    );

    // Only an unverified address: no email, so no account can be made.
    let octo = |emails| {
        json!({"id": 4242, "login": "octo", "name": "Octo Cat", "email": "public@example.com",
               "avatar_url": "http://127.0.0.1:9/octo.png", "emails": emails})
    };
    let unverified = json!([{"email": "octo@example.com", "primary": true, "verified": false}]);
    let resp = sign_in_with(&app, &mock, "github", octo(unverified), json!({})).await;
    let err = json(resp).await;
    assert_eq!(err["data"]["email"]["code"], "validation_required", "{err}");

    let verified = json!([
        {"email": "old@example.com", "primary": false, "verified": true},
        {"email": "octo@example.com", "primary": true, "verified": true},
    ]);
    let resp = sign_in_with(&app, &mock, "github", octo(verified), json!({})).await;
    assert_eq!(resp.status(), 200);
    let signed_in = json(resp).await;
    assert_eq!(signed_in["record"]["email"], "octo@example.com");
    assert_eq!(signed_in["record"]["verified"], true);
    assert_eq!(signed_in["meta"]["id"], "4242");
    assert_eq!(signed_in["meta"]["username"], "octo");
    assert_eq!(signed_in["meta"]["avatarURL"], "http://127.0.0.1:9/octo.png");
    let links = json(
        app.call(
            "GET",
            "/api/collections/_externalAuths/records",
            Some(&root),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(links["items"][0]["provider"], "github");
    assert_eq!(links["items"][0]["providerId"], "4242");
}

#[tokio::test]
async fn no_secret_of_a_sign_in_reaches_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();
    let (code, _, err) = run_cairn(
        &[
            "superuser",
            "upsert",
            "root@example.com",
            "root-pass-123",
            "--dir",
            data_arg,
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let mut server = spawn_serve(&data, &["--log-format", "json", "--dev"]).await;
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let root = client
        .post(format!("{base}/api/collections/_superusers/auth-with-password"))
        .json(&json!({"identity": "root@example.com", "password": "root-pass-123"}))
        .send()
        .await
        .unwrap();
    let root = json(root).await["token"].as_str().unwrap().to_owned();
    // Three sign-ins in a row would meet the default `*:auth` limit.
    let lifted = client
        .patch(format!("{base}/api/settings"))
        .header("authorization", &root)
        .json(&json!({"rateLimits": {"excludedIPs": ["127.0.0.1"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(lifted.status(), 200);
    let mock = MockProvider::start().await;
    let resp = client
        .patch(format!("{base}/api/collections/users"))
        .header("authorization", &root)
        .json(&json!({"oauth2": {"enabled": true, "providers": [mock.config()]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let methods = client
        .get(format!("{base}/api/collections/users/auth-methods"))
        .send()
        .await
        .unwrap();
    let methods = json(methods).await;
    let verifier = methods["oauth2"]["providers"][0]["codeVerifier"]
        .as_str()
        .unwrap()
        .to_owned();
    let challenge = methods["oauth2"]["providers"][0]["codeChallenge"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut codes = Vec::new();
    // A failed sign-in (wrong verifier: the code stays unused) and a good one.
    for verifier in ["y".repeat(43), verifier] {
        let code = mock.issue_code(&challenge, super::alice());
        codes.push(code.clone());
        client
            .post(format!("{base}/api/collections/users/auth-with-oauth2"))
            .json(
                &json!({"provider": "oidc", "code": code, "codeVerifier": verifier,
                          "redirectURL": "http://localhost/cb"}),
            )
            .send()
            .await
            .unwrap();
    }
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(20)).await, 0);

    let log = std::fs::read_to_string(serve_log_path(&data)).unwrap();
    assert!(
        log.contains("OAuth2 provider call failed"),
        "the failure is logged:\n{log}"
    );
    let tokens = mock.access_tokens();
    assert_eq!(tokens.len(), 1, "one sign-in succeeded");
    for secret in [
        super::mock::CLIENT_SECRET.to_owned(),
        tokens[0].clone(),
        codes[0].clone(),
        codes[1].clone(),
    ] {
        assert!(!log.contains(&secret), "{secret} appears in the log");
    }
}

#[tokio::test]
async fn several_providers_are_listed_in_order_each_with_its_own_pkce_pair() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;
    let mut github = mock.config();
    github["name"] = json!("github");
    let body = json!({"oauth2": {"enabled": true, "providers": [mock.config(), github]}});
    super::configure(&app, &root, body).await;
    let methods = json(app.get("/api/collections/users/auth-methods").await).await;
    let listed = methods["oauth2"]["providers"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        (listed[0]["name"].as_str(), listed[1]["name"].as_str()),
        (Some("oidc"), Some("github"))
    );
    assert_ne!(listed[0]["codeVerifier"], listed[1]["codeVerifier"]);
    let (verifier, challenge) = pkce_pair(&app).await;
    let code = mock.issue_code(&challenge, super::alice());
    let body = json!({"provider": "oidc", "code": code, "codeVerifier": verifier, "redirectURL": "x"});
    assert_eq!(sign_in(&app, None, body).await.status(), 200);
}
