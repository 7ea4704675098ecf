//! The system fields of a collection keep what the server relies on, as
//! PocketBase 0.40.6 keeps it (each answer observed against its binary):
//! the `id` stays a visible, required text primary key whose drawn values
//! its own checks accept; an auth collection's `email`, `password`,
//! `tokenKey`, `emailVisibility` and `verified` keep their names, types
//! and (for the first three) visibility; the system fields of a system
//! collection are neither renamed nor deleted. Some changes are refused
//! (renaming the `id` was a 500), some quietly set back, as PocketBase
//! does; the controls are the changes it allows, which still save.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

/// An edit of a collection's fields as `GET` shows them.
type Change = fn(&mut Vec<Value>);

async fn fields_of(app: &TestApp, token: &str, collection: &str) -> Vec<Value> {
    let path = format!("/api/collections/{collection}");
    let c = json(app.call("GET", &path, Some(token), None).await).await;
    c["fields"].as_array().unwrap().clone()
}

/// PATCHes `collection`'s fields as `change` leaves them.
async fn change_fields(
    app: &TestApp,
    token: &str,
    collection: &str,
    change: impl FnOnce(&mut Vec<Value>),
) -> reqwest::Response {
    let mut fields = fields_of(app, token, collection).await;
    change(&mut fields);
    let path = format!("/api/collections/{collection}");
    app.call("PATCH", &path, Some(token), Some(json!({ "fields": fields })))
        .await
}

fn named<'a>(fields: &'a mut [Value], name: &str) -> &'a mut Value {
    fields.iter_mut().find(|f| f["name"] == name).unwrap()
}

async fn field_after(resp: reqwest::Response, name: &str) -> Value {
    let status = resp.status();
    let body = json(resp).await;
    assert_eq!(status, 200, "{body}");
    let mut fields = body["fields"].as_array().unwrap().clone();
    named(&mut fields, name).clone()
}

/// An open base collection `name` with a text field `a` and one record.
async fn notes(app: &TestApp, token: &str, name: &str) {
    app.post_ok(
        token,
        "/api/collections",
        json!({"name": name, "listRule": "", "viewRule": "", "createRule": "",
               "fields": [{"name": "a", "type": "text"}]}),
    )
    .await;
    let path = format!("/api/collections/{name}/records");
    app.post_ok(token, &path, json!({"a": "kept"})).await;
}

async fn create_record(app: &TestApp, collection: &str, body: Value) -> reqwest::Response {
    let path = format!("/api/collections/{collection}/records");
    app.call("POST", &path, None, Some(body)).await
}

#[tokio::test]
async fn the_id_field_cannot_be_renamed_retyped_or_swapped() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    notes(&app, &token, "notes").await;
    let before = fields_of(&app, &token, "notes").await;

    let cases: [(&str, Change, &str); 3] = [
        (
            "renamed",
            |f| named(f, "id")["name"] = json!("ident"),
            "validation_missing_primary_key",
        ),
        (
            "retyped",
            |f| named(f, "id")["type"] = json!("number"),
            "validation_missing_primary_key",
        ),
        (
            "swapped for another field named id",
            |f| named(f, "id")["id"] = json!("other123"),
            "validation_system_field_change",
        ),
    ];
    for (label, change, code) in cases {
        let resp = change_fields(&app, &token, "notes", change).await;
        let body = assert_envelope(resp, 400).await;
        assert_eq!(body["data"]["fields"]["code"], code, "{label}: {body}");
        assert_eq!(
            fields_of(&app, &token, "notes").await,
            before,
            "{label}: unchanged"
        );
    }
    // Only the `id` is a primary key (a second one was a 500).
    let resp = change_fields(&app, &token, "notes", |f| {
        named(f, "a")["primaryKey"] = json!(true)
    })
    .await;
    let body = assert_envelope(resp, 400).await;
    assert_eq!(
        body["data"]["fields"]["1"]["primaryKey"]["code"], "validation_unsupported_composite_pk",
        "{body}"
    );
    let list = json(
        app.call("GET", "/api/collections/notes/records", None, None)
            .await,
    )
    .await;
    assert_eq!(list["items"][0]["a"], "kept", "{list}");
}

