//! `/api/collections/{c}/records`: every field type through storage and
//! back, validation codes, modifiers, rules, lists and deletes.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

/// A collection with one field of every type (and some constraints).
async fn every_type(app: &TestApp, token: &str) -> Value {
    app.post_ok(
        token,
        "/api/collections",
        json!({
            "name": "everything",
            "fields": [
                {"name": "text", "type": "text", "min": 2, "max": 5, "pattern": "^[a-z]+$"},
                {"name": "number", "type": "number", "min": 1, "max": 10},
                {"name": "int", "type": "number", "onlyInt": true},
                {"name": "bool", "type": "bool"},
                {"name": "email", "type": "email", "exceptDomains": ["blocked.com"]},
                {"name": "url", "type": "url"},
                {"name": "editor", "type": "editor", "maxSize": 20},
                {"name": "date", "type": "date", "min": "2024-01-01 00:00:00.000Z"},
                {"name": "select", "type": "select", "values": ["a", "b", "c"]},
                {"name": "multi", "type": "select", "values": ["a", "b", "c"], "maxSelect": 2},
                {"name": "json", "type": "json", "maxSize": 50},
                {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_"},
                {"name": "file", "type": "file"},
                {"name": "secret", "type": "password", "min": 6},
                {"name": "geo", "type": "geoPoint"},
                {"name": "required", "type": "text", "required": true},
                {"name": "created", "type": "autodate", "onCreate": true},
                {"name": "updated", "type": "autodate", "onCreate": true, "onUpdate": true},
            ],
        }),
    )
    .await
}

async fn make_user(app: &TestApp, token: &str) -> String {
    let user =
        json!({"email": "owner@example.com", "password": "owner-pass-1", "passwordConfirm": "owner-pass-1"});
    app.post_ok(token, "/api/collections/users/records", user).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn every_field_type_round_trips_through_storage() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    every_type(&app, &token).await;
    let owner = make_user(&app, &token).await;
    let input = json!({
        "text": "abc", "number": 10, "int": 3, "bool": true, "email": "x@example.com",
        "url": "https://example.com/a?b=c", "editor": "<p>hi</p>", "date": "2024-05-06T07:08:09Z",
        "select": "b", "multi": ["a", "c"], "json": {"k": [1, 2]}, "owner": owner,
        "secret": "s3cret!", "geo": {"lon": 12.5, "lat": -45}, "required": "yes",
        "created": "1999-01-01 00:00:00.000Z",
    });
    let created = app
        .post_ok(&token, "/api/collections/everything/records", input)
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let read = json(
        app.call(
            "GET",
            &format!("/api/collections/everything/records/{id}"),
            Some(&token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(read, created, "what was created is what is read back");
    assert_eq!(read["collectionName"], "everything");
    assert_eq!(read["number"], 10);
    assert_eq!(read["bool"], true);
    assert_eq!(read["date"], "2024-05-06 07:08:09.000Z");
    assert_eq!(read["multi"], json!(["a", "c"]));
    assert_eq!(read["json"], json!({"k": [1, 2]}));
    assert_eq!(read["owner"], owner);
    assert_eq!(read["geo"], json!({"lon": 12.5, "lat": -45}));
    assert_eq!(read["secret"], "", "a password is never returned");
    assert_ne!(
        read["created"], "1999-01-01 00:00:00.000Z",
        "autodates are the server's"
    );
    assert_eq!(read["created"].as_str().unwrap().len(), 24);

    // Stored as PocketBase lays it out: the password hashed, lists as JSON.
    let conn = rusqlite::Connection::open(app.dir.path().join("data.db")).unwrap();
    let (secret, multi): (String, String) = conn
        .query_row("SELECT secret, multi FROM everything WHERE id = ?1", [&id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert!(secret.starts_with("$argon2id$"));
    assert_eq!(multi, r#"["a","c"]"#);

    // Unset fields read back as their type's empty value.
    let bare = json(
        app.call(
            "POST",
            "/api/collections/everything/records",
            Some(&token),
            Some(json!({"required": "x"})),
        )
        .await,
    )
    .await;
    assert_eq!(bare["text"], "");
    assert_eq!(bare["number"], 0);
    assert_eq!(bare["bool"], false);
    assert_eq!(bare["multi"], json!([]));
    assert_eq!(bare["json"], Value::Null);
    assert_eq!(bare["geo"], json!({"lon": 0, "lat": 0}));
    assert_eq!(bare["owner"], "");
}

/// A write answers with the row as stored: taken from the write itself
/// when it changed something, read back when it changed nothing.
#[tokio::test]
async fn updates_answer_with_the_record_as_stored() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    app.post_ok(
        &token,
        "/api/collections",
        json!({"name": "plain", "fields": [
            {"name": "n", "type": "number"}, {"name": "j", "type": "json"}, {"name": "t", "type": "text"}]}),
    )
    .await;
    let created = app
        .post_ok(&token, "/api/collections/plain/records", json!({"t": "x"}))
        .await;
    let path = format!(
        "/api/collections/plain/records/{}",
        created["id"].as_str().unwrap()
    );
    let changes = [
        json!({"n": 4.0, "j": 5}),
        json!({}),
        json!({"t": "x"}),
        json!({"j": {"a": [1]}, "n+": 2.5}),
    ];
    for change in changes {
        let resp = app.call("PATCH", &path, Some(&token), Some(change.clone())).await;
        assert_eq!(resp.status(), 200, "{change}");
        let updated = json(resp).await;
        let read = json(app.call("GET", &path, Some(&token), None).await).await;
        assert_eq!(updated, read, "after {change}");
    }
    let read = json(app.call("GET", &path, Some(&token), None).await).await;
    assert_eq!(read["n"], 6.5);
    assert_eq!(read["j"], json!({"a": [1]}));
    assert_eq!(read["t"], "x");
}

#[tokio::test]
async fn every_field_type_reports_its_validation_code() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    every_type(&app, &token).await;
    let cases = [
        (json!({"text": "a"}), "text", "validation_min_text_constraint"),
        (
            json!({"text": "abcdef"}),
            "text",
            "validation_max_text_constraint",
        ),
        (json!({"text": "ABC"}), "text", "validation_invalid_format"),
        (
            json!({"number": -1}),
            "number",
            "validation_min_number_constraint",
        ),
        (
            json!({"number": 11}),
            "number",
            "validation_max_number_constraint",
        ),
        (json!({"int": 1.5}), "int", "validation_only_int_constraint"),
        (json!({"email": "nope"}), "email", "validation_is_email"),
        (
            json!({"email": "a@blocked.com"}),
            "email",
            "validation_email_domain_not_allowed",
        ),
        (json!({"url": "not a url"}), "url", "validation_invalid_url"),
        (
            json!({"editor": "x".repeat(21)}),
            "editor",
            "validation_content_size_limit",
        ),
        (
            json!({"date": "2023-12-31"}),
            "date",
            "validation_min_greater_equal_than_required",
        ),
        (json!({"select": "z"}), "select", "validation_invalid_value"),
        (
            json!({"multi": ["a", "b", "c"]}),
            "multi",
            "validation_too_many_values",
        ),
        (
            json!({"json": {"big": "x".repeat(60)}}),
            "json",
            "validation_json_size_limit",
        ),
        (
            json!({"owner": "missingmissing1"}),
            "owner",
            "validation_missing_rel_records",
        ),
        (
            json!({"secret": "short"}),
            "secret",
            "validation_min_text_constraint",
        ),
        (
            json!({"geo": {"lon": 0, "lat": 91}}),
            "geo",
            "validation_invalid_latitude",
        ),
        (json!({"id": "abc"}), "id", "validation_min_text_constraint"),
        (
            json!({"id": "ABCDEFGHIJ_2345"}),
            "id",
            "validation_invalid_format",
        ),
    ];
    for (mut body, field, code) in cases {
        if body.get("required").is_none() {
            body["required"] = json!("x");
        }
        let resp = app
            .call(
                "POST",
                "/api/collections/everything/records",
                Some(&token),
                Some(body.clone()),
            )
            .await;
        let err = assert_envelope(resp, 400).await;
        assert_eq!(err["message"], "Failed to create record.");
        assert_eq!(err["data"][field]["code"], code, "{body} → {err}");
    }
    // Boundaries are allowed.
    let ok =
        json!({"required": "x", "text": "ab", "number": 1, "editor": "x".repeat(20), "date": "2024-01-01"});
    assert_eq!(
        app.call(
            "POST",
            "/api/collections/everything/records",
            Some(&token),
            Some(ok)
        )
        .await
        .status(),
        200
    );

    // Every problem is reported at once, and nothing is written.
    let body = assert_envelope(
        app.call(
            "POST",
            "/api/collections/everything/records",
            Some(&token),
            Some(json!({"text": "a", "email": "b"})),
        )
        .await,
        400,
    )
    .await;
    let fields: Vec<&String> = body["data"].as_object().unwrap().keys().collect();
    assert_eq!(fields, ["email", "required", "text"]);
    let list = json(
        app.call("GET", "/api/collections/everything/records", Some(&token), None)
            .await,
    )
    .await;
    assert_eq!(list["totalItems"], 1);
}

#[tokio::test]
async fn client_ids_modifiers_and_unique_indexes() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    app.post_ok(
        &token,
        "/api/collections",
        json!({
            "name": "items",
            "fields": [
                {"name": "code", "type": "text"},
                {"name": "tags", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3},
                {"name": "n", "type": "number"},
            ],
            "indexes": ["CREATE UNIQUE INDEX idx_code ON items (code) WHERE code != ''"],
        }),
    )
    .await;
    let path = "/api/collections/items/records";
    let made = json(
        app.call(
            "POST",
            path,
            Some(&token),
            Some(json!({"id": "abcdefghij12345", "code": "one", "tags": ["a"], "n": 5})),
        )
        .await,
    )
    .await;
    assert_eq!(made["id"], "abcdefghij12345", "a valid client id is kept");
    let dup = assert_envelope(
        app.call("POST", path, Some(&token), Some(json!({"id": "abcdefghij12345"})))
            .await,
        400,
    )
    .await;
    assert_eq!(dup["data"]["id"]["code"], "validation_not_unique");
    let dup = assert_envelope(
        app.call("POST", path, Some(&token), Some(json!({"code": "one"})))
            .await,
        400,
    )
    .await;
    assert_eq!(dup["data"]["code"]["code"], "validation_not_unique");

    let one = format!("{path}/abcdefghij12345");
    let r = json(
        app.call(
            "PATCH",
            &one,
            Some(&token),
            Some(json!({"tags+": ["b", "a"], "+tags": "c", "n+": 2})),
        )
        .await,
    )
    .await;
    assert_eq!(r["tags"], json!(["c", "a", "b"]));
    assert_eq!(r["n"], 7);
    let r = json(
        app.call("PATCH", &one, Some(&token), Some(json!({"tags-": "a", "n-": 10})))
            .await,
    )
    .await;
    assert_eq!(r["tags"], json!(["c", "b"]));
    assert_eq!(r["n"], -3);
    // An invalid update changes nothing.
    let bad = app
        .call(
            "PATCH",
            &one,
            Some(&token),
            Some(json!({"code": "two", "tags": ["zzz"]})),
        )
        .await;
    assert_envelope(bad, 400).await;
    let r = json(app.call("GET", &one, Some(&token), None).await).await;
    assert_eq!(r["code"], "one");
}

#[tokio::test]
async fn rules_guard_every_action() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    app.call(
        "POST",
        "/api/collections",
        Some(&token),
        Some(json!({"name": "locked", "fields": [{"name": "t", "type": "text"}]})),
    )
    .await;
    let path = "/api/collections/locked/records";
    // null rules: superusers only, 403 for everyone else.
    let body = assert_envelope(app.call("GET", path, None, None).await, 403).await;
    assert_eq!(body["message"], "Only superusers can perform this action.");
    assert_envelope(app.call("POST", path, None, Some(json!({"t": "x"}))).await, 403).await;
    let made = json(
        app.call("POST", path, Some(&token), Some(json!({"t": "x"})))
            .await,
    )
    .await;
    let one = format!("{path}/{}", made["id"].as_str().unwrap());
    assert_envelope(app.call("GET", &one, None, None).await, 403).await;
    assert_envelope(app.call("PATCH", &one, None, Some(json!({"t": "y"}))).await, 403).await;
    assert_envelope(app.call("DELETE", &one, None, None).await, 403).await;

    // "" opens an action to everyone.
    app.call(
        "PATCH",
        "/api/collections/locked",
        Some(&token),
        Some(json!({"listRule": "", "viewRule": ""})),
    )
    .await;
    let list = json(app.call("GET", path, None, None).await).await;
    assert_eq!(list["totalItems"], 1);
    assert_eq!(app.call("GET", &one, None, None).await.status(), 200);

    // An expression rule filters rows: the list shows only matching rows,
    // a hidden record is a 404, and superusers see everything.
    app.call(
        "PATCH",
        "/api/collections/locked",
        Some(&token),
        Some(json!({"listRule": "t = 'x'", "viewRule": "t = 'x'"})),
    )
    .await;
    let other = json(
        app.call("POST", path, Some(&token), Some(json!({"t": "y"})))
            .await,
    )
    .await;
    let list = json(app.call("GET", path, None, None).await).await;
    assert_eq!(list["totalItems"], 1);
    assert_eq!(list["items"][0]["t"], "x");
    assert_eq!(app.call("GET", &one, None, None).await.status(), 200);
    assert_envelope(
        app.call(
            "GET",
            &format!("{path}/{}", other["id"].as_str().unwrap()),
            None,
            None,
        )
        .await,
        404,
    )
    .await;
    // A client filter narrows further but can never widen the rule.
    let list = json(
        app.call(
            "GET",
            &format!("{path}?filter=t%20%3D%20'y'%20%7C%7C%20t%20!%3D%20''"),
            None,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(list["totalItems"], 1, "{list}");
    let list = json(app.call("GET", path, Some(&token), None).await).await;
    assert_eq!(list["totalItems"], 2, "superusers bypass rules");

    assert_envelope(
        app.call("GET", "/api/collections/nope/records", None, None).await,
        404,
    )
    .await;
}

#[tokio::test]
async fn lists_page_and_sort() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    app.call(
        "POST",
        "/api/collections",
        Some(&token),
        Some(json!({"name": "nums", "listRule": "", "fields": [{"name": "n", "type": "number"}, {"name": "hush", "type": "text", "hidden": true}]})),
    )
    .await;
    for n in [3, 1, 2, 5, 4] {
        app.call(
            "POST",
            "/api/collections/nums/records",
            Some(&token),
            Some(json!({"n": n, "hush": "s"})),
        )
        .await;
    }
    let page = json(
        app.call(
            "GET",
            "/api/collections/nums/records?perPage=2&page=2&sort=-n",
            None,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(page["page"], 2);
    assert_eq!(page["perPage"], 2);
    assert_eq!(page["totalItems"], 5);
    assert_eq!(page["totalPages"], 3);
    let ns: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, [3, 2]);
    assert!(
        page["items"][0].get("hush").is_none(),
        "hidden fields are never serialized"
    );
    let default = json(app.call("GET", "/api/collections/nums/records", None, None).await).await;
    let ns: Vec<i64> = default["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, [3, 1, 2, 5, 4], "insertion order by default");
    let skip = json(
        app.call(
            "GET",
            "/api/collections/nums/records?skipTotal=1&perPage=5000",
            None,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        (
            skip["totalItems"].clone(),
            skip["totalPages"].clone(),
            skip["perPage"].clone()
        ),
        (json!(-1), json!(-1), json!(1000))
    );
    assert_envelope(
        app.call("GET", "/api/collections/nums/records?sort=nope", None, None)
            .await,
        400,
    )
    .await;
    assert_envelope(
        app.call("GET", "/api/collections/nums/records?sort=hush", None, None)
            .await,
        403,
    )
    .await;
    assert_envelope(
        app.call("GET", "/api/collections/nums/records?page=abc", None, None)
            .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn deletes_cascade_clear_or_refuse() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let parent = json(
        app.call(
            "POST",
            "/api/collections",
            Some(&token),
            Some(json!({"name": "parents", "fields": [{"name": "t", "type": "text"}]})),
        )
        .await,
    )
    .await;
    let pid = parent["id"].clone();
    let kids = json!({"name": "kids", "fields": [
        {"name": "cascade", "type": "relation", "collectionId": pid, "cascadeDelete": true},
        {"name": "optional", "type": "relation", "collectionId": pid, "maxSelect": 3},
        {"name": "must", "type": "relation", "collectionId": pid, "required": true},
    ]});
    assert_eq!(
        app.call("POST", "/api/collections", Some(&token), Some(kids))
            .await
            .status(),
        200
    );
    let mk = |body: Value| {
        app.call(
            "POST",
            "/api/collections/parents/records",
            Some(&token),
            Some(body),
        )
    };
    let p1 = json(mk(json!({"t": "1"})).await).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let p2 = json(mk(json!({"t": "2"})).await).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let p3 = json(mk(json!({"t": "3"})).await).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let kid = |body: Value| app.call("POST", "/api/collections/kids/records", Some(&token), Some(body));
    let k1 = json(kid(json!({"cascade": p1, "optional": [p2, p3], "must": p3})).await).await;
    assert!(k1["id"].is_string(), "{k1}");
    let k1 = k1["id"].as_str().unwrap().to_owned();

    // p2 is only an optional reference: deleting it clears it from k1.
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/collections/parents/records/{p2}"),
            Some(&token),
            None
        )
        .await
        .status(),
        204
    );
    let got = json(
        app.call(
            "GET",
            &format!("/api/collections/kids/records/{k1}"),
            Some(&token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(got["optional"], json!([p3]));
    // p3 is a required reference: refused, nothing changes.
    let body = assert_envelope(
        app.call(
            "DELETE",
            &format!("/api/collections/parents/records/{p3}"),
            Some(&token),
            None,
        )
        .await,
        400,
    )
    .await;
    assert!(body["message"].as_str().unwrap().contains("required relation"));
    let got = json(
        app.call(
            "GET",
            &format!("/api/collections/kids/records/{k1}"),
            Some(&token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(got["optional"], json!([p3]), "the refused delete rolled back");
    // p1 cascades: k1 goes with it.
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/collections/parents/records/{p1}"),
            Some(&token),
            None
        )
        .await
        .status(),
        204
    );
    assert_envelope(
        app.call(
            "GET",
            &format!("/api/collections/kids/records/{k1}"),
            Some(&token),
            None,
        )
        .await,
        404,
    )
    .await;
    assert_envelope(
        app.call(
            "DELETE",
            &format!("/api/collections/parents/records/{p1}"),
            Some(&token),
            None,
        )
        .await,
        404,
    )
    .await;
}

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
async fn multipart_bodies_with_plain_fields_and_json_payload() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    app.post_ok(
        &token,
        "/api/collections",
        json!({"name": "forms", "createRule": "", "viewRule": "", "fields": [
            {"name": "title", "type": "text"},
            {"name": "n", "type": "number"},
            {"name": "flag", "type": "bool"},
            {"name": "tags", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3},
            {"name": "meta", "type": "json"},
            {"name": "extra", "type": "json"},
        ]}),
    )
    .await;
    let form = reqwest::multipart::Form::new()
        .text("title", "from a form")
        .text("n", "42")
        .text("flag", "true")
        .text("tags", "a")
        .text("tags", "c")
        .text("meta", r#"{"k":1}"#)
        .text("@jsonPayload", r#"{"extra":{"nested":[1,2]}}"#);
    let resp = app
        .client
        .post(app.url("/api/collections/forms/records"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let r = json(resp).await;
    assert_eq!(r["title"], "from a form");
    assert_eq!(r["n"], 42);
    assert_eq!(r["flag"], true);
    assert_eq!(r["tags"], json!(["a", "c"]), "repeated parts make a list");
    assert_eq!(r["meta"], json!({"k": 1}), "a json field's form text is decoded");
    assert_eq!(r["extra"], json!({"nested": [1, 2]}));

    let bad = reqwest::multipart::Form::new().text("@jsonPayload", "{not json");
    let resp = app
        .client
        .post(app.url("/api/collections/forms/records"))
        .multipart(bad)
        .send()
        .await
        .unwrap();
    assert_envelope(resp, 400).await;
    let not_object = app
        .client
        .post(app.url("/api/collections/forms/records"))
        .header("content-type", "application/json")
        .body("[1,2]")
        .send()
        .await
        .unwrap();
    assert_envelope(not_object, 400).await;
}

#[tokio::test]
async fn owner_rules_use_the_callers_record() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    app.post_ok(
        &token,
        "/api/collections",
        json!({"name": "notes", "fields": [
                {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_"},
                {"name": "body", "type": "text"},
            ],
            "listRule": "owner = @request.auth.id",
            "viewRule": "owner = @request.auth.id",
            "createRule": "@request.auth.id != '' && @request.body.owner = @request.auth.id",
            "updateRule": "owner = @request.auth.id",
            "deleteRule": "owner = @request.auth.id"}),
    )
    .await;
    let (ann_id, ann_token) = app.sign_up("ann@example.com", "pass-word-1").await;
    let (bob_id, bob_token) = app.sign_up("bob@example.com", "pass-word-1").await;
    let ids = [ann_id, bob_id];
    let tokens = [ann_token, bob_token];
    let (ann, bob) = (&tokens[0], &tokens[1]);

    // Users read their own user record (the default users rules), not others'.
    let own = app
        .call(
            "GET",
            &format!("/api/collections/users/records/{}", ids[0]),
            Some(ann),
            None,
        )
        .await;
    assert_eq!(own.status(), 200);
    assert_envelope(
        app.call(
            "GET",
            &format!("/api/collections/users/records/{}", ids[1]),
            Some(ann),
            None,
        )
        .await,
        404,
    )
    .await;

    // Create rule: guests and forged owners get 400 with nothing written.
    let path = "/api/collections/notes/records";
    let body = assert_envelope(
        app.call("POST", path, None, Some(json!({"owner": ids[0], "body": "x"})))
            .await,
        400,
    )
    .await;
    assert_eq!(body["message"], "Failed to create record.");
    assert_eq!(body["data"], json!({}));
    assert_envelope(
        app.call(
            "POST",
            path,
            Some(bob),
            Some(json!({"owner": ids[0], "body": "forged"})),
        )
        .await,
        400,
    )
    .await;
    let note = json(
        app.call(
            "POST",
            path,
            Some(ann),
            Some(json!({"owner": ids[0], "body": "mine"})),
        )
        .await,
    )
    .await;
    let one = format!("{path}/{}", note["id"].as_str().unwrap());

    let ann_list = json(app.call("GET", path, Some(ann), None).await).await;
    assert_eq!(ann_list["totalItems"], 1);
    let bob_list = json(app.call("GET", path, Some(bob), None).await).await;
    assert_eq!(bob_list["totalItems"], 0, "the forged create left nothing behind");
    let all = json(app.call("GET", path, Some(&token), None).await).await;
    assert_eq!(all["totalItems"], 1, "the refused creates were rolled back");
    assert_envelope(app.call("GET", &one, Some(bob), None).await, 404).await;
    assert_envelope(
        app.call("PATCH", &one, Some(bob), Some(json!({"body": "hacked"})))
            .await,
        404,
    )
    .await;
    assert_envelope(app.call("DELETE", &one, Some(bob), None).await, 404).await;
    let patched = json(
        app.call("PATCH", &one, Some(ann), Some(json!({"body": "edited"})))
            .await,
    )
    .await;
    assert_eq!(patched["body"], "edited");

    // Client filters may not reach into @request or hidden fields.
    let denied = app
        .call(
            "GET",
            "/api/collections/notes/records?filter=%40request.auth.id%20%3D%20''",
            Some(ann),
            None,
        )
        .await;
    assert_envelope(denied, 403).await;
    let bad = app
        .call(
            "GET",
            "/api/collections/notes/records?filter=nope%20%3D%201",
            Some(ann),
            None,
        )
        .await;
    assert_envelope(bad, 400).await;
    assert_eq!(app.call("DELETE", &one, Some(ann), None).await.status(), 204);

    // A rule that does not compile is refused when the collection is saved.
    let broken = app
        .call(
            "PATCH",
            "/api/collections/notes",
            Some(&token),
            Some(json!({"listRule": "missing = 1"})),
        )
        .await;
    let body = assert_envelope(broken, 400).await;
    assert_eq!(body["data"]["listRule"]["code"], "validation_invalid_rule");
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
    let probe = |token: Option<String>, filter: &'static str| {
        let app = &app;
        async move {
            let path = format!("/api/collections/users/records?filter={filter}");
            json(app.call("GET", &path, token.as_deref(), None).await).await["totalItems"].clone()
        }
    };
    assert_eq!(probe(None, "email%3D'hidden@example.com'").await, 0);
    assert_eq!(probe(None, "email~'hidden'").await, 0);
    assert_eq!(probe(None, "email%3D'shown@example.com'").await, 1);
    assert_eq!(
        probe(Some(hidden_token.clone()), "email%3D'hidden@example.com'").await,
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

/// Totals are cached per data version: every kind of write (create,
/// update, delete) shows in the very next list, and each caller's rule
/// gives its own total.
#[tokio::test]
async fn list_totals_follow_every_write_and_each_callers_rule() {
    let app = spawn_app().await;
    let admin = app.superuser_token().await;
    let (ann, ann_token) = app.sign_up("ann@example.com", "password-123").await;
    let (bob, bob_token) = app.sign_up("bob@example.com", "password-123").await;
    app.post_ok(
        &admin,
        "/api/collections",
        json!({"name": "notes", "listRule": "owner = @request.auth.id", "fields": [
            {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_"},
            {"name": "text", "type": "text"}]}),
    )
    .await;
    let mut ann_notes = Vec::new();
    for (owner, text) in [(&ann, "a"), (&ann, "b"), (&bob, "a")] {
        let note = app
            .post_ok(
                &admin,
                "/api/collections/notes/records",
                json!({"owner": owner, "text": text}),
            )
            .await;
        if owner == &ann {
            ann_notes.push(note["id"].as_str().unwrap().to_owned());
        }
    }
    let total = |token: Option<&'static str>, filter: &'static str| {
        let app = &app;
        let token = token.map(|t| {
            if t == "ann" {
                ann_token.clone()
            } else {
                bob_token.clone()
            }
        });
        async move {
            let path = format!("/api/collections/notes/records?filter={filter}");
            let resp = app.call("GET", &path, token.as_deref(), None).await;
            assert_eq!(resp.status(), 200);
            json(resp).await["totalItems"].as_u64().unwrap()
        }
    };
    // Each caller, asked twice (the second answer may come from the cache).
    for _ in 0..2 {
        assert_eq!(total(Some("ann"), "").await, 2);
        assert_eq!(total(Some("bob"), "").await, 1);
        assert_eq!(total(None, "").await, 0);
        assert_eq!(total(Some("ann"), "text%3D'a'").await, 1);
    }
    app.post_ok(
        &admin,
        "/api/collections/notes/records",
        json!({"owner": ann, "text": "c"}),
    )
    .await;
    assert_eq!(total(Some("ann"), "").await, 3, "after a create");
    let moved = app
        .call(
            "PATCH",
            &format!("/api/collections/notes/records/{}", ann_notes[0]),
            Some(&admin),
            Some(json!({"owner": bob})),
        )
        .await;
    assert_eq!(moved.status(), 200);
    assert_eq!(total(Some("ann"), "").await, 2, "after an update");
    assert_eq!(total(Some("bob"), "").await, 2, "after an update");
    let deleted = app
        .call(
            "DELETE",
            &format!("/api/collections/notes/records/{}", ann_notes[1]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(total(Some("ann"), "").await, 1, "after a delete");
    assert_eq!(total(Some("ann"), "text%3D'a'").await, 0, "after a delete");
}
