//! `/api/keys`: who may manage keys (superusers in person: never a key),
//! what bad input answers, the shapes, and the secret: shown once, stored
//! only as a hash.

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, assert_envelope, json, spawn_app},
    sse::posts,
};

/// Creates a key as `admin`; answers (id, secret).
pub async fn create_key(app: &TestApp, admin: &str, body: Value) -> (String, String) {
    let created = app.post_ok(admin, "/api/keys", body).await;
    (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

/// A superuser token, a `posts` collection and a user: (admin token, user id, user token).
pub async fn setup(app: &TestApp) -> (String, String, String) {
    let admin = posts(app).await;
    let (user_id, user) = app.sign_up("alice@example.com", "password123").await;
    (admin, user_id, user)
}

#[tokio::test]
async fn only_superusers_in_person_manage_keys() {
    let app = spawn_app().await;
    let (admin, user_id, user) = setup(&app).await;
    let body = json!({"name": "ci", "collection": "users", "record": user_id});
    // Positive control: a superuser token.
    let (id, user_key) = create_key(&app, &admin, body.clone()).await;
    let (_, root_key) = create_key(
        &app,
        &admin,
        json!({"name": "root", "collection": "_superusers", "record": "root@example.com"}),
    )
    .await;
    let paths = [
        ("GET", "/api/keys".to_owned(), None),
        ("POST", "/api/keys".to_owned(), Some(body.clone())),
        ("GET", format!("/api/keys/{id}"), None),
        ("PATCH", format!("/api/keys/{id}"), Some(json!({"name": "x"}))),
        ("DELETE", format!("/api/keys/{id}"), None),
    ];
    for (method, path, body) in &paths {
        let guest = app.call(method, path, None, body.clone()).await;
        assert_envelope(guest, 401).await;
        let member = app.call(method, path, Some(&user), body.clone()).await;
        assert_envelope(member, 403).await;
        // Keys never manage keys, not even a superuser's key, and not in
        // the bare form the SDKs send either.
        for key in [&user_key, &root_key] {
            let bearer = format!("Bearer {key}");
            let as_key = app.call(method, path, Some(&bearer), body.clone()).await;
            let refused = assert_envelope(as_key, 403).await;
            assert!(
                refused["message"].as_str().unwrap().contains("API keys"),
                "{refused}"
            );
            let bare = app.call(method, path, Some(key), body.clone()).await;
            assert_envelope(bare, 403).await;
        }
    }
    // The root key itself works where a superuser may go (positive
    // control for the 403s above being about /api/keys).
    let collections = app
        .call(
            "GET",
            "/api/collections",
            Some(&format!("Bearer {root_key}")),
            None,
        )
        .await;
    assert_eq!(collections.status(), 200);
    // And the superuser's own requests went through all along.
    let listed = app.call("GET", "/api/keys", Some(&admin), None).await;
    assert_eq!(listed.status(), 200);
    assert_eq!(json(listed).await.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bad_input_is_a_400_naming_each_field() {
    let app = spawn_app().await;
    let (admin, user_id, _) = setup(&app).await;
    let bad = app
        .call(
            "POST",
            "/api/keys",
            Some(&admin),
            Some(json!({
                "name": "",
                "collection": "posts",
                "record": user_id,
                "scopes": [
                    {"collection": "nope", "actions": ["list"]},
                    {"collection": "posts", "actions": ["list", "fly"]},
                    {"collection": "posts", "actions": []}
                ],
                "allowedIps": ["10.0.0.0/8", "10.0.0.0/33", "localhost"],
                "expires": "2001-01-01 00:00:00.000Z"
            })),
        )
        .await;
    let body = assert_envelope(bad, 400).await;
    let data = &body["data"];
    assert_eq!(data["name"]["code"], "validation_required", "{body}");
    assert_eq!(
        data["collection"]["code"], "validation_invalid_collection",
        "posts is not an auth collection"
    );
    assert_eq!(
        data["scopes"]["0"]["collection"]["code"],
        "validation_invalid_collection"
    );
    assert_eq!(
        data["scopes"]["1"]["actions"]["1"]["code"],
        "validation_invalid_action"
    );
    assert!(
        data["scopes"]["1"]["actions"].get("0").is_none(),
        "list is fine: {body}"
    );
    assert_eq!(data["scopes"]["2"]["actions"]["code"], "validation_required");
    assert_eq!(data["allowedIps"]["1"]["code"], "validation_invalid_ip");
    assert_eq!(data["allowedIps"]["2"]["code"], "validation_invalid_ip");
    assert!(data["allowedIps"].get("0").is_none(), "{body}");
    assert_eq!(data["expires"]["code"], "validation_date_in_past");

    // An unknown record, by id and by email.
    for record in ["aaaaaaaaaaaaaaa", "nobody@example.com"] {
        let resp = app
            .call(
                "POST",
                "/api/keys",
                Some(&admin),
                Some(json!({"name": "k", "collection": "users", "record": record})),
            )
            .await;
        let body = assert_envelope(resp, 400).await;
        assert_eq!(
            body["data"]["record"]["code"], "validation_invalid_record",
            "{body}"
        );
    }
    let garbled = app
        .call(
            "POST",
            "/api/keys",
            Some(&admin),
            Some(json!({"name": "k", "collection": "users", "record": user_id, "expires": "soon"})),
        )
        .await;
    let body = assert_envelope(garbled, 400).await;
    assert_eq!(body["data"]["expires"]["code"], "validation_invalid_datetime");
    // Values of the wrong type: a 400 in the envelope, not a 500. (A
    // single string where a list is expected is read as a list of one, and
    // a number where text is expected as its text, as poem-openapi reads
    // them.)
    for body in [
        json!({"name": "k", "collection": "users", "record": user_id, "scopes": "posts"}),
        json!({"name": "k", "collection": "users", "record": {"id": user_id}}),
        json!(["not", "an", "object"]),
    ] {
        let resp = app
            .call("POST", "/api/keys", Some(&admin), Some(body.clone()))
            .await;
        assert_eq!(resp.status(), 400, "{body}");
        assert_envelope(resp, 400).await;
    }
    // Nothing of the above was created.
    let listed = json(app.call("GET", "/api/keys", Some(&admin), None).await).await;
    assert_eq!(listed.as_array().unwrap().len(), 0);

    // Positive control: the same with every field fixed, the record by email.
    let created = app
        .post_ok(
            &admin,
            "/api/keys",
            json!({
                "name": "ci",
                "collection": "users",
                "record": "ALICE@example.com",
                "scopes": [{"collection": "posts", "actions": ["list", "view"]}],
                "allowedIps": ["10.0.0.0/8", "127.0.0.1"],
                "expires": "2999-01-01 00:00:00.000Z"
            }),
        )
        .await;
    assert_eq!(created["recordId"], user_id.as_str());
    assert_eq!(created["collectionName"], "users");
    assert_eq!(created["scopes"][0]["collectionName"], "posts");
    assert_eq!(created["scopes"][0]["actions"], json!(["list", "view"]));
    assert_eq!(created["allowedIps"], json!(["10.0.0.0/8", "127.0.0.1"]));
    assert_eq!(created["expires"], "2999-01-01 00:00:00.000Z");

    // Updates are checked the same way, and cannot rebind the key.
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/keys/{id}");
    let resp = app
        .call(
            "PATCH",
            &path,
            Some(&admin),
            Some(json!({"record": "aaaaaaaaaaaaaaa", "allowedIps": ["300.1.1.1"], "expires": "2000-01-01 00:00:00Z"})),
        )
        .await;
    let body = assert_envelope(resp, 400).await;
    assert_eq!(body["data"]["record"]["code"], "validation_immutable");
    assert_eq!(body["data"]["allowedIps"]["0"]["code"], "validation_invalid_ip");
    assert_eq!(body["data"]["expires"]["code"], "validation_date_in_past");
    let unknown = app
        .call(
            "PATCH",
            "/api/keys/nosuchkey",
            Some(&admin),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_envelope(unknown, 404).await;
    let deleted_unknown = app
        .call("DELETE", "/api/keys/nosuchkey", Some(&admin), None)
        .await;
    assert_envelope(deleted_unknown, 404).await;
}

#[tokio::test]
async fn the_secret_is_shown_once_and_stored_only_as_a_hash() {
    let app = spawn_app().await;
    let (admin, user_id, _) = setup(&app).await;
    let created = app
        .post_ok(
            &admin,
            "/api/keys",
            json!({"name": "ci", "collection": "users", "record": user_id}),
        )
        .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("cairn_sk_") && secret.len() > 40, "{secret}");
    let prefix = created["prefix"].as_str().unwrap();
    assert!(secret.starts_with(prefix) && prefix.len() == "cairn_sk_".len() + 8);
    for key in [
        "id",
        "name",
        "prefix",
        "collectionId",
        "recordId",
        "scopes",
        "allowedIps",
        "expires",
        "lastUsed",
        "created",
        "updated",
    ] {
        assert!(created.get(key).is_some(), "{key} in {created}");
    }
    // Neither the list nor the view shows it again.
    let random_part = &secret["cairn_sk_".len()..];
    for path in ["/api/keys".to_owned(), format!("/api/keys/{id}")] {
        let resp = app.call("GET", &path, Some(&admin), None).await;
        assert_eq!(resp.status(), 200);
        let text = resp.text().await.unwrap();
        assert!(text.contains(prefix), "{text}");
        assert!(!text.contains(random_part), "{path} shows the secret: {text}");
        assert!(!text.contains("secret"), "{text}");
    }
    // It works (positive control for the search below).
    let me = app
        .call(
            "GET",
            "/api/collections/users/records",
            Some(&format!("Bearer {secret}")),
            None,
        )
        .await;
    assert_eq!(me.status(), 200);
    app.state.keys.flush_usage(&app.state.store.data).await.unwrap();

    // Search every text cell of every table of data.db for it; the hash
    // is there (positive control: the search reads the table).
    let path = app.dir.path().join("data.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(secret.as_bytes()))
    };
    let (mut found_secret, mut found_hash) = (false, false);
    for table in &tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                let text = match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        String::from_utf8_lossy(t).into_owned()
                    }
                    _ => continue,
                };
                found_secret |= text.contains(random_part);
                found_hash |= text.contains(&hash);
            }
        }
    }
    assert!(found_hash, "the hash is stored ({tables:?})");
    assert!(!found_secret, "the secret is stored in plain text");
    // Nor in the raw files (the WAL included).
    for file in ["data.db", "data.db-wal"] {
        if let Ok(bytes) = std::fs::read(app.dir.path().join(file)) {
            let needle = random_part.as_bytes();
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "{file}");
        }
    }
}