#[tokio::test]
async fn what_the_id_must_be_is_set_back_and_its_other_options_are_free() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    notes(&app, &token, "notes").await;

    // Set back quietly: hidden (records lost their id), optional, not a
    // primary key, no pattern, not a system field.
    let resp = change_fields(&app, &token, "notes", |f| {
        let id = named(f, "id");
        for (key, value) in [
            ("hidden", json!(true)),
            ("required", json!(false)),
            ("primaryKey", json!(false)),
            ("pattern", json!("")),
            ("system", json!(false)),
        ] {
            id[key] = value;
        }
    })
    .await;
    let id = field_after(resp, "id").await;
    assert_eq!(
        (&id["hidden"], &id["required"], &id["primaryKey"], &id["system"]),
        (&json!(false), &json!(true), &json!(true), &json!(true)),
        "{id}"
    );
    assert_eq!(id["pattern"], "^[a-z0-9]+$");
    let created = json(create_record(&app, "notes", json!({"a": "x"})).await).await;
    assert_eq!(created["id"].as_str().unwrap().len(), 15, "{created}");
    let list = json(
        app.call("GET", "/api/collections/notes/records", None, None)
            .await,
    )
    .await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"].is_string()),
        "{list}"
    );

    // Free: what is shown, and lengths and patterns that agree.
    let resp = change_fields(&app, &token, "notes", |f| {
        let id = named(f, "id");
        id["presentable"] = json!(true);
        id["help"] = json!("the key");
        id["min"] = json!(5);
        id["max"] = json!(20);
        id["autogeneratePattern"] = json!("[a-z]{20}");
    })
    .await;
    let id = field_after(resp, "id").await;
    assert_eq!(
        (&id["presentable"], &id["help"], &id["max"]),
        (&json!(true), &json!("the key"), &json!(20))
    );
    let created = json(create_record(&app, "notes", json!({"a": "y"})).await).await;
    let drawn = created["id"].as_str().unwrap();
    assert!(
        drawn.len() == 20 && drawn.bytes().all(|b| b.is_ascii_lowercase()),
        "{created}"
    );
}

