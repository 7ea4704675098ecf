//! What becomes of an account's existing tokens when the account changes,
//! side by side with the real PocketBase: a new address (set by a manager
//! or a superuser, even one that differs only in case) and a `tokenKey` a
//! superuser sets revoke every earlier token; a write that leaves the
//! address as it was does not. Skipped, saying so, where PocketBase is not
//! installed (as `differential`).
//! With password sign-in off, `auth-methods` offers no identity fields and
//! a sign-in is a 403. A genuine flow token of another auth collection is
//! named as such (`validation_token_collection_mismatch`), and a refresh
//! with a token of another collection names the caller's own. An email
//! change confirmed once its new address is taken names the token's
//! address and the password, as PocketBase does; a negative impersonation
//! lifetime is a validation error. A new `authToken.secret` revokes every
//! token the collection signed.

use serde_json::{Value, json};

use crate::differential::{Server, login, start_both};

/// Whether `token` still refreshes on `collection`.
async fn refreshes(s: &Server, collection: &str, token: &str) -> u16 {
    let path = format!("/api/collections/{collection}/auth-refresh");
    s.call("POST", &path, Some(token), None).await.0
}

async fn account(s: &Server, collection: &str, email: &str, nick: &str) -> String {
    let body =
        json!({"email": email, "password": "pass-word-1", "passwordConfirm": "pass-word-1", "nick": nick});
    let made = s
        .admin("POST", &format!("/api/collections/{collection}/records"), body)
        .await;
    made["id"].as_str().unwrap().to_owned()
}

/// Each step: who writes what to the account, the answer (status, and
/// the body of a refusal) and whether the account's earlier token still
/// refreshes.
async fn steps(s: &Server) -> Vec<Value> {
    let collection = "lifecycle_accounts";
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": collection, "type": "auth", "listRule": "", "viewRule": "", "updateRule": "",
            "manageRule": "@request.auth.nick = 'boss'", "fields": [{"name": "nick", "type": "text"}]}),
    )
    .await;
    let member = account(s, collection, "member@example.com", "").await;
    account(s, collection, "boss@example.com", "boss").await;
    let boss = login(s, collection, "boss@example.com", "pass-word-1").await;
    let records = format!("/api/collections/{collection}/records/{member}");
    let mut out = Vec::new();
    let writes = [
        ("member", json!({"nick": "unchanged address"})),
        ("member", json!({"tokenKey": "y".repeat(40)})),
        ("boss", json!({"email": "member@example.com"})),
        ("boss", json!({"tokenKey": "z".repeat(40)})),
        ("boss", json!({"email": "moved@example.com"})),
        ("superuser", json!({"email": "Moved@example.com"})),
        ("superuser", json!({"tokenKey": "short"})),
        ("superuser", json!({"tokenKey": ""})),
        ("superuser", json!({"tokenKey": "k".repeat(61)})),
        ("superuser", json!({"tokenKey": "k".repeat(40)})),
    ];
    let mut email = "member@example.com".to_owned();
    for (writer, body) in writes {
        let held = login(s, collection, &email, "pass-word-1").await;
        let token = match writer {
            "member" => held.clone(),
            "boss" => boss.clone(),
            _ => s.superuser.clone(),
        };
        let (status, answer) = s.call("PATCH", &records, Some(&token), Some(body.clone())).await;
        if status == 200 {
            email = answer["email"].as_str().unwrap().to_owned();
        }
        out.push(json!({
            "write": format!("{writer}: {body}"),
            "status": status,
            "refusal": if status == 200 { Value::Null } else { answer },
            "earlier token refreshes": refreshes(s, collection, &held).await,
        }));
    }
    out
}

#[tokio::test]
async fn account_changes_revoke_earlier_tokens_as_pocketbase() {
    let Some(both) = start_both().await else {
        return;
    };
    let expected = steps(&both.pb).await;
    let actual = steps(&both.cairn).await;
    // Positive control: a write that keeps the address keeps the token.
    assert_eq!(actual[0]["earlier token refreshes"], 200, "{actual:#?}");
    assert_eq!(expected, actual);
}

