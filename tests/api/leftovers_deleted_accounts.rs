//! What an account leaves behind goes with it: deleting an auth record
//! deletes its one-time codes, pending MFA first factors, remembered
//! sign-in origins, OAuth2 links and sessions in the same transaction,
//! as PocketBase 0.40.6 does for `_otps`, `_mfas`, `_authOrigins` and
//! `_externalAuths` (checked against it: an OTP requested before the
//! delete is refused after it, even for a record recreated with the same
//! id and email). Left behind, they would speak for whoever is given the
//! same id next. Emptying or deleting the whole auth collection takes them
//! too.

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, assert_envelope, json, spawn_app},
    otp_mfa::{configure, mailed_code, post, refused, request_otp},
};

const PASSWORD: &str = "pass-word-1";

/// Creates `users` record `id` with `email`, as a superuser may (choosing
/// the id).
async fn create_user(app: &TestApp, su: &str, id: &str, email: &str) {
    app.post_ok(
        su,
        "/api/collections/users/records",
        json!({"id": id, "email": email, "password": PASSWORD, "passwordConfirm": PASSWORD}),
    )
    .await;
}

async fn delete_user(app: &TestApp, su: &str, id: &str) {
    let resp = app
        .call(
            "DELETE",
            &format!("/api/collections/users/records/{id}"),
            Some(su),
            None,
        )
        .await;
    assert_eq!(resp.status(), 204);
}

/// The rows of `table` bound to `users` record `id` (by `column`).
async fn rows_of(app: &TestApp, table: &str, column: &str, id: &str) -> i64 {
    let sql = format!("SELECT count(*) FROM {table} WHERE {column} = ?1");
    let id = id.to_owned();
    app.state
        .store
        .data
        .read(move |conn| {
            conn.query_row(&sql, [id], |r| r.get(0))
                .map_err(cairn::store::StoreError::from)
        })
        .await
        .unwrap()
}

async fn otp_sign_in(app: &TestApp, otp_id: &str, code: &str, mfa_id: Option<&str>) -> reqwest::Response {
    let mut body = json!({"otpId": otp_id, "password": code});
    if let Some(mfa_id) = mfa_id {
        body["mfaId"] = json!(mfa_id);
    }
    post(app, "auth-with-otp", body).await
}

#[tokio::test]
async fn a_deleted_accounts_otp_does_not_sign_in_its_successor() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    configure(&app, &su, json!({"otp": {"enabled": true}})).await;
    create_user(&app, &su, "keptaccount0001", "kept@example.com").await;
    create_user(&app, &su, "goneaccount0001", "gone@example.com").await;

    // The control: an account that stays signs in with its code.
    let kept_otp = request_otp(&app, "kept@example.com").await;
    let kept_code = mailed_code(&app, &su, "kept@example.com").await;
    let signed = otp_sign_in(&app, &kept_otp, &kept_code, None).await;
    assert_eq!(signed.status(), 200);
    assert_eq!(json(signed).await["record"]["id"], "keptaccount0001");

    let gone_otp = request_otp(&app, "gone@example.com").await;
    let gone_code = mailed_code(&app, &su, "gone@example.com").await;
    delete_user(&app, &su, "goneaccount0001").await;
    // Same id, same address: the code was mailed to the one deleted.
    create_user(&app, &su, "goneaccount0001", "gone@example.com").await;
    refused(&app, &gone_otp, &gone_code).await;
}

#[tokio::test]
async fn a_deleted_accounts_first_factor_does_not_complete_its_successors_sign_in() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    configure(
        &app,
        &su,
        json!({"otp": {"enabled": true}, "mfa": {"enabled": true}}),
    )
    .await;
    let first_factor = |email: &'static str| {
        let app = &app;
        async move {
            let resp = post(
                app,
                "auth-with-password",
                json!({"identity": email, "password": PASSWORD}),
            )
            .await;
            assert_eq!(resp.status(), 401);
            json(resp).await["mfaId"].as_str().unwrap().to_owned()
        }
    };
    create_user(&app, &su, "keptaccount0001", "kept@example.com").await;
    create_user(&app, &su, "goneaccount0001", "gone@example.com").await;

    // The control: the first factor completes with a code.
    let kept_mfa = first_factor("kept@example.com").await;
    let otp = request_otp(&app, "kept@example.com").await;
    let code = mailed_code(&app, &su, "kept@example.com").await;
    let done = otp_sign_in(&app, &otp, &code, Some(&kept_mfa)).await;
    assert_eq!(done.status(), 200);
    assert!(json(done).await["token"].is_string());

    let gone_mfa = first_factor("gone@example.com").await;
    delete_user(&app, &su, "goneaccount0001").await;
    create_user(&app, &su, "goneaccount0001", "gone@example.com").await;
    let otp = request_otp(&app, "gone@example.com").await;
    let code = mailed_code(&app, &su, "gone@example.com").await;
    let stale = otp_sign_in(&app, &otp, &code, Some(&gone_mfa)).await;
    let body = assert_envelope(stale, 400).await;
    assert!(body.get("token").is_none(), "{body}");
}

