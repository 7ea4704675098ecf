//! Records of auth collections: hidden secrets, token revocation on a
//! password change, the auth rule at sign-in, and who sees an account's
//! email.

use serde_json::{Value, json};

use crate::helpers::{assert_envelope, filter, json, spawn_app};

#[tokio::test]
async fn auth_records_hide_secrets_and_password_changes_revoke_tokens() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let mismatch = json!({"email": "a@example.com", "password": "first-pass-1", "passwordConfirm": "other"});
    let body = assert_envelope(
        app.call("POST", "/api/collections/users/records", None, Some(mismatch))
            .await,
        400,
    )
    .await;
    assert_eq!(
        body["data"]["passwordConfirm"]["code"],
        "validation_values_mismatch"
    );
    let user =
        json!({"email": "a@example.com", "password": "first-pass-1", "passwordConfirm": "first-pass-1"});
    let created = json(
        app.call("POST", "/api/collections/users/records", None, Some(user))
            .await,
    )
    .await;
    assert!(
        created.get("password").is_none() && created.get("tokenKey").is_none(),
        "{created}"
    );
    let id = created["id"].as_str().unwrap().to_owned();
    let login = |password: &'static str| {
        app.call(
            "POST",
            "/api/collections/users/auth-with-password",
            None,
            Some(json!({"identity": "A@example.com", "password": password})),
        )
    };
    let wrong = assert_envelope(login("wrong-pass-1").await, 400).await;
    assert_eq!(wrong["message"], "Failed to authenticate.");
    let session = json(login("first-pass-1").await).await;
    let user_token = session["token"].as_str().unwrap().to_owned();
    assert_eq!(session["record"]["id"], id.as_str());

    // The owner may view itself once rules are evaluated (query issue);
    // superusers can change the password, which revokes the old token.
    let me = format!("/api/collections/users/records/{id}");
    let changed = app
        .call(
            "PATCH",
            &me,
            Some(&token),
            Some(json!({"password": "second-pass-2", "passwordConfirm": "second-pass-2"})),
        )
        .await;
    assert_eq!(changed.status(), 200);
    let still = app.call("GET", "/api/collections", Some(&user_token), None).await;
    assert_envelope(still, 401).await;
    assert_eq!(login("second-pass-2").await.status(), 200);
}

#[tokio::test]
async fn the_auth_rule_decides_who_may_sign_in() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let user = json!({"email": "v@example.com", "password": "pass-word-1", "passwordConfirm": "pass-word-1"});
    assert_eq!(
        app.call("POST", "/api/collections/users/records", None, Some(user))
            .await
            .status(),
        200
    );
    let login = || {
        app.call(
            "POST",
            "/api/collections/users/auth-with-password",
            None,
            Some(json!({"identity": "v@example.com", "password": "pass-word-1"})),
        )
    };
    assert_eq!(login().await.status(), 200, "authRule \"\" lets everyone in");
    for (rule, status) in [
        (json!("verified = true"), 403),
        (json!(null), 403),
        (json!("email ~ 'v@'"), 200),
    ] {
        let patched = app
            .call(
                "PATCH",
                "/api/collections/users",
                Some(&token),
                Some(json!({"authRule": rule})),
            )
            .await;
        assert_eq!(patched.status(), 200);
        let resp = login().await;
        assert_eq!(resp.status().as_u16(), status, "authRule {rule}");
        if status == 403 {
            let body = assert_envelope(resp, 403).await;
            assert_eq!(
                body["message"],
                "The request doesn't satisfy the collection requirements to authenticate."
            );
        }
    }
    // A wrong password is still the same 400 whatever the rule says.
    let wrong = app
        .call(
            "POST",
            "/api/collections/users/auth-with-password",
            None,
            Some(json!({"identity": "v@example.com", "password": "nope-nope-1"})),
        )
        .await;
    assert_envelope(wrong, 400).await;
}

#[tokio::test]
async fn owners_cannot_change_their_email_or_verified_state_directly() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let (id, own) = app.sign_up("own@example.com", "pass-word-1").await;
    let me = format!("/api/collections/users/records/{id}");
    for (body, field) in [
        (json!({"email": "new@example.com"}), "email"),
        (json!({"verified": true}), "verified"),
    ] {
        let err = assert_envelope(app.call("PATCH", &me, Some(&own), Some(body)).await, 400).await;
        assert_eq!(err["data"][field]["code"], "validation_values_mismatch");
    }
    // Sending the unchanged values is fine; a password change needs the old one.
    let same = app
        .call(
            "PATCH",
            &me,
            Some(&own),
            Some(json!({"email": "own@example.com", "name": "Me"})),
        )
        .await;
    assert_eq!(same.status(), 200);
    let no_old = app
        .call(
            "PATCH",
            &me,
            Some(&own),
            Some(json!({"password": "next-pass-1", "passwordConfirm": "next-pass-1"})),
        )
        .await;
    assert_eq!(
        assert_envelope(no_old, 400).await["data"]["oldPassword"]["code"],
        "validation_required"
    );
    // A superuser may change both.
    let by_admin = json(
        app.call(
            "PATCH",
            &me,
            Some(&token),
            Some(json!({"email": "new@example.com", "verified": true})),
        )
        .await,
    )
    .await;
    assert_eq!(by_admin["email"], "new@example.com");
    assert_eq!(by_admin["verified"], true);
}

