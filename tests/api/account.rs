//! Account flows by email: verification, password reset and email change,
//! read back through the dev outbox. Negative paths first: unknown
//! accounts (204, nothing sent), forged, expired and wrong-type tokens.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

/// The outbox, newest first (superuser token).
pub async fn outbox(app: &TestApp, su: &str) -> Vec<Value> {
    let resp = app
        .call("GET", "/api/mail/outbox?perPage=100", Some(su), None)
        .await;
    assert_eq!(resp.status(), 200);
    json(resp).await["items"].as_array().unwrap().clone()
}

/// The token in the newest mail to `to`: the last path segment of its link.
pub async fn mailed_token(app: &TestApp, su: &str, to: &str) -> String {
    let mails = outbox(app, su).await;
    let mail = mails
        .iter()
        .find(|m| m["to"] == to)
        .unwrap_or_else(|| panic!("no mail to {to}: {mails:?}"));
    let text = mail["text"].as_str().unwrap();
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/_/#/auth/"))
        .unwrap_or_else(|| panic!("no link in {text}"));
    link.rsplit('/').next().unwrap().to_owned()
}

async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> reqwest::Response {
    app.call(
        "POST",
        &format!("/api/collections/users/{path}"),
        token,
        Some(body),
    )
    .await
}

async fn field_error(resp: reqwest::Response, field: &str) -> String {
    let body = assert_envelope(resp, 400).await;
    body["data"][field]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error on {field}: {body}"))
        .to_owned()
}

async fn record(app: &TestApp, su: &str, id: &str) -> Value {
    json(
        app.call(
            "GET",
            &format!("/api/collections/users/records/{id}"),
            Some(su),
            None,
        )
        .await,
    )
    .await
}