#[tokio::test]
async fn every_row_bound_to_a_deleted_account_goes_with_it() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    configure(&app, &su, json!({"otp": {"enabled": true}})).await;
    let tables = [
        ("_otps", "recordRef"),
        ("_authOrigins", "recordRef"),
        ("_externalAuths", "recordRef"),
        ("_sessions", "recordId"),
    ];
    for id in ["keptaccount0001", "goneaccount0001"] {
        let email = format!("{id}@example.com");
        create_user(&app, &su, id, &email).await;
        // A sign-in: a session and a remembered origin.
        assert_eq!(app.sign_in("users", &email, PASSWORD).await.status(), 200);
        request_otp(&app, &email).await;
        let link: Value = json!({
            "collectionRef": "_pb_users_auth_", "recordRef": id,
            "provider": "github", "providerId": format!("gh-{id}"),
        });
        app.post_ok(&su, "/api/collections/_externalAuths/records", link)
            .await;
    }
    for (table, column) in tables {
        for id in ["keptaccount0001", "goneaccount0001"] {
            assert_eq!(rows_of(&app, table, column, id).await, 1, "{table} of {id}");
        }
    }
    delete_user(&app, &su, "goneaccount0001").await;
    for (table, column) in tables {
        assert_eq!(
            rows_of(&app, table, column, "goneaccount0001").await,
            0,
            "{table}"
        );
        // The control: another account's rows stay.
        assert_eq!(
            rows_of(&app, table, column, "keptaccount0001").await,
            1,
            "{table}"
        );
    }
}

/// Emptying or deleting a whole auth collection goes through no record
/// hook per row, yet its accounts' rows go the same way, in the same
/// transaction, and their tokens stop working at once (a cached auth
/// record is bound to the catalog it was read under). The `users`
/// account is the control throughout.
#[tokio::test]
async fn emptying_or_deleting_an_auth_collection_takes_its_accounts_rows_and_tokens() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    app.post_ok(
        &su,
        "/api/collections",
        json!({"name": "notes", "type": "base", "createRule": "@request.auth.id != ''",
               "fields": [{"name": "text", "type": "text"}]}),
    )
    .await;
    configure(&app, &su, json!({"otp": {"enabled": true}})).await;
    create_user(&app, &su, "keptaccount0001", "kept@example.com").await;
    request_otp(&app, "kept@example.com").await;
    let kept = json(app.sign_in("users", "kept@example.com", PASSWORD).await).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let link = json!({"collectionRef": "_pb_users_auth_", "recordRef": "keptaccount0001",
                      "provider": "github", "providerId": "gh-kept"});
    app.post_ok(&su, "/api/collections/_externalAuths/records", link)
        .await;
    let tables = [
        ("_otps", "recordRef"),
        ("_authOrigins", "recordRef"),
        ("_externalAuths", "recordRef"),
        ("_sessions", "recordId"),
    ];
    let note = |token: Option<String>| {
        let app = &app;
        async move {
            app.call(
                "POST",
                "/api/collections/notes/records",
                token.as_deref(),
                Some(json!({"text": "hi"})),
            )
            .await
            .status()
        }
    };
    // What a guest gets: the rule refuses it.
    let guest = note(None).await;
    assert_ne!(guest, 200);

    for (collection, id, emptied) in [
        ("members", "memberaccount01", true),
        ("staff", "staffaccount001", false),
    ] {
        let made = app
            .post_ok(
                &su,
                "/api/collections",
                json!({"name": collection, "type": "auth", "otp": {"enabled": true}}),
            )
            .await;
        let collection_id = made["id"].as_str().unwrap().to_owned();
        let email = format!("{collection}@example.com");
        app.post_ok(
            &su,
            &format!("/api/collections/{collection}/records"),
            json!({"id": id, "email": email, "password": PASSWORD, "passwordConfirm": PASSWORD}),
        )
        .await;
        // A one-time code, a sign-in (a session, a remembered origin) and
        // an OAuth2 link.
        let otp = app
            .call(
                "POST",
                &format!("/api/collections/{collection}/request-otp"),
                None,
                Some(json!({"email": email})),
            )
            .await;
        assert_eq!(otp.status(), 200);
        let signed = app.sign_in(collection, &email, PASSWORD).await;
        assert_eq!(signed.status(), 200);
        let token = json(signed).await["token"].as_str().unwrap().to_owned();
        let link = json!({"collectionRef": collection_id, "recordRef": id,
                          "provider": "github", "providerId": format!("gh-{id}")});
        app.post_ok(&su, "/api/collections/_externalAuths/records", link)
            .await;
        for (table, column) in tables {
            assert_eq!(rows_of(&app, table, column, id).await, 1, "{table} of {id}");
        }
        // Its token works now (and is cached from here on).
        assert_eq!(note(Some(token.clone())).await, 200, "{collection} before");

        let path = if emptied {
            format!("/api/collections/{collection}/truncate")
        } else {
            format!("/api/collections/{collection}")
        };
        // Only a superuser may: a guest and a signed-in user (even the
        // account itself) are refused, and nothing goes.
        for (who, token, status) in [
            ("a guest", None, 401),
            ("a user", Some(&kept), 403),
            ("the account", Some(&token), 403),
        ] {
            let resp = app.call("DELETE", &path, token.map(String::as_str), None).await;
            assert_eq!(resp.status(), status, "{who}: {path}");
        }
        for (table, column) in tables {
            assert_eq!(
                rows_of(&app, table, column, id).await,
                1,
                "{table} after refusals"
            );
        }
        let resp = app.call("DELETE", &path, Some(&su), None).await;
        assert_eq!(resp.status(), 204, "{path}");

        // The token now counts for nothing more than no token.
        assert_eq!(
            note(Some(token)).await,
            guest,
            "{collection}'s token after {path}"
        );
        for (table, column) in tables {
            assert_eq!(rows_of(&app, table, column, id).await, 0, "{table} after {path}");
            assert_eq!(
                rows_of(&app, table, column, "keptaccount0001").await,
                1,
                "{table}: another collection's account keeps its rows"
            );
        }
        assert_eq!(
            note(Some(kept.clone())).await,
            200,
            "the users account after {path}"
        );
    }
}