#[tokio::test]
async fn the_id_pattern_must_accept_the_ids_it_draws() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    notes(&app, &token, "notes").await;
    let before = fields_of(&app, &token, "notes").await;

    // Every new record would be refused.
    let refused: [(&str, Change); 3] = [
        ("digits only", |f| named(f, "id")["pattern"] = json!("^[0-9]+$")),
        ("longer than max", |f| {
            named(f, "id")["autogeneratePattern"] = json!("[a-z]{20}")
        }),
        ("min above max", |f| named(f, "id")["min"] = json!(20)),
    ];
    for (label, change) in refused {
        let resp = change_fields(&app, &token, "notes", change).await;
        let body = assert_envelope(resp, 400).await;
        assert_eq!(
            body["data"]["fields"]["0"]["autogeneratePattern"]["code"],
            "validation_invalid_autogenerate_pattern_value",
            "{label}: {body}"
        );
        assert_eq!(fields_of(&app, &token, "notes").await, before, "{label}");
    }
    let resp = change_fields(&app, &token, "notes", |f| {
        named(f, "id")["autogeneratePattern"] = json!("[a-z")
    })
    .await;
    let body = assert_envelope(resp, 400).await;
    assert_eq!(
        body["data"]["fields"]["0"]["autogeneratePattern"]["code"], "validation_invalid_regex",
        "{body}"
    );

    // Controls: the pattern and what is drawn changed together; no
    // pattern to draw from, so the client names each record.
    let resp = change_fields(&app, &token, "notes", |f| {
        named(f, "id")["pattern"] = json!("^[0-9]+$");
        named(f, "id")["autogeneratePattern"] = json!("[0-9]{15}");
    })
    .await;
    assert_eq!(field_after(resp, "id").await["pattern"], "^[0-9]+$");
    let created = json(create_record(&app, "notes", json!({"a": "n"})).await).await;
    let drawn = created["id"].as_str().unwrap();
    assert!(
        drawn.len() == 15 && drawn.bytes().all(|b| b.is_ascii_digit()),
        "{created}"
    );

    let resp = change_fields(&app, &token, "notes", |f| {
        named(f, "id")["autogeneratePattern"] = json!("")
    })
    .await;
    assert_eq!(field_after(resp, "id").await["autogeneratePattern"], "");
    let body = assert_envelope(create_record(&app, "notes", json!({"a": "n"})).await, 400).await;
    assert_eq!(body["data"]["id"]["code"], "validation_required", "{body}");
    let resp = create_record(&app, "notes", json!({"id": "123456789012345", "a": "n"})).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn a_text_fields_autogenerate_pattern_must_fit_the_field() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    for (field, code) in [
        (
            json!({"name": "code", "type": "text", "pattern": "^[0-9]+$", "autogeneratePattern": "[a-z]{5}"}),
            "validation_invalid_autogenerate_pattern_value",
        ),
        (
            json!({"name": "code", "type": "text", "max": 3, "autogeneratePattern": "[a-z]{5}"}),
            "validation_invalid_autogenerate_pattern_value",
        ),
        (
            json!({"name": "code", "type": "text", "autogeneratePattern": "([a-z]{1000}){20}"}),
            "validation_invalid_autogenerate_pattern_value",
        ),
        // A repeat count past Go's bound is no pattern in PocketBase.
        (
            json!({"name": "code", "type": "text", "autogeneratePattern": "[a-z]{100000}"}),
            "validation_invalid_regex",
        ),
        (
            json!({"name": "code", "type": "text", "autogeneratePattern": "(a"}),
            "validation_invalid_regex",
        ),
    ] {
        let body = json!({"name": "codes", "fields": [field]});
        let resp = app
            .call("POST", "/api/collections", Some(&token), Some(body))
            .await;
        let body = assert_envelope(resp, 400).await;
        assert_eq!(
            body["data"]["fields"]["1"]["autogeneratePattern"]["code"], code,
            "{body}"
        );
    }
    let resp = app
        .call("GET", "/api/collections/codes", Some(&token), None)
        .await;
    assert_envelope(resp, 404).await;
    let fine = json!({"name": "codes", "fields": [
        {"name": "code", "type": "text", "pattern": "^inv-[0-9]+$", "max": 12, "autogeneratePattern": "inv-[0-9]{4,8}"}]});
    app.post_ok(&token, "/api/collections", fine).await;
}

