//! A scoped API key's own filters and sorts reach no collection its scopes
//! do not let it list or view: a relation hop, a back-relation or an
//! account's email outside them is refused (400) whatever it guesses, so
//! a right guess and a wrong one answer alike. Its record's own token and
//! a key without scopes read through the same relations (the controls).

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, filter, json, spawn_app},
    keys_api::setup,
    keys_use::{bearer, user_key},
};

/// `secrets` (open to everyone), `notes` pointing at a secret and at an
/// author, `tags` pointing back at notes; one of each, the secret's code
/// `abc`, the note's author alice.
async fn related(app: &TestApp, admin: &str, alice_id: &str) {
    let open = json!({"listRule": "", "viewRule": ""});
    let collection = |name: &str, fields: Value| {
        let mut body = open.clone();
        body["name"] = json!(name);
        body["type"] = json!("base");
        body["fields"] = fields;
        body
    };
    let secrets = app
        .post_ok(
            admin,
            "/api/collections",
            collection("secrets", json!([{"name": "code", "type": "text"}])),
        )
        .await;
    let notes = app
        .post_ok(
            admin,
            "/api/collections",
            collection(
                "notes",
                json!([
                    {"name": "text", "type": "text"},
                    {"name": "secret", "type": "relation", "collectionId": secrets["id"], "maxSelect": 1},
                    {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1}
                ]),
            ),
        )
        .await;
    app.post_ok(
        admin,
        "/api/collections",
        collection(
            "tags",
            json!([
                {"name": "label", "type": "text"},
                {"name": "note", "type": "relation", "collectionId": notes["id"], "maxSelect": 1}
            ]),
        ),
    )
    .await;
    let secret = app
        .post_ok(admin, "/api/collections/secrets/records", json!({"code": "abc"}))
        .await;
    let note = app
        .post_ok(
            admin,
            "/api/collections/notes/records",
            json!({"text": "n", "secret": secret["id"], "author": alice_id}),
        )
        .await;
    app.post_ok(
        admin,
        "/api/collections/tags/records",
        json!({"label": "abc", "note": note["id"]}),
    )
    .await;
}

/// The status and, for a list, how many records it answered.
async fn probe(app: &TestApp, auth: &str, query: &str) -> (u16, Option<usize>, Value) {
    let resp = app
        .call(
            "GET",
            &format!("/api/collections/notes/records?{query}"),
            Some(auth),
            None,
        )
        .await;
    let status = resp.status().as_u16();
    let body = json(resp).await;
    let items = body["items"].as_array().map(Vec::len);
    (status, items, body)
}

fn by(expr: &str) -> String {
    format!("filter={}", filter(expr))
}

#[tokio::test]
async fn a_scoped_key_cannot_reach_past_its_scopes_through_relations() {
    let app = spawn_app().await;
    let (admin, alice_id, alice) = setup(&app).await;
    related(&app, &admin, &alice_id).await;
    // Alice's email is hers to see, so her own token reads it through the
    // relation as it reads the others.
    let guesses = [
        ("secret.code", "abc", "zzz"),
        ("tags_via_note.label", "abc", "zzz"),
        ("author.email", "alice@example.com", "bob@example.com"),
    ];
    let scoped = bearer(
        &user_key(
            &app,
            &admin,
            &alice_id,
            json!({"scopes": [{"collection": "notes", "actions": ["list"]}]}),
        )
        .await,
    );
    let unscoped = bearer(&user_key(&app, &admin, &alice_id, json!({})).await);
    for (path, right, wrong) in guesses {
        let right = by(&format!("{path} = '{right}'"));
        let wrong = by(&format!("{path} = '{wrong}'"));
        // Controls: the record's token and a key without scopes read
        // through the relation, so the guess shows.
        for auth in [&alice, &unscoped] {
            assert_eq!(probe(&app, auth, &right).await.1, Some(1), "{path}");
            assert_eq!(probe(&app, auth, &wrong).await.1, Some(0), "{path}");
        }
        // The scoped key: one refusal, whatever it guesses.
        let (status, items, body) = probe(&app, &scoped, &right).await;
        let (wrong_status, _, wrong_body) = probe(&app, &scoped, &wrong).await;
        assert_eq!((status, items), (400, None), "{path}: {body}");
        assert_eq!(body, wrong_body, "{path}: a right and a wrong guess answer alike");
        assert_eq!(wrong_status, 400);
    }
    // A sort through a relation outside the scopes is refused the same
    // way; the token's is not.
    assert_eq!(probe(&app, &alice, "sort=secret.code").await.0, 200);
    assert_eq!(probe(&app, &scoped, "sort=secret.code").await.0, 400);
    // A collection that does not exist answers as one outside the scopes:
    // the key learns no names.
    let (_, _, unknown) = probe(&app, &scoped, &by("nope_via_note.label = 'x'")).await;
    let (_, _, outside) = probe(&app, &scoped, &by("tags_via_note.label = 'x'")).await;
    assert_eq!(unknown["message"], outside["message"]);
}

/// A scope that lets the key view the related collection lets its filters
/// reach it (the rules of that collection still apply).
#[tokio::test]
async fn a_scope_on_the_related_collection_lets_the_filter_reach_it() {
    let app = spawn_app().await;
    let (admin, alice_id, _) = setup(&app).await;
    related(&app, &admin, &alice_id).await;
    let key = bearer(
        &user_key(
            &app,
            &admin,
            &alice_id,
            json!({"scopes": [
                {"collection": "notes", "actions": ["list"]},
                {"collection": "secrets", "actions": ["view"]}
            ]}),
        )
        .await,
    );
    assert_eq!(probe(&app, &key, &by("secret.code = 'abc'")).await.1, Some(1));
    assert_eq!(probe(&app, &key, &by("secret.code = 'zzz'")).await.1, Some(0));
    assert_eq!(probe(&app, &key, "sort=secret.code").await.0, 200);
    // Tags are still outside.
    assert_eq!(probe(&app, &key, &by("tags_via_note.label = 'abc'")).await.0, 400);
}
