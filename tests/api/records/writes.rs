//! Creates and updates: the answer is the row as stored, client-chosen ids,
//! `+`/`-` modifiers, unique indexes, and multipart bodies.

use serde_json::json;

use crate::helpers::{assert_envelope, json, spawn_app};

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
