//! An auth collection's options are checked when saved, with PocketBase
//! 0.40's codes and paths (observed against its binary): token lifetimes,
//! OTP and MFA windows, the OTP length, mail templates, the identity
//! fields (present and unique on their own) and the MFA rule. Before,
//! each bad value here was stored as sent, and the typed reading used a
//! default instead, so the dashboard showed one thing and sign-in did
//! another. Each refusal leaves the stored options as they were.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

async fn patch_users(app: &TestApp, root: &str, body: Value) -> reqwest::Response {
    app.call("PATCH", "/api/collections/users", Some(root), Some(body))
        .await
}

/// The error at `path` of a refused update, after checking the envelope.
async fn refused(app: &TestApp, root: &str, body: Value, path: &[&str]) -> Value {
    let resp = patch_users(app, root, body.clone()).await;
    let answer = assert_envelope(resp, 400).await;
    let mut node = &answer["data"];
    for key in path {
        node = &node[*key];
    }
    assert!(node["code"].is_string(), "{body} → {answer}");
    node.clone()
}

#[tokio::test]
async fn bad_lifetimes_and_lengths_are_refused_at_their_option() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let cases = [
        (
            json!({"authToken": {"duration": -1}}),
            vec!["authToken", "duration"],
            "validation_min_greater_equal_than_required",
        ),
        (
            json!({"fileToken": {"duration": 0}}),
            vec!["fileToken", "duration"],
            "validation_required",
        ),
        (
            json!({"verificationToken": {"duration": 999_999_999}}),
            vec!["verificationToken", "duration"],
            "validation_max_less_equal_than_required",
        ),
        (
            json!({"otp": {"enabled": true, "duration": -5}}),
            vec!["otp", "duration"],
            "validation_min_greater_equal_than_required",
        ),
        (
            json!({"otp": {"enabled": true, "duration": 86_401}}),
            vec!["otp", "duration"],
            "validation_max_less_equal_than_required",
        ),
        (
            json!({"otp": {"enabled": true, "length": 2}}),
            vec!["otp", "length"],
            "validation_min_greater_equal_than_required",
        ),
        (
            json!({"mfa": {"enabled": true, "duration": 5}}),
            vec!["mfa", "duration"],
            "validation_min_greater_equal_than_required",
        ),
        (
            json!({"otp": {"emailTemplate": {"subject": ""}}}),
            vec!["otp", "emailTemplate", "subject"],
            "validation_required",
        ),
        (
            json!({"verificationTemplate": {"body": ""}}),
            vec!["verificationTemplate", "body"],
            "validation_required",
        ),
        (
            json!({"authAlert": {"enabled": false, "emailTemplate": {"subject": ""}}}),
            vec!["authAlert", "emailTemplate", "subject"],
            "validation_required",
        ),
    ];
    for (body, path, code) in cases {
        let err = refused(&app, &root, body.clone(), &path).await;
        assert_eq!(err["code"], code, "{body}: {err}");
    }
    assert_eq!(
        refused(
            &app,
            &root,
            json!({"otp": {"enabled": true, "duration": 3}}),
            &["otp", "duration"]
        )
        .await["message"],
        "Must be no less than 10."
    );
    // Nothing of it was stored.
    let users = json(app.call("GET", "/api/collections/users", Some(&root), None).await).await;
    assert_eq!(users["otp"]["enabled"], false);
    assert_eq!(users["otp"]["duration"], 180);
    assert!(users["authToken"]["duration"].as_u64().is_some_and(|d| d >= 10));
    assert_eq!(users["fileToken"]["duration"], 180);

    // Positive control: the same options within bounds are stored. A
    // disabled OTP or MFA window is not checked (PocketBase neither).
    let ok = patch_users(
        &app,
        &root,
        json!({"otp": {"enabled": true, "duration": 10, "length": 4}, "mfa": {"enabled": false, "duration": 5},
               "authToken": {"duration": 94_670_856}, "fileToken": {"duration": 10}}),
    )
    .await;
    assert_eq!(ok.status(), 200);
    let saved = json(ok).await;
    assert_eq!(saved["otp"]["duration"], 10);
    assert_eq!(saved["otp"]["length"], 4);
    assert_eq!(saved["authToken"]["duration"], 94_670_856);
}