#[tokio::test]
async fn auth_system_fields_keep_their_names_types_and_visibility() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let (user_id, _) = app.sign_up("someone@example.com", "some-pass-123").await;
    let before = fields_of(&app, &token, "users").await;

    for name in ["email", "password", "tokenKey", "emailVisibility", "verified"] {
        let renamed = format!("{name}2");
        let resp = change_fields(&app, &token, "users", |f| named(f, name)["name"] = json!(renamed)).await;
        let body = assert_envelope(resp, 400).await;
        assert_eq!(
            body["data"]["fields"]["code"], "validation_system_field_change",
            "{name}: {body}"
        );
        let resp = change_fields(&app, &token, "users", |f| {
            named(f, name)["id"] = json!("swapped1")
        })
        .await;
        let body = assert_envelope(resp, 400).await;
        assert_eq!(
            body["data"]["fields"]["code"], "validation_system_field_change",
            "{name}: {body}"
        );
    }
    assert_eq!(fields_of(&app, &token, "users").await, before);

    // Set back quietly: another type, the visibility the server relies
    // on, a required password and token key.
    let resp = change_fields(&app, &token, "users", |f| {
        named(f, "email")["type"] = json!("url");
        named(f, "verified")["type"] = json!("text");
        named(f, "password")["hidden"] = json!(false);
        named(f, "password")["required"] = json!(false);
        named(f, "tokenKey")["hidden"] = json!(false);
        named(f, "tokenKey")["required"] = json!(false);
    })
    .await;
    assert_eq!(resp.status(), 200);
    let after = fields_of(&app, &token, "users").await;
    assert_eq!(after, before, "all set back");
    let resp = change_fields(&app, &token, "users", |f| {
        named(f, "email")["hidden"] = json!(true)
    })
    .await;
    assert_eq!(field_after(resp, "email").await["hidden"], false);
    // Left out: put back, with their data.
    let resp = change_fields(&app, &token, "users", |f| {
        f.retain(|x| !["email", "password", "verified"].contains(&x["name"].as_str().unwrap()))
    })
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        app.sign_in("users", "someone@example.com", "some-pass-123")
            .await
            .status(),
        200
    );

    // Controls: what PocketBase lets change.
    let resp = change_fields(&app, &token, "users", |f| {
        named(f, "emailVisibility")["hidden"] = json!(true);
        named(f, "verified")["required"] = json!(true);
        named(f, "email")["required"] = json!(false);
        named(f, "password")["min"] = json!(10);
    })
    .await;
    assert_eq!(field_after(resp, "emailVisibility").await["hidden"], true);
    let fields = fields_of(&app, &token, "users").await;
    let of = |name: &str| fields.iter().find(|f| f["name"] == name).unwrap().clone();
    assert_eq!(
        (
            of("verified")["required"].clone(),
            of("email")["required"].clone()
        ),
        (json!(true), json!(false))
    );
    assert_eq!(of("password")["min"], 10);
    let path = format!("/api/collections/users/records/{user_id}");
    let user = json(app.call("GET", &path, Some(&token), None).await).await;
    assert_eq!(user["email"], "someone@example.com", "{user}");
    assert!(
        user.get("password").is_none() && user.get("tokenKey").is_none(),
        "{user}"
    );
}

#[tokio::test]
async fn system_collections_keep_their_system_fields() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    for (collection, field) in [("_superusers", "created"), ("_externalAuths", "provider")] {
        let before = fields_of(&app, &token, collection).await;
        let resp = change_fields(&app, &token, collection, |f| f.retain(|x| x["name"] != field)).await;
        let body = assert_envelope(resp, 400).await;
        assert_eq!(
            body["data"]["fields"]["code"], "validation_system_field_change",
            "{body}"
        );
        let resp = change_fields(&app, &token, collection, |f| {
            named(f, field)["name"] = json!("renamed")
        })
        .await;
        let body = assert_envelope(resp, 400).await;
        assert_eq!(
            body["data"]["fields"]["code"], "validation_system_field_change",
            "{body}"
        );
        assert_eq!(fields_of(&app, &token, collection).await, before);

        // Controls: hiding one, and a field of the superuser's own.
        let resp = change_fields(&app, &token, collection, |f| {
            named(f, field)["hidden"] = json!(true)
        })
        .await;
        assert_eq!(field_after(resp, field).await["hidden"], true);
        let resp = change_fields(&app, &token, collection, |f| {
            f.push(json!({"name": "note", "type": "text"}))
        })
        .await;
        assert_eq!(resp.status(), 200);
        let resp = change_fields(&app, &token, collection, |f| f.retain(|x| x["name"] != "note")).await;
        assert_eq!(resp.status(), 200);
    }
    assert_eq!(
        app.sign_in("_superusers", "root@example.com", "root-pass-123")
            .await
            .status(),
        200
    );
}
