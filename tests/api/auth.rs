//! Auth endpoints beyond sign-in: auth-methods, auth-refresh and
//! impersonate.

use serde_json::json;

use crate::helpers::{assert_envelope, json, spawn_app};

#[tokio::test]
async fn auth_methods_refresh_and_impersonate() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let methods = json(app.get("/api/collections/users/auth-methods").await).await;
    assert_eq!(
        methods["password"],
        json!({"enabled": true, "identityFields": ["email"]})
    );
    assert_eq!(methods["emailPassword"], true);
    assert_eq!(methods["oauth2"]["enabled"], false);
    assert_envelope(app.get("/api/collections/nope/auth-methods").await, 404).await;

    let (id, user_token) = app.sign_up("r@example.com", "pass-word-1").await;

    // Negative paths first.
    assert_envelope(
        app.call("POST", "/api/collections/users/auth-refresh", None, None)
            .await,
        401,
    )
    .await;
    assert_envelope(
        app.call(
            "POST",
            "/api/collections/users/auth-refresh",
            Some("garbage"),
            None,
        )
        .await,
        401,
    )
    .await;
    assert_envelope(
        app.call(
            "POST",
            "/api/collections/_superusers/auth-refresh",
            Some(&user_token),
            None,
        )
        .await,
        403,
    )
    .await;

    // A refresh answers a new, working token and the current record.
    app.call(
        "PATCH",
        &format!("/api/collections/users/records/{id}"),
        Some(&token),
        Some(json!({"name": "Renamed"})),
    )
    .await;
    let refreshed = json(
        app.call(
            "POST",
            "/api/collections/users/auth-refresh",
            Some(&user_token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        refreshed["record"]["name"], "Renamed",
        "the record is re-read, not cached"
    );
    let new_token = refreshed["token"].as_str().unwrap();
    assert_eq!(
        app.call(
            "POST",
            "/api/collections/users/auth-refresh",
            Some(new_token),
            None
        )
        .await
        .status(),
        200
    );

    // Impersonation: superusers only, a non-refreshable token.
    assert_envelope(
        app.call(
            "POST",
            &format!("/api/collections/users/impersonate/{id}"),
            Some(&user_token),
            Some(json!({})),
        )
        .await,
        403,
    )
    .await;
    assert_envelope(
        app.call(
            "POST",
            "/api/collections/users/impersonate/missingmissing1",
            Some(&token),
            Some(json!({})),
        )
        .await,
        404,
    )
    .await;
    let imp = json(
        app.call(
            "POST",
            &format!("/api/collections/users/impersonate/{id}"),
            Some(&token),
            Some(json!({"duration": 60})),
        )
        .await,
    )
    .await;
    let imp_token = imp["token"].as_str().unwrap();
    let claims = cairn::auth::token::peek(imp_token).unwrap();
    assert!(!claims.refreshable);
    assert!(claims.exp <= jsonwebtoken_now() + 61);
    let again = json(
        app.call(
            "POST",
            "/api/collections/users/auth-refresh",
            Some(imp_token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(again["token"], imp_token, "an impersonation token is not renewed");
}

fn jsonwebtoken_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Two accounts whose emails differ only in case (PocketBase allows it)
/// each sign in with their own spelling; another spelling of one account's
/// email signs that account in; another spelling of both signs in neither.
#[tokio::test]
async fn emails_differing_in_case_sign_in_by_their_own_spelling() {
    let app = spawn_app().await;
    let (lower, _) = app.sign_up("case@example.com", "lower-pass-1").await;
    let (upper, _) = app.sign_up("CASE@example.com", "upper-pass-1").await;
    let (only, _) = app.sign_up("single@example.com", "single-pass-1").await;
    let signed = |identity: &'static str, password: &'static str| {
        let app = &app;
        async move {
            let resp = app.sign_in("users", identity, password).await;
            let status = resp.status().as_u16();
            (
                status,
                json(resp).await["record"]["id"].as_str().map(str::to_owned),
            )
        }
    };
    assert_eq!(
        signed("case@example.com", "lower-pass-1").await,
        (200, Some(lower.clone()))
    );
    assert_eq!(
        signed("CASE@example.com", "upper-pass-1").await,
        (200, Some(upper))
    );
    // The other's password under one's spelling is refused.
    assert_eq!(signed("CASE@example.com", "lower-pass-1").await.0, 400);
    // Ambiguous: neither.
    assert_eq!(signed("Case@Example.com", "lower-pass-1").await.0, 400);
    // One account: any spelling finds it.
    assert_eq!(
        signed("Single@Example.COM", "single-pass-1").await,
        (200, Some(only))
    );
}