#[tokio::test]
async fn identity_fields_must_exist_and_be_unique() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let path = ["passwordAuth", "identityFields"];
    let err = refused(
        &app,
        &root,
        json!({"passwordAuth": {"enabled": true, "identityFields": ["name"]}}),
        &path,
    )
    .await;
    assert_eq!(err["code"], "validation_missing_unique_constraint");
    assert_eq!(err["message"], "The field name doesn't have a UNIQUE constraint.");
    let err = refused(
        &app,
        &root,
        json!({"passwordAuth": {"enabled": true, "identityFields": ["nope"]}}),
        &path,
    )
    .await;
    assert_eq!(err["code"], "validation_missing_field");
    let err = refused(
        &app,
        &root,
        json!({"passwordAuth": {"enabled": true, "identityFields": []}}),
        &path,
    )
    .await;
    assert_eq!(err["code"], "validation_required");
    // A plain (not unique) index is not enough.
    let users = json(app.call("GET", "/api/collections/users", Some(&root), None).await).await;
    let mut indexes = users["indexes"].as_array().unwrap().clone();
    indexes.push(json!("CREATE INDEX `idx_name_plain` ON `users` (`name`)"));
    let err = refused(
        &app,
        &root,
        json!({"indexes": indexes, "passwordAuth": {"enabled": true, "identityFields": ["email", "name"]}}),
        &path,
    )
    .await;
    assert_eq!(err["code"], "validation_missing_unique_constraint");

    // Positive controls: with a unique index on the field, it signs in by it
    // (and not before); with password sign-in off, the list is not checked.
    app.post_ok(
        &root,
        "/api/collections/users/records",
        json!({"email": "named@example.com", "name": "named", "password": "pass-word-1", "passwordConfirm": "pass-word-1"}),
    )
    .await;
    let before = app.sign_in("users", "named", "pass-word-1").await;
    assert_eq!(before.status(), 400, "not an identity field yet");
    indexes.pop();
    indexes.push(json!("CREATE UNIQUE INDEX `idx_name_unique` ON `users` (`name`)"));
    let ok = patch_users(
        &app,
        &root,
        json!({"indexes": indexes, "passwordAuth": {"enabled": true, "identityFields": ["email", "name"]}}),
    )
    .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(
        json(ok).await["passwordAuth"]["identityFields"],
        json!(["email", "name"])
    );
    let by_name = app.sign_in("users", "named", "pass-word-1").await;
    assert_eq!(by_name.status(), 200, "signed in by name");
    let off = patch_users(
        &app,
        &root,
        json!({"passwordAuth": {"enabled": false, "identityFields": []}}),
    )
    .await;
    assert_eq!(off.status(), 200);
}

#[tokio::test]
async fn a_broken_mfa_rule_is_refused_at_mfa_rule() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let err = refused(
        &app,
        &root,
        json!({"otp": {"enabled": true}, "mfa": {"enabled": true, "rule": "bogus ="}}),
        &["mfa", "rule"],
    )
    .await;
    assert_eq!(err["code"], "validation_invalid_rule");
    let err = refused(
        &app,
        &root,
        json!({"mfa": {"rule": "nosuchfield = 1"}}),
        &["mfa", "rule"],
    )
    .await;
    assert_eq!(err["code"], "validation_invalid_rule");
    let ok = patch_users(
        &app,
        &root,
        json!({"otp": {"enabled": true}, "mfa": {"enabled": true, "rule": "verified = true"}}),
    )
    .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(json(ok).await["mfa"]["rule"], "verified = true");
}

/// A new auth collection gets unique indexes on `email` and `tokenKey`,
/// kept on every save, as in PocketBase: before, a collection made through
/// the API had none, and two accounts could share an email.
#[tokio::test]
async fn auth_collections_always_have_unique_email_and_token_key() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let created = app
        .post_ok(
            &root,
            "/api/collections",
            json!({"name": "members", "type": "auth", "createRule": ""}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["indexes"],
        json!([
            format!("CREATE UNIQUE INDEX `idx_tokenKey_{id}` ON `members` (`tokenKey`)"),
            format!("CREATE UNIQUE INDEX `idx_email_{id}` ON `members` (`email`) WHERE `email` != ''"),
        ])
    );
    let account =
        json!({"email": "same@example.com", "password": "pass-word-1", "passwordConfirm": "pass-word-1"});
    let first = app
        .call(
            "POST",
            "/api/collections/members/records",
            None,
            Some(account.clone()),
        )
        .await;
    assert_eq!(first.status(), 200);
    let second = app
        .call("POST", "/api/collections/members/records", None, Some(account))
        .await;
    let body = assert_envelope(second, 400).await;
    assert!(body["data"]["email"]["code"].is_string(), "{body}");

    // Dropping them puts them back; a unique index of one's own on the
    // email is kept instead of the default one.
    let patched = json(patch_collection(&app, &root, "members", json!({"indexes": []})).await).await;
    assert_eq!(patched["indexes"].as_array().unwrap().len(), 2, "{patched}");
    let own = "CREATE UNIQUE INDEX `my_email` ON `members` (`email`)";
    let patched = json(patch_collection(&app, &root, "members", json!({"indexes": [own]})).await).await;
    assert_eq!(
        patched["indexes"],
        json!([
            own,
            format!("CREATE UNIQUE INDEX `idx_tokenKey_{id}` ON `members` (`tokenKey`)")
        ])
    );
    // A base collection gets none.
    let base = app
        .post_ok(
            &root,
            "/api/collections",
            json!({"name": "notes", "type": "base"}),
        )
        .await;
    assert_eq!(base["indexes"], json!([]));
}

async fn patch_collection(app: &TestApp, root: &str, name: &str, body: Value) -> reqwest::Response {
    let resp = app
        .call(
            "PATCH",
            &format!("/api/collections/{name}"),
            Some(root),
            Some(body),
        )
        .await;
    assert_eq!(resp.status(), 200);
    resp
}