/// `auth-methods` and a password sign-in with password sign-in off.
async fn password_off(s: &Server) -> Vec<Value> {
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "lifecycle_nopassword", "type": "auth", "passwordAuth": {"enabled": false}, "fields": []}),
    )
    .await;
    let body =
        json!({"email": "off@example.com", "password": "pass-word-1", "passwordConfirm": "pass-word-1"});
    s.admin("POST", "/api/collections/lifecycle_nopassword/records", body)
        .await;
    let (_, methods) = s
        .call(
            "GET",
            "/api/collections/lifecycle_nopassword/auth-methods",
            None,
            None,
        )
        .await;
    let sign_in = json!({"identity": "off@example.com", "password": "pass-word-1"});
    let (status, refusal) = s
        .call(
            "POST",
            "/api/collections/lifecycle_nopassword/auth-with-password",
            None,
            Some(sign_in),
        )
        .await;
    vec![methods["password"].clone(), json!(status), refusal]
}

#[tokio::test]
async fn password_sign_in_turned_off_answers_as_pocketbase() {
    let Some(both) = start_both().await else {
        return;
    };
    assert_eq!(password_off(&both.pb).await, password_off(&both.cairn).await);
}

/// The token in a mail the sink received (quoted-printable soft breaks
/// undone).
pub(crate) async fn mailed_token(received: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> String {
    let data = tokio::time::timeout(std::time::Duration::from_secs(10), received.recv())
        .await
        .expect("a mail")
        .unwrap();
    let data = data.replace("=\r\n", "").replace("=\n", "");
    let at = data.find("eyJ").expect("a token in the mail");
    data[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect()
}

/// Tokens mailed to an account of one collection, confirmed on another
/// auth collection (whose account has the same address), and a forged
/// token as the control.
async fn foreign_tokens(s: &Server) -> Vec<Value> {
    let (port, mut received) = crate::mail::smtp_sink().await;
    s.admin(
        "PATCH",
        "/api/settings",
        json!({"smtp": {"enabled": true, "host": "127.0.0.1", "port": port},
            "meta": {"senderAddress": "noreply@example.com"}}),
    )
    .await;
    for name in ["lifecycle_home", "lifecycle_away"] {
        s.admin(
            "POST",
            "/api/collections",
            json!({"name": name, "type": "auth", "fields": []}),
        )
        .await;
        account(s, name, "both@example.com", "").await;
    }
    let mut out = Vec::new();
    let reset =
        |token: &str| json!({"token": token, "password": "pass-word-2", "passwordConfirm": "pass-word-2"});
    for (request, confirm) in [
        ("request-verification", "confirm-verification"),
        ("request-password-reset", "confirm-password-reset"),
    ] {
        let path = format!("/api/collections/lifecycle_away/{request}");
        let (status, _) = s
            .call("POST", &path, None, Some(json!({"email": "both@example.com"})))
            .await;
        assert_eq!(status, 204);
        let token = mailed_token(&mut received).await;
        // The signature's first character changed: a token no key signed.
        let sig = token.rfind('.').unwrap() + 1;
        let swap = if token[sig..].starts_with('A') { "B" } else { "A" };
        let forged = format!("{}{swap}{}", &token[..sig], &token[sig + 1..]);
        for token in [token, forged] {
            let path = format!("/api/collections/lifecycle_home/{confirm}");
            out.push(s.call("POST", &path, None, Some(reset(&token))).await.1);
        }
    }
    out
}

#[tokio::test]
async fn a_flow_token_of_another_collection_is_named_as_such() {
    let Some(both) = start_both().await else {
        return;
    };
    let expected = foreign_tokens(&both.pb).await;
    let actual = foreign_tokens(&both.cairn).await;
    assert_eq!(expected, actual);
    assert_eq!(
        actual[0]["data"]["token"]["code"], "validation_token_collection_mismatch",
        "{actual:#?}"
    );
}

/// `auth-refresh` on one collection with a token of another: a user's on
/// `_superusers`, a superuser's on `users`, and (the control) a user's on
/// its own collection.
async fn refresh_elsewhere(s: &Server) -> Vec<Value> {
    account(s, "users", "refresher@example.com", "").await;
    let user = login(s, "users", "refresher@example.com", "pass-word-1").await;
    let mut out = Vec::new();
    for (collection, token) in [("_superusers", &user), ("users", &s.superuser), ("users", &user)] {
        let path = format!("/api/collections/{collection}/auth-refresh");
        let (status, answer) = s.call("POST", &path, Some(token), None).await;
        out.push(json!({"status": status, "refusal": if status == 200 { Value::Null } else { answer }}));
    }
    out
}

#[tokio::test]
async fn a_refresh_on_another_collection_names_the_callers_own() {
    let Some(both) = start_both().await else {
        return;
    };
    let actual = refresh_elsewhere(&both.cairn).await;
    assert_eq!(refresh_elsewhere(&both.pb).await, actual);
    assert_eq!(actual[2]["status"], 200);
}

/// An email change confirmed after its new address was taken by another
/// account (with the right and a wrong password), and one whose address
/// is still free (the control).
async fn changes_to_taken(s: &Server) -> Vec<Value> {
    let (port, mut received) = crate::mail::smtp_sink().await;
    s.admin(
        "PATCH",
        "/api/settings",
        json!({"smtp": {"enabled": true, "host": "127.0.0.1", "port": port},
            "meta": {"senderAddress": "noreply@example.com"}}),
    )
    .await;
    let collection = "lifecycle_movers";
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": collection, "type": "auth", "fields": []}),
    )
    .await;
    account(s, collection, "mover@example.com", "").await;
    let mover = login(s, collection, "mover@example.com", "pass-word-1").await;
    let mut tokens = Vec::new();
    for new_email in ["taken@example.com", "free@example.com"] {
        let path = format!("/api/collections/{collection}/request-email-change");
        let (status, _) = s
            .call("POST", &path, Some(&mover), Some(json!({"newEmail": new_email})))
            .await;
        assert_eq!(status, 204);
        tokens.push(mailed_token(&mut received).await);
    }
    account(s, collection, "taken@example.com", "").await;
    let path = format!("/api/collections/{collection}/confirm-email-change");
    let mut out = Vec::new();
    for (token, password) in [
        (&tokens[0], "pass-word-1"),
        (&tokens[0], "wrong-pass-1"),
        (&tokens[1], "pass-word-1"),
    ] {
        let body = json!({"token": token, "password": password});
        let (status, answer) = s.call("POST", &path, None, Some(body)).await;
        out.push(json!({"status": status, "answer": answer}));
    }
    out
}

#[tokio::test]
async fn an_email_change_to_an_address_taken_since_answers_as_pocketbase() {
    let Some(both) = start_both().await else {
        return;
    };
    let actual = changes_to_taken(&both.cairn).await;
    assert_eq!(changes_to_taken(&both.pb).await, actual);
    assert_eq!(actual[2]["status"], 204);
}

/// Impersonation tokens asked for with a negative, a zero and a given
/// lifetime: the refusal, or whether the token came back.
async fn impersonations(s: &Server) -> Vec<Value> {
    let id = account(s, "users", "impersonated@example.com", "").await;
    let path = format!("/api/collections/users/impersonate/{id}");
    let mut out = Vec::new();
    for duration in [json!(-1), json!(0), json!(100)] {
        let body = json!({"duration": duration});
        let (status, answer) = s.call("POST", &path, Some(&s.superuser), Some(body)).await;
        let shown = if status == 200 {
            json!(answer["token"].is_string())
        } else {
            answer
        };
        out.push(json!({"status": status, "answer": shown}));
    }
    out
}

#[tokio::test]
async fn a_negative_impersonation_lifetime_is_a_validation_error() {
    let Some(both) = start_both().await else {
        return;
    };
    let actual = impersonations(&both.cairn).await;
    assert_eq!(impersonations(&both.pb).await, actual);
    assert_eq!(actual[2]["status"], 200);
}

/// Whether a token still refreshes after each change to its collection's
/// `authToken`: a new lifetime (the control), a new secret (PocketBase's
/// way to sign everyone out), and a secret too short to take.
async fn secret_changes(s: &Server) -> Vec<Value> {
    let collection = "lifecycle_secrets";
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": collection, "type": "auth", "fields": []}),
    )
    .await;
    account(s, collection, "secret@example.com", "").await;
    let mut out = Vec::new();
    for change in [
        json!({"duration": 3600}),
        json!({"secret": "n".repeat(50)}),
        json!({"secret": "short"}),
    ] {
        let held = login(s, collection, "secret@example.com", "pass-word-1").await;
        let path = format!("/api/collections/{collection}");
        let body = json!({"authToken": change});
        let (status, answer) = s.call("PATCH", &path, Some(&s.superuser), Some(body)).await;
        out.push(json!({
            "change": change,
            "status": status,
            "refusal": if status == 200 { Value::Null } else { answer },
            "earlier token refreshes": refreshes(s, collection, &held).await,
        }));
    }
    out
}

#[tokio::test]
async fn a_new_auth_token_secret_signs_everyone_out() {
    let Some(both) = start_both().await else {
        return;
    };
    let actual = secret_changes(&both.cairn).await;
    assert_eq!(secret_changes(&both.pb).await, actual);
    assert_eq!(actual[0]["earlier token refreshes"], 200);
    assert_eq!(actual[1]["earlier token refreshes"], 401);
}
