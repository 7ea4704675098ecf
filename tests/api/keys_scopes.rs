//! API key scopes: each action allowed and refused per collection (the
//! same 403 whether the record exists or not), expansions and batches
//! under the scopes, and protected files read with the key itself.

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, assert_envelope, json, spawn_app},
    keys_api::{create_key, setup},
    keys_use::{bearer, user_key},
};

/// `notes`: every rule open, so each action's answer is the scope's alone.
async fn notes(app: &TestApp, admin: &str) -> String {
    app.post_ok(
        admin,
        "/api/collections",
        json!({
            "name": "notes", "type": "base",
            "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
            "fields": [
                {"name": "text", "type": "text"},
                {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1}
            ]
        }),
    )
    .await;
    let note = app
        .post_ok(admin, "/api/collections/notes/records", json!({"text": "n"}))
        .await;
    note["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn scopes_allow_and_deny_each_action() {
    let app = spawn_app().await;
    let (admin, alice_id, _) = setup(&app).await;
    let note = notes(&app, &admin).await;
    let one = |path: &str| format!("/api/collections/notes/records{path}");
    // What each action sends; every one answers 2xx with full rights.
    let try_action = |action: &'static str, key: String| {
        let app = &app;
        let note = note.clone();
        async move {
            let (method, path, body) = match action {
                "list" => ("GET", one(""), None),
                "view" => ("GET", one(&format!("/{note}")), None),
                "create" => ("POST", one(""), Some(json!({"text": "new"}))),
                "update" => (
                    "PATCH",
                    one(&format!("/{note}")),
                    Some(json!({"text": "changed"})),
                ),
                "delete" => ("DELETE", one(&format!("/{note}")), None),
                _ => unreachable!(),
            };
            app.call(method, &path, Some(&key), body).await
        }
    };
    for action in ["list", "view", "create", "update", "delete"] {
        let allowed = bearer(
            &user_key(
                &app,
                &admin,
                &alice_id,
                json!({"scopes": [{"collection": "notes", "actions": [action]}]}),
            )
            .await,
        );
        let others: Vec<&str> = ["list", "view", "create", "update", "delete"]
            .into_iter()
            .filter(|a| *a != action)
            .collect();
        for other in others {
            let resp = try_action(other, allowed.clone()).await;
            let body = assert_envelope(resp, 403).await;
            assert!(
                body["message"].as_str().unwrap().contains("scopes"),
                "{action} key, {other}: {body}"
            );
        }
        let resp = try_action(action, allowed.clone()).await;
        assert!(resp.status().is_success(), "{action} allowed: {}", resp.status());
    }
    // An unscoped collection: the same 403 for a record that exists and
    // one that does not, so the key learns nothing there.
    let notes_only = bearer(
        &user_key(
            &app,
            &admin,
            &alice_id,
            json!({"scopes": [{"collection": "notes", "actions": ["list", "view", "create", "update", "delete"]}]}),
        )
        .await,
    );
    for path in [
        format!("/api/collections/users/records/{alice_id}"),
        "/api/collections/users/records/aaaaaaaaaaaaaaa".to_owned(),
    ] {
        for method in ["GET", "PATCH", "DELETE"] {
            let resp = app.call(method, &path, Some(&notes_only), Some(json!({}))).await;
            let body = assert_envelope(resp, 403).await;
            assert!(
                body["message"].as_str().unwrap().contains("scopes"),
                "{method} {path}: {body}"
            );
        }
    }
    // Positive control: without scopes the same key's record may view itself.
    let full = bearer(&user_key(&app, &admin, &alice_id, json!({})).await);
    let own = app
        .call(
            "GET",
            &format!("/api/collections/users/records/{alice_id}"),
            Some(&full),
            None,
        )
        .await;
    assert_eq!(own.status(), 200);

    // Expanding into an unscoped collection shows nothing of it.
    let authored = app
        .post_ok(
            &admin,
            "/api/collections/notes/records",
            json!({"text": "by alice", "author": alice_id}),
        )
        .await;
    let path = format!(
        "/api/collections/notes/records/{}?expand=author",
        authored["id"].as_str().unwrap()
    );
    let with_full = json(app.call("GET", &path, Some(&full), None).await).await;
    assert_eq!(
        with_full["expand"]["author"]["id"],
        alice_id.as_str(),
        "{with_full}"
    );
    let with_scoped = json(app.call("GET", &path, Some(&notes_only), None).await).await;
    assert_eq!(with_scoped["author"], alice_id.as_str());
    assert!(with_scoped["expand"].get("author").is_none(), "{with_scoped}");

    // A batch runs each request under the key's scopes.
    let list_only = bearer(
        &user_key(
            &app,
            &admin,
            &alice_id,
            json!({"scopes": [{"collection": "notes", "actions": ["create"]}]}),
        )
        .await,
    );
    let batch = |collection: &str| json!({"requests": [{"method": "POST", "url": format!("/api/collections/{collection}/records"), "body": {"text": "b"}}]});
    let ok = app
        .call("POST", "/api/batch", Some(&list_only), Some(batch("notes")))
        .await;
    assert_eq!(ok.status(), 200);
    let refused = app
        .call("POST", "/api/batch", Some(&list_only), Some(batch("posts")))
        .await;
    assert_eq!(refused.status(), 400, "a failed batch request fails the batch");
    let body = json(refused).await;
    assert_eq!(body["data"]["requests"]["0"]["response"]["status"], 403, "{body}");
}