/// A token of `kind` for the account, signed with the right key but
/// already expired.
async fn expired_token(app: &TestApp, id: &str, kind: &str, secret_group: &str) -> String {
    let c = app.state.schema.catalog().get("users").unwrap().clone();
    let account = cairn::auth::account::by_id(&app.state.store.data, c.clone(), id.to_owned())
        .await
        .unwrap()
        .unwrap();
    let secret = c.options()[secret_group]["secret"].as_str().unwrap();
    let claims = json!({
        "id": id, "collectionId": c.id, "type": kind, "email": account.email, "newEmail": "new@example.com",
        "exp": jsonwebtoken::get_current_timestamp() - 10,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(format!("{}{secret}", account.token_key).as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn requests_answer_204_for_unknown_accounts_and_send_nothing() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    for path in ["request-verification", "request-password-reset"] {
        let resp = post(&app, path, None, json!({"email": "nobody@example.com"})).await;
        assert_eq!(resp.status(), 204, "{path}");
        assert_eq!(
            field_error(post(&app, path, None, json!({})).await, "email").await,
            "validation_required"
        );
        assert_eq!(
            field_error(
                post(&app, path, None, json!({"email": "not-an-email"})).await,
                "email"
            )
            .await,
            "validation_is_email"
        );
        let missing = app
            .call(
                "POST",
                &format!("/api/collections/nope/{path}"),
                None,
                Some(json!({"email": "a@b.co"})),
            )
            .await;
        assert_envelope(missing, 404).await;
    }
    assert!(
        outbox(&app, &su).await.is_empty(),
        "nothing is sent for unknown accounts"
    );
}

#[tokio::test]
async fn outbox_is_for_superusers_only() {
    let app = spawn_app().await;
    let (_, user) = app.sign_up("o@example.com", "pass-word-1").await;
    assert_envelope(app.call("GET", "/api/mail/outbox", None, None).await, 401).await;
    assert_envelope(app.call("GET", "/api/mail/outbox", Some(&user), None).await, 403).await;
    let su = app.superuser_token().await;
    let page = json(app.call("GET", "/api/mail/outbox", Some(&su), None).await).await;
    assert_eq!(page["totalItems"], 0);
    assert_eq!(page["perPage"], 30);
    let doc = json(app.get("/api/openapi.json").await).await;
    assert!(doc["paths"]["/mail/outbox"]["get"].is_object(), "documented");
}

#[tokio::test]
async fn confirmations_reject_forged_expired_and_wrong_type_tokens() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    let (id, user_token) = app.sign_up("t@example.com", "pass-word-1").await;
    let expired_verification = expired_token(&app, &id, "verification", "verificationToken").await;
    let expired_reset = expired_token(&app, &id, "passwordReset", "passwordResetToken").await;
    // A reset token, genuine, but for the other flow.
    assert_eq!(
        post(
            &app,
            "request-password-reset",
            None,
            json!({"email": "t@example.com"})
        )
        .await
        .status(),
        204
    );
    let reset = mailed_token(&app, &su, "t@example.com").await;
    let forged = {
        let mut parts: Vec<String> = reset.split('.').map(str::to_owned).collect();
        parts[2] = "AAAA".repeat(10);
        parts.join(".")
    };

    assert_eq!(
        field_error(
            post(&app, "confirm-verification", None, json!({"token": ""})).await,
            "token"
        )
        .await,
        "validation_required"
    );
    // Not a flow token at all: PocketBase's "missing claim" answer.
    for token in ["garbage", &user_token] {
        let resp = post(&app, "confirm-verification", None, json!({"token": token})).await;
        assert_eq!(
            field_error(resp, "token").await,
            "validation_invalid_token_claims"
        );
    }
    for token in [&expired_verification, &reset, &forged] {
        let resp = post(&app, "confirm-verification", None, json!({"token": token})).await;
        assert_eq!(field_error(resp, "token").await, "validation_invalid_token");
    }
    let new_password =
        |token: &str| json!({"token": token, "password": "new-pass-123", "passwordConfirm": "new-pass-123"});
    for token in [&expired_reset, &expired_verification, &user_token, &forged] {
        let resp = post(&app, "confirm-password-reset", None, new_password(token)).await;
        assert_eq!(field_error(resp, "token").await, "validation_invalid_token");
    }
    assert_eq!(record(&app, &su, &id).await["verified"], false, "nothing changed");
    let change = |token: &str| json!({"token": token, "password": "pass-word-1"});
    let no_new_address = assert_envelope(
        post(&app, "confirm-email-change", None, change(&reset)).await,
        400,
    )
    .await;
    assert_eq!(
        no_new_address["data"]["token"]["code"],
        "validation_invalid_token_payload"
    );
    assert_eq!(
        no_new_address["data"]["password"]["code"],
        "validation_invalid_password"
    );
    let expired_change = expired_token(&app, &id, "emailChange", "emailChangeToken").await;
    let resp = post(&app, "confirm-email-change", None, change(&expired_change)).await;
    assert_eq!(field_error(resp, "token").await, "validation_invalid_token");
    let wrong_type = expired_token(&app, &id, "verification", "emailChangeToken").await;
    let resp = post(&app, "confirm-email-change", None, change(&wrong_type)).await;
    assert_eq!(field_error(resp, "token").await, "validation_invalid_token");
}

#[tokio::test]
async fn superusers_are_verified_and_change_their_address_directly() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    let call = |path: &'static str, token: Option<String>, body: Value| {
        let app = &app;
        async move {
            app.call(
                "POST",
                &format!("/api/collections/_superusers/{path}"),
                token.as_deref(),
                Some(body),
            )
            .await
        }
    };
    for path in ["request-verification", "confirm-verification"] {
        let body = assert_envelope(call(path, None, json!({"email": "root@example.com"})).await, 400).await;
        assert_eq!(body["message"], "All superusers are verified by default.");
    }
    assert_envelope(
        call("request-email-change", None, json!({"newEmail": "x@example.com"})).await,
        401,
    )
    .await;
    for (path, token) in [
        ("request-email-change", Some(su.clone())),
        ("confirm-email-change", None),
    ] {
        let body = assert_envelope(call(path, token, json!({"newEmail": "x@example.com"})).await, 400).await;
        assert_eq!(
            body["message"],
            "All superusers can change their emails directly."
        );
    }
}

