//! Renaming a collection to the same name in another case (`posts` →
//! `Posts`): SQLite treats the two as one table name, so a plain
//! `ALTER TABLE … RENAME` refuses it. PocketBase 0.40.6 allows the change
//! and the views over the table keep working; so must Cairn.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

async fn items(app: &TestApp, token: &str, collection: &str) -> Vec<Value> {
    let resp = app
        .call(
            "GET",
            &format!("/api/collections/{collection}/records"),
            Some(token),
            None,
        )
        .await;
    let status = resp.status();
    let body = json(resp).await;
    assert_eq!(status, 200, "{collection}: {body}");
    body["items"].as_array().unwrap().clone()
}

async fn setup(app: &TestApp, token: &str) {
    app.post_ok(
        token,
        "/api/collections",
        json!({"name": "posts", "type": "base", "fields": [{"name": "title", "type": "text"}]}),
    )
    .await;
    app.post_ok(token, "/api/collections/posts/records", json!({"title": "hello"}))
        .await;
    app.post_ok(
        token,
        "/api/collections",
        json!({"name": "v1", "type": "view", "viewQuery": "select id, title from posts"}),
    )
    .await;
}

#[tokio::test]
async fn a_case_only_rename_keeps_the_rows_and_the_views() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    setup(&app, &token).await;

    let resp = app
        .call(
            "PATCH",
            "/api/collections/posts",
            Some(&token),
            Some(json!({"name": "Posts"})),
        )
        .await;
    let status = resp.status();
    let body = json(resp).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "Posts");
    let rows = items(&app, &token, "Posts").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["title"], "hello");
    assert_eq!(rows[0]["collectionName"], "Posts");
    assert_eq!(items(&app, &token, "v1").await[0]["title"], "hello");

    // A case-only rename together with a column change (the rebuild path).
    let mut fields = body["fields"].as_array().unwrap().clone();
    fields.push(json!({"name": "extra", "type": "bool"}));
    let resp = app
        .call(
            "PATCH",
            "/api/collections/Posts",
            Some(&token),
            Some(json!({"name": "POSTS", "fields": fields})),
        )
        .await;
    let status = resp.status();
    let body = json(resp).await;
    assert_eq!(status, 200, "{body}");
    let rows = items(&app, &token, "POSTS").await;
    assert_eq!(
        (rows[0]["title"].clone(), rows[0]["extra"].clone()),
        (json!("hello"), json!(false))
    );
    assert_eq!(items(&app, &token, "v1").await[0]["title"], "hello");
    app.post_ok(
        &token,
        "/api/collections/POSTS/records",
        json!({"title": "again"}),
    )
    .await;
    assert_eq!(items(&app, &token, "v1").await.len(), 2);
}

#[tokio::test]
async fn a_rename_onto_another_collection_in_another_case_is_still_refused() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    setup(&app, &token).await;
    let resp = app
        .call(
            "PATCH",
            "/api/collections/posts",
            Some(&token),
            Some(json!({"name": "USERS"})),
        )
        .await;
    let body = assert_envelope(resp, 400).await;
    assert_eq!(
        body["data"]["name"]["code"], "validation_collection_name_exists",
        "{body}"
    );
    assert_eq!(items(&app, &token, "posts").await[0]["title"], "hello");
}
