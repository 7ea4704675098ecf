//! `POST /api/collections/meta/dry-run-view`: a view query tried without
//! saving it, for superusers only (PocketBase 0.40's `dryRunViewQuery`).
//! Refusals first, then what a superuser gets, and proof nothing is kept.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

const PATH: &str = "/api/collections/meta/dry-run-view";

/// A `posts` collection with a hidden field and 12 records.
async fn posts(app: &TestApp, token: &str) {
    app.post_ok(
        token,
        "/api/collections",
        json!({"name": "posts", "type": "base", "fields": [
            {"name": "title", "type": "text"},
            {"name": "n", "type": "number"},
            {"name": "secret", "type": "text", "hidden": true},
        ]}),
    )
    .await;
    for i in 1..=12 {
        app.post_ok(
            token,
            "/api/collections/posts/records",
            json!({"title": format!("t{i}"), "n": i, "secret": "s"}),
        )
        .await;
    }
}

async fn dry_run(app: &TestApp, token: Option<&str>, query: Value) -> reqwest::Response {
    app.call("POST", PATH, token, Some(query)).await
}

#[tokio::test]
async fn guests_and_app_users_cannot_try_a_view_query() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    posts(&app, &token).await;
    let (_, user) = app.sign_up("u@example.com", "user-pass-1").await;
    let query = json!({"query": "SELECT id, secret FROM posts"});
    assert_envelope(dry_run(&app, None, query.clone()).await, 401).await;
    let refused = assert_envelope(dry_run(&app, Some(&user), query.clone()).await, 403).await;
    assert!(
        refused.to_string().find("\"s\"").is_none(),
        "no row leaks: {refused}"
    );
    // The positive control: the same request as a superuser.
    assert_eq!(dry_run(&app, Some(&token), query).await.status(), 200);
}

#[tokio::test]
async fn a_bad_query_is_refused_with_the_reason() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    posts(&app, &token).await;
    for blank in [json!({}), json!({"query": ""}), json!({"query": " ; "})] {
        let body = assert_envelope(dry_run(&app, Some(&token), blank).await, 400).await;
        assert_eq!(body["data"]["query"]["code"], "validation_required", "{body}");
    }
    for (query, reason) in [
        ("SELECT title FROM posts", "id column"),
        ("SELEC id FROM posts", "single SELECT"),
        ("SELECT id FROM nowhere", "no such table"),
        ("SELECT id FROM posts; DROP TABLE posts", "Multiple statements"),
        ("DELETE FROM posts RETURNING id", "single SELECT"),
        ("WITH x AS (SELECT id FROM posts) DELETE FROM posts", "read-only"),
    ] {
        let body = assert_envelope(dry_run(&app, Some(&token), json!({"query": query})).await, 400).await;
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(reason), "{query}: {message}");
    }
    // Nothing ran: the records are all there.
    let list = json(
        app.call(
            "GET",
            "/api/collections/posts/records?perPage=1",
            Some(&token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(list["totalItems"], 12);
}

#[tokio::test]
async fn a_superuser_sees_the_fields_and_the_first_rows_and_nothing_is_saved() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    posts(&app, &token).await;
    let before = json(app.call("GET", "/api/collections", Some(&token), None).await).await;

    let resp = dry_run(
        &app,
        Some(&token),
        json!({"query": "SELECT id, title, n * 2 AS twice, secret FROM posts ORDER BY n -- a comment"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body = json(resp).await;
    let fields: Vec<(String, String)> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().into(),
                f["type"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("id", "text"),
        ("title", "text"),
        ("twice", "json"),
        ("secret", "text"),
    ];
    assert_eq!(
        fields,
        want.map(|(n, t)| (n.to_string(), t.to_string())).to_vec(),
        "a column from a field keeps its type; a computed one is json"
    );
    let sample = body["sample"].as_array().unwrap();
    assert_eq!(sample.len(), 10, "the first ten rows");
    assert_eq!(sample[0]["title"], "t1");
    assert_eq!(sample[0]["twice"], 2);
    assert_eq!(sample[9]["twice"], 20);
    assert!(
        sample.iter().all(|r| r.get("secret").is_none()),
        "hidden fields stay hidden"
    );

    let after = json(app.call("GET", "/api/collections", Some(&token), None).await).await;
    assert_eq!(
        before["totalItems"], after["totalItems"],
        "no collection was created"
    );
}