#[tokio::test]
async fn verification_marks_the_account_verified_once() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    let (id, _) = app.sign_up("v@example.com", "pass-word-1").await;
    assert_eq!(
        post(
            &app,
            "request-verification",
            None,
            json!({"email": "V@example.com"})
        )
        .await
        .status(),
        204
    );
    let mails = outbox(&app, &su).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["to"], "v@example.com");
    assert!(
        mails[0]["subject"].as_str().unwrap().contains("Acme"),
        "{}",
        mails[0]
    );
    let token = mailed_token(&app, &su, "v@example.com").await;
    assert_eq!(
        post(&app, "confirm-verification", None, json!({"token": token}))
            .await
            .status(),
        204
    );
    assert_eq!(record(&app, &su, &id).await["verified"], true);
    // Confirming again is harmless; a verified account gets no more mail.
    assert_eq!(
        post(&app, "confirm-verification", None, json!({"token": token}))
            .await
            .status(),
        204
    );
    assert_eq!(
        post(
            &app,
            "request-verification",
            None,
            json!({"email": "v@example.com"})
        )
        .await
        .status(),
        204
    );
    assert_eq!(outbox(&app, &su).await.len(), 1);
}

#[tokio::test]
async fn password_reset_changes_the_password_and_revokes_old_tokens() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    let (id, old_token) = app.sign_up("p@example.com", "pass-word-1").await;
    assert_eq!(
        post(
            &app,
            "request-password-reset",
            None,
            json!({"email": "p@example.com"})
        )
        .await
        .status(),
        204
    );
    let token = mailed_token(&app, &su, "p@example.com").await;

    let resp = post(
        &app,
        "confirm-password-reset",
        None,
        json!({"token": token, "password": "new-pass-123", "passwordConfirm": "other-pass-123"}),
    )
    .await;
    assert_eq!(
        field_error(resp, "passwordConfirm").await,
        "validation_values_mismatch"
    );
    let resp = post(
        &app,
        "confirm-password-reset",
        None,
        json!({"token": token, "password": "short", "passwordConfirm": "short"}),
    )
    .await;
    assert_eq!(
        field_error(resp, "password").await,
        "validation_length_out_of_range"
    );
    let body = assert_envelope(post(&app, "confirm-password-reset", None, json!({})).await, 400).await;
    for f in ["token", "password", "passwordConfirm"] {
        assert_eq!(body["data"][f]["code"], "validation_required", "{body}");
    }

    let ok = json!({"token": token, "password": "new-pass-123", "passwordConfirm": "new-pass-123"});
    assert_eq!(
        post(&app, "confirm-password-reset", None, ok.clone())
            .await
            .status(),
        204
    );
    // The old token is revoked, the reset token used up, the old password gone.
    assert_envelope(post(&app, "auth-refresh", Some(&old_token), json!({})).await, 401).await;
    assert_eq!(
        field_error(post(&app, "confirm-password-reset", None, ok).await, "token").await,
        "validation_invalid_token"
    );
    let old = post(
        &app,
        "auth-with-password",
        None,
        json!({"identity": "p@example.com", "password": "pass-word-1"}),
    )
    .await;
    assert_envelope(old, 400).await;
    let new = post(
        &app,
        "auth-with-password",
        None,
        json!({"identity": "p@example.com", "password": "new-pass-123"}),
    )
    .await;
    assert_eq!(new.status(), 200);
    assert_eq!(
        record(&app, &su, &id).await["verified"],
        true,
        "the mail reached its owner"
    );
}