/// PocketBase's email visibility: an account's email is shown to
/// superusers and to the account itself, to others only when the account
/// turned `emailVisibility` on; expanded accounts included.
#[tokio::test]
async fn emails_show_only_to_their_owner_superusers_or_when_made_visible() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    app.call(
        "PATCH",
        "/api/collections/users",
        Some(&root),
        Some(json!({"listRule": "", "viewRule": ""})),
    )
    .await;
    let (hidden_id, hidden_token) = app.sign_up("hidden@example.com", "pass-word-1").await;
    let (shown_id, _) = app.sign_up("shown@example.com", "pass-word-1").await;
    app.call(
        "PATCH",
        &format!("/api/collections/users/records/{shown_id}"),
        Some(&root),
        Some(json!({"emailVisibility": true})),
    )
    .await;
    let users = app
        .post_ok(
            &root,
            "/api/collections",
            json!({"name": "notes", "listRule": "", "viewRule": "", "fields": [
        {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_"}]}),
        )
        .await;
    assert_eq!(users["name"], "notes");
    app.post_ok(
        &root,
        "/api/collections/notes/records",
        json!({"author": hidden_id}),
    )
    .await;

    let view = |token: Option<String>, id: String| {
        let app = &app;
        async move {
            json(
                app.call(
                    "GET",
                    &format!("/api/collections/users/records/{id}"),
                    token.as_deref(),
                    None,
                )
                .await,
            )
            .await
        }
    };
    assert!(
        view(None, hidden_id.clone()).await.get("email").is_none(),
        "guests do not see it"
    );
    assert_eq!(
        view(Some(hidden_token.clone()), hidden_id.clone()).await["email"],
        "hidden@example.com"
    );
    assert_eq!(
        view(Some(root.clone()), hidden_id.clone()).await["email"],
        "hidden@example.com"
    );
    assert_eq!(view(None, shown_id.clone()).await["email"], "shown@example.com");

    let listed = json(
        app.call("GET", "/api/collections/users/records", None, None)
            .await,
    )
    .await;
    let emails: Vec<&Value> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u.get("email"))
        .collect();
    assert_eq!(emails, vec![&json!("shown@example.com")], "{listed}");

    // Nor can a filter probe a hidden email (PocketBase: none found).
    let probe = |token: Option<String>, expr: &'static str| {
        let app = &app;
        async move {
            let path = format!("/api/collections/users/records?filter={}", filter(expr));
            json(app.call("GET", &path, token.as_deref(), None).await).await["totalItems"].clone()
        }
    };
    assert_eq!(probe(None, "email='hidden@example.com'").await, 0);
    assert_eq!(probe(None, "email~'hidden'").await, 0);
    assert_eq!(probe(None, "email='shown@example.com'").await, 1);
    assert_eq!(
        probe(Some(hidden_token.clone()), "email='hidden@example.com'").await,
        1
    );
    assert_eq!(probe(Some(root.clone()), "email~'hidden'").await, 1);

    let expanded = json(
        app.call("GET", "/api/collections/notes/records?expand=author", None, None)
            .await,
    )
    .await;
    let author = &expanded["items"][0]["expand"]["author"];
    assert_eq!(author["id"], hidden_id.as_str());
    assert!(author.get("email").is_none(), "expanded accounts too: {author}");
}

/// The accounts a `manageRule` matches show their emails to their managers,
/// in lists and views alike; everyone else still sees only their own.
#[tokio::test]
async fn managers_see_the_emails_of_the_accounts_they_manage() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let rules =
        json!({"listRule": "", "viewRule": "", "manageRule": "@request.auth.email = 'boss@example.com'"});
    assert_eq!(
        app.call("PATCH", "/api/collections/users", Some(&root), Some(rules))
            .await
            .status(),
        200
    );
    let (boss_id, boss) = app.sign_up("boss@example.com", "pass-word-1").await;
    let (staff_id, staff) = app.sign_up("staff@example.com", "pass-word-1").await;

    let get = |token: &str, path: String| {
        let (app, token) = (&app, token.to_owned());
        async move { json(app.call("GET", &path, Some(&token), None).await).await }
    };
    let emails = |listed: Value| -> Vec<Value> {
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|u| u.get("email").cloned())
            .collect()
    };
    let list = "/api/collections/users/records".to_owned();
    let view = |id: &str| format!("/api/collections/users/records/{id}");

    assert_eq!(get(&boss, view(&staff_id)).await["email"], "staff@example.com");
    assert_eq!(
        emails(get(&boss, list.clone()).await),
        vec![json!("boss@example.com"), json!("staff@example.com")]
    );
    let seen = get(&staff, view(&boss_id)).await;
    assert_eq!(seen["id"], boss_id.as_str());
    assert!(seen.get("email").is_none(), "{seen}");
    assert_eq!(emails(get(&staff, list).await), vec![json!("staff@example.com")]);

    // Others may sort by email too (a hidden one sorts as empty).
    let ids = |listed: Value| -> Vec<Value> {
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].clone())
            .collect()
    };
    let sorted = get(&staff, "/api/collections/users/records?sort=-email".to_owned()).await;
    assert_eq!(
        ids(sorted.clone()),
        vec![json!(staff_id), json!(boss_id)],
        "{sorted}"
    );
    let sorted = get(&staff, "/api/collections/users/records?sort=email".to_owned()).await;
    assert_eq!(
        ids(sorted.clone()),
        vec![json!(boss_id), json!(staff_id)],
        "{sorted}"
    );
}