#[tokio::test]
async fn keys_are_listed_changed_and_revoked() {
    let app = spawn_app().await;
    let (admin, user_id, _) = setup(&app).await;
    let (id, _) = create_key(
        &app,
        &admin,
        json!({"name": "one", "collection": "users", "record": user_id}),
    )
    .await;
    let path = format!("/api/keys/{id}");
    let changed = app
        .call(
            "PATCH",
            &path,
            Some(&admin),
            Some(json!({"name": "renamed", "scopes": [{"collection": "posts", "actions": ["view", "list", "view"]}]})),
        )
        .await;
    assert_eq!(changed.status(), 200);
    let changed = json(changed).await;
    assert_eq!(changed["name"], "renamed");
    assert_eq!(changed["scopes"][0]["actions"], json!(["list", "view"]));
    let viewed = json(app.call("GET", &path, Some(&admin), None).await).await;
    assert_eq!(viewed["name"], "renamed");
    assert_eq!(viewed["scopes"], changed["scopes"]);
    let gone = app.call("DELETE", &path, Some(&admin), None).await;
    assert_eq!(gone.status(), 204);
    assert_envelope(app.call("GET", &path, Some(&admin), None).await, 404).await;
    // The document describes the routes.
    let doc = json(app.call("GET", "/api/openapi.json", Some(&admin), None).await).await;
    assert!(doc["paths"]["/keys"]["post"].is_object(), "{}", doc["paths"]);
    assert!(doc["paths"]["/keys/{id}"]["delete"].is_object());
}