#[tokio::test]
async fn email_change_needs_the_owner_the_new_address_and_the_password() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    let (id, user) = app.sign_up("e@example.com", "pass-word-1").await;
    app.sign_up("taken@example.com", "pass-word-1").await;

    assert_envelope(
        post(
            &app,
            "request-email-change",
            None,
            json!({"newEmail": "n@example.com"}),
        )
        .await,
        401,
    )
    .await;
    assert_envelope(
        post(
            &app,
            "request-email-change",
            Some(&su),
            json!({"newEmail": "n@example.com"}),
        )
        .await,
        403,
    )
    .await;
    for (new_email, code) in [
        ("", "validation_required"),
        ("nope", "validation_is_email"),
        ("taken@example.com", "validation_invalid_new_email"),
        ("e@example.com", "validation_not_in_invalid"),
    ] {
        let resp = post(
            &app,
            "request-email-change",
            Some(&user),
            json!({"newEmail": new_email}),
        )
        .await;
        assert_eq!(field_error(resp, "newEmail").await, code, "{new_email}");
    }
    assert!(outbox(&app, &su).await.is_empty());

    assert_eq!(
        post(
            &app,
            "request-email-change",
            Some(&user),
            json!({"newEmail": "n@example.com"})
        )
        .await
        .status(),
        204
    );
    let token = mailed_token(&app, &su, "n@example.com").await;
    let wrong = post(
        &app,
        "confirm-email-change",
        None,
        json!({"token": token, "password": "wrong-pass-1"}),
    )
    .await;
    assert_eq!(
        field_error(wrong, "password").await,
        "validation_invalid_password"
    );
    assert_eq!(record(&app, &su, &id).await["email"], "e@example.com");

    let ok = json!({"token": token, "password": "pass-word-1"});
    assert_eq!(
        post(&app, "confirm-email-change", None, ok.clone())
            .await
            .status(),
        204
    );
    let after = record(&app, &su, &id).await;
    assert_eq!(after["email"], "n@example.com");
    assert_eq!(after["verified"], true);
    assert_envelope(post(&app, "auth-refresh", Some(&user), json!({})).await, 401).await;
    assert_eq!(
        field_error(post(&app, "confirm-email-change", None, ok).await, "token").await,
        "validation_invalid_token"
    );
    let signed_in = post(
        &app,
        "auth-with-password",
        None,
        json!({"identity": "n@example.com", "password": "pass-word-1"}),
    )
    .await;
    assert_eq!(signed_in.status(), 200);
}

/// An address held by two other accounts in two cases names neither, so
/// the request for it is accepted as for any address that is not one
/// account's; the confirmation then finds it taken (the check made in
/// the write, through the email's index) and changes nothing. A free
/// address in the same shape is the control.
#[tokio::test]
async fn an_email_change_to_an_address_others_hold_in_other_cases_is_refused() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    let (id, user) = app.sign_up("mover@example.com", "pass-word-1").await;
    app.sign_up("dup@example.com", "pass-word-1").await;
    app.sign_up("DUP@example.com", "pass-word-1").await;
    for (wanted, free) in [("Dup@Example.com", false), ("Free@Example.com", true)] {
        let asked = post(
            &app,
            "request-email-change",
            Some(&user),
            json!({"newEmail": wanted}),
        )
        .await;
        assert_eq!(asked.status(), 204, "{wanted}");
        let token = mailed_token(&app, &su, wanted).await;
        let confirmed = post(
            &app,
            "confirm-email-change",
            None,
            json!({"token": token, "password": "pass-word-1"}),
        )
        .await;
        if free {
            assert_eq!(confirmed.status(), 204, "{wanted}");
            assert_eq!(record(&app, &su, &id).await["email"], wanted);
        } else {
            assert_eq!(
                field_error(confirmed, "token").await,
                "validation_invalid_token_email",
                "{wanted}"
            );
            assert_eq!(record(&app, &su, &id).await["email"], "mover@example.com");
        }
    }
}
