//! Token secrets of auth collections: a collection is never saved without
//! one, so no token is ever signed with the record's key alone. As in
//! PocketBase, creating an auth collection with an empty secret is a
//! field error; a collection created normally gets a secret for every
//! token kind and signs working tokens.

use serde_json::json;

use crate::helpers::{assert_envelope, json, spawn_app};

const TOKEN_GROUPS: [&str; 5] = [
    "authToken",
    "passwordResetToken",
    "emailChangeToken",
    "verificationToken",
    "fileToken",
];

#[tokio::test]
async fn an_auth_collection_cannot_be_created_with_an_empty_token_secret() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    for group in TOKEN_GROUPS {
        for secret in [json!(""), json!("   "), json!(null)] {
            let resp = app
                .call(
                    "POST",
                    "/api/collections",
                    Some(&root),
                    Some(json!({"name": "members", "type": "auth", group: {"secret": secret}})),
                )
                .await;
            let body = assert_envelope(resp, 400).await;
            assert_eq!(body["message"], "Failed to create collection.");
            assert_eq!(
                body["data"][group]["secret"]["code"], "validation_required",
                "{group} = {secret}: {body}"
            );
        }
    }
    // Nothing was saved along the way.
    let list = app
        .call("GET", "/api/collections/members", Some(&root), None)
        .await;
    assert_eq!(list.status(), 404);
}

#[tokio::test]
async fn an_update_cannot_drop_a_token_secret() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let (_, token) = app.sign_up("u@example.com", "pass-word-1").await;
    // Replacing a whole token group by something without a secret.
    for group in TOKEN_GROUPS {
        for value in [json!(null), json!("oops")] {
            let resp = app
                .call(
                    "PATCH",
                    "/api/collections/users",
                    Some(&root),
                    Some(json!({group: value})),
                )
                .await;
            let body = assert_envelope(resp, 400).await;
            assert_eq!(
                body["data"][group]["secret"]["code"], "validation_required",
                "{group} = {value}: {body}"
            );
        }
    }
    // Positive control: a new duration is saved, and the account's token
    // still works (its secret was kept).
    let saved = app
        .call(
            "PATCH",
            "/api/collections/users",
            Some(&root),
            Some(json!({"authToken": {"duration": 3600}})),
        )
        .await;
    assert_eq!(saved.status(), 200);
    assert_eq!(json(saved).await["authToken"]["duration"], 3600);
    app.post_ok(&token, "/api/collections/users/auth-refresh", json!({}))
        .await;
}

#[tokio::test]
async fn a_collection_created_without_secrets_gets_them_and_signs_tokens() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    // Positive control: the same request without the empty secret (a
    // duration only) is saved, with a fresh secret behind the scenes.
    let created = app
        .post_ok(
            &root,
            "/api/collections",
            json!({"name": "members", "type": "auth", "createRule": "",
                   "authToken": {"duration": 1234}}),
        )
        .await;
    for group in TOKEN_GROUPS {
        assert!(created[group].is_object(), "{group}: {created}");
        assert!(created[group].get("secret").is_none(), "secrets are never shown");
    }
    assert_eq!(created["authToken"]["duration"], 1234);

    let account =
        json!({"email": "m@example.com", "password": "pass-word-1", "passwordConfirm": "pass-word-1"});
    let resp = app
        .call("POST", "/api/collections/members/records", None, Some(account))
        .await;
    assert_eq!(resp.status(), 200);
    let signed = json(app.sign_in("members", "m@example.com", "pass-word-1").await).await;
    let token = signed["token"].as_str().expect("a token");
    // The token is accepted, and carries the collection's duration.
    let refreshed = app
        .post_ok(token, "/api/collections/members/auth-refresh", json!({}))
        .await;
    assert_eq!(refreshed["record"]["email"], "m@example.com");
    let impersonated = app
        .post_ok(
            &root,
            &format!(
                "/api/collections/members/impersonate/{}",
                signed["record"]["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    let claims = claims_of(impersonated["token"].as_str().unwrap());
    let now = jsonwebtoken::get_current_timestamp();
    let lifetime = claims["exp"].as_u64().unwrap() - now;
    assert!((1230..=1234).contains(&lifetime), "lifetime {lifetime}");
}

fn claims_of(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64");
    serde_json::from_slice(&bytes).expect("claims")
}