#[tokio::test]
async fn a_key_downloads_protected_files_with_itself_within_its_scopes() {
    let (app, admin, _) = crate::files::with_docs("@request.auth.id != ''").await;
    let (reader_id, _) = app.sign_up("reader@example.com", "reader-pass-1").await;
    let rec = crate::files::create(
        &app,
        crate::files::form(&[], &[("secret", "s.txt", b"classified".to_vec())]),
    )
    .await;
    let id = rec["id"].as_str().unwrap();
    let path = format!("/api/files/docs/{id}/{}", rec["secret"].as_str().unwrap());
    let absent = format!("/api/files/docs/{id}/nothing_here.txt");
    let key = |scopes: Value| {
        let (app, admin, reader_id) = (&app, admin.clone(), reader_id.clone());
        async move {
            let body = json!({"name": "f", "collection": "users", "record": reader_id, "scopes": scopes});
            bearer(&create_key(app, &admin, body).await.1)
        }
    };
    let viewer = key(json!([{"collection": "docs", "actions": ["view"]}])).await;
    let lister = key(json!([{"collection": "docs", "actions": ["list"]}])).await;
    let unscoped = key(json!([])).await;
    for k in [&viewer, &unscoped] {
        let resp = app.call("GET", &path, Some(k), None).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.text().await.unwrap(), "classified");
    }
    // Without `view` on docs: the same 404 as for a file that is not there.
    assert_envelope(app.call("GET", &path, Some(&lister), None).await, 404).await;
    assert_envelope(app.call("GET", &absent, Some(&viewer), None).await, 404).await;
    // A guest, and the view rule for the key's record still apply.
    assert_envelope(app.get(&path).await, 404).await;
    let guest_rule = app
        .call(
            "PATCH",
            "/api/collections/docs",
            Some(&admin),
            Some(json!({"viewRule": "@request.auth.email = 'someone-else@example.com'"})),
        )
        .await;
    assert_eq!(guest_rule.status(), 200);
    assert_envelope(app.call("GET", &path, Some(&viewer), None).await, 404).await;
}

/// A scoped superuser key filters as what it is narrowed to, not as a
/// superuser: a filter naming a locked collection or a hidden field
/// cannot probe what lies outside its scopes, though the same filter from
/// the superuser's own token reads it.
#[tokio::test]
async fn a_scoped_superuser_key_cannot_probe_outside_its_scopes_with_filters() {
    let app = spawn_app().await;
    let (admin, _, _) = setup(&app).await;
    notes(&app, &admin).await;
    app.post_ok(
        &admin,
        "/api/collections",
        json!({"name": "vault", "type": "base", "fields": [{"name": "code", "type": "text"}]}),
    )
    .await;
    app.post_ok(&admin, "/api/collections/vault/records", json!({"code": "abc"}))
        .await;
    let (_, key) = create_key(
        &app,
        &admin,
        json!({"name": "narrow", "collection": "_superusers", "record": "root@example.com",
               "scopes": [{"collection": "notes", "actions": ["list"]}]}),
    )
    .await;
    let key = bearer(&key);
    let probe = |guess: &str| {
        format!(
            "/api/collections/notes/records?filter={}",
            crate::helpers::filter(&format!("@collection.vault.code ?= '{guess}'"))
        )
    };
    let count = |resp: reqwest::Response| async move {
        let status = resp.status().as_u16();
        let body: Value = json(resp).await;
        (status, body["items"].as_array().map_or(0, Vec::len))
    };
    // The superuser's own token reads the locked collection: the guess shows.
    assert_eq!(
        count(app.call("GET", &probe("abc"), Some(&admin), None).await).await,
        (200, 1)
    );
    assert_eq!(
        count(app.call("GET", &probe("zzz"), Some(&admin), None).await).await,
        (200, 0)
    );
    // The scoped key gets one answer whatever it guesses.
    let right = count(app.call("GET", &probe("abc"), Some(&key), None).await).await;
    let wrong = count(app.call("GET", &probe("zzz"), Some(&key), None).await).await;
    assert_eq!(right, wrong, "a right guess and a wrong one look alike");
    assert_eq!(right, (403, 0), "refused as out of its reach");
    // The control: the key itself works, on what it is scoped to.
    assert_eq!(
        count(
            app.call("GET", "/api/collections/notes/records", Some(&key), None)
                .await
        )
        .await
        .0,
        200
    );
}
