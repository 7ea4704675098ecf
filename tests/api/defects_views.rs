//! Schema changes to a table that view collections read: every kind of
//! field change works with one view, with several, and with a view over a
//! view; a change that would break a view is refused whole.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

/// Creates `posts` (title, n, tag) with one record, and the views given as
/// (name, query).
async fn posts_with_views(app: &TestApp, token: &str, views: &[(&str, &str)]) {
    app.post_ok(
        token,
        "/api/collections",
        json!({"name": "posts", "type": "base", "fields": [
            {"name": "title", "type": "text"},
            {"name": "n", "type": "number"},
            {"name": "tag", "type": "select", "values": ["a", "b"], "maxSelect": 1},
        ]}),
    )
    .await;
    app.post_ok(
        token,
        "/api/collections/posts/records",
        json!({"title": "hello", "n": 3, "tag": "a"}),
    )
    .await;
    for (name, query) in views {
        app.post_ok(
            token,
            "/api/collections",
            json!({"name": name, "type": "view", "viewQuery": query}),
        )
        .await;
    }
}

async fn collection(app: &TestApp, token: &str, name: &str) -> Value {
    let resp = app
        .call("GET", &format!("/api/collections/{name}"), Some(token), None)
        .await;
    assert_eq!(resp.status(), 200, "GET collection {name}");
    json(resp).await
}

/// `name`'s current fields, changed by `edit`, PATCHed back: the answer.
async fn patch_fields(
    app: &TestApp,
    token: &str,
    name: &str,
    extra: Value,
    edit: impl FnOnce(&mut Vec<Value>),
) -> reqwest::Response {
    let mut fields = collection(app, token, name).await["fields"]
        .as_array()
        .unwrap()
        .clone();
    edit(&mut fields);
    let mut body = json!({ "fields": fields });
    if let Value::Object(extra) = extra {
        body.as_object_mut().unwrap().extend(extra);
    }
    app.call(
        "PATCH",
        &format!("/api/collections/{name}"),
        Some(token),
        Some(body),
    )
    .await
}

async fn ok(resp: reqwest::Response) -> Value {
    let status = resp.status();
    let body = json(resp).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The single record a view shows.
async fn only_record(app: &TestApp, token: &str, view: &str) -> Value {
    let list = ok(app
        .call(
            "GET",
            &format!("/api/collections/{view}/records"),
            Some(token),
            None,
        )
        .await)
    .await;
    assert_eq!(list["totalItems"], 1, "{view}: {list}");
    list["items"][0].clone()
}

fn field_named<'a>(fields: &'a mut [Value], name: &str) -> &'a mut Value {
    fields.iter_mut().find(|f| f["name"] == name).unwrap()
}

/// Runs every kind of field change on `posts` and checks each view still
/// answers with the record after each.
async fn every_field_change_keeps(app: &TestApp, token: &str, views: &[&str]) {
    let check = || async {
        for view in views {
            let record = only_record(app, token, view).await;
            assert_eq!(record["title"], "hello", "{view}: {record}");
        }
    };
    // Add a field.
    ok(patch_fields(app, token, "posts", json!({}), |f| {
        f.push(json!({"name": "extra", "type": "bool"}))
    })
    .await)
    .await;
    check().await;
    // Rename a field no view reads.
    ok(patch_fields(app, token, "posts", json!({}), |f| {
        field_named(f, "extra")["name"] = json!("extra2")
    })
    .await)
    .await;
    check().await;
    // Single to multiple: the column's type changes.
    ok(patch_fields(app, token, "posts", json!({}), |f| {
        field_named(f, "tag")["maxSelect"] = json!(2)
    })
    .await)
    .await;
    check().await;
    // Remove a field no view reads.
    ok(patch_fields(app, token, "posts", json!({}), |f| {
        f.retain(|x| x["name"] != "extra2")
    })
    .await)
    .await;
    check().await;
    // Add and remove together, with a new index.
    ok(patch_fields(
        app,
        token,
        "posts",
        json!({"indexes": ["CREATE INDEX idx_posts_title ON posts (title)"]}),
        |f| {
            f.retain(|x| x["name"] != "tag");
            f.push(json!({"name": "body", "type": "editor"}));
        },
    )
    .await)
    .await;
    check().await;

    // The data survived every rebuild, as the table has it.
    let record = ok(app
        .call("GET", "/api/collections/posts/records", Some(token), None)
        .await)
    .await;
    assert_eq!(record["items"][0]["title"], "hello");
    assert_eq!(record["items"][0]["n"], 3);
}

#[tokio::test]
async fn field_changes_work_under_one_view() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    posts_with_views(&app, &token, &[("v1", "select id, title, n from posts")]).await;
    every_field_change_keeps(&app, &token, &["v1"]).await;
    assert_eq!(only_record(&app, &token, "v1").await["n"], 3);
}

#[tokio::test]
async fn field_changes_work_under_several_views_and_a_view_over_a_view() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    posts_with_views(
        &app,
        &token,
        &[
            ("v1", "select id, title from posts"),
            ("v2", "select id, title, n from posts"),
            ("vv", "select id, title from v1"),
            (
                "agg",
                "select id, title, (select count(*) from posts) as total from v2",
            ),
        ],
    )
    .await;
    every_field_change_keeps(&app, &token, &["v1", "v2", "vv", "agg"]).await;
    assert_eq!(only_record(&app, &token, "agg").await["total"], 1);
}

#[tokio::test]
async fn renaming_a_table_that_views_read_carries_the_views_along() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    posts_with_views(
        &app,
        &token,
        &[
            ("v1", "select id, title from posts"),
            ("vv", "select id, title from v1"),
        ],
    )
    .await;
    // A rename alone, then a rename with a column change.
    ok(app
        .call(
            "PATCH",
            "/api/collections/posts",
            Some(&token),
            Some(json!({"name": "articles"})),
        )
        .await)
    .await;
    assert_eq!(only_record(&app, &token, "vv").await["title"], "hello");
    ok(
        patch_fields(&app, &token, "articles", json!({"name": "entries"}), |f| {
            f.push(json!({"name": "extra", "type": "bool"}))
        })
        .await,
    )
    .await;
    assert_eq!(only_record(&app, &token, "v1").await["title"], "hello");
    assert_eq!(only_record(&app, &token, "vv").await["title"], "hello");

    // The stored query follows the table, so the view can be edited from it.
    let v1 = collection(&app, &token, "v1").await;
    let query = v1["viewQuery"].as_str().unwrap();
    assert!(query.contains("entries") && !query.contains("posts"), "{query}");
    ok(app
        .call(
            "PATCH",
            "/api/collections/v1",
            Some(&token),
            Some(json!({"viewQuery": format!("{query} where 1")})),
        )
        .await)
    .await;
    assert_eq!(only_record(&app, &token, "vv").await["title"], "hello");
}

/// The schema SQLite holds for `name`, to prove a refused change left it.
fn table_sql(app: &TestApp, name: &str) -> String {
    let conn = rusqlite::Connection::open(app.dir.path().join("data.db")).unwrap();
    conn.query_row("SELECT sql FROM sqlite_master WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .unwrap()
}

#[tokio::test]
async fn a_change_that_would_break_a_view_is_refused_whole() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    posts_with_views(
        &app,
        &token,
        &[
            ("v1", "select id, title from posts"),
            ("v2", "select id, n from posts"),
            ("vv", "select id, title from v1"),
        ],
    )
    .await;
    let posts_before = collection(&app, &token, "posts").await;
    let sql_before = table_sql(&app, "posts");

    // Deleting a field a view reads, together with an added field.
    let refused = assert_envelope(
        patch_fields(&app, &token, "posts", json!({}), |f| {
            f.retain(|x| x["name"] != "n");
            f.push(json!({"name": "extra", "type": "bool"}));
        })
        .await,
        400,
    )
    .await;
    assert!(refused["message"].as_str().unwrap().contains("v2"), "{refused}");
    // Renaming a field that a view, and a view over it, read.
    let refused = assert_envelope(
        patch_fields(&app, &token, "posts", json!({}), |f| {
            field_named(f, "title")["name"] = json!("headline")
        })
        .await,
        400,
    )
    .await;
    assert!(refused["message"].as_str().unwrap().contains("v1"), "{refused}");
    // Deleting the table.
    assert_envelope(
        app.call("DELETE", "/api/collections/posts", Some(&token), None)
            .await,
        400,
    )
    .await;
    // A view query that drops what a view over it reads.
    let refused = assert_envelope(
        app.call(
            "PATCH",
            "/api/collections/v1",
            Some(&token),
            Some(json!({"viewQuery": "select id from posts"})),
        )
        .await,
        400,
    )
    .await;
    assert!(refused["message"].as_str().unwrap().contains("vv"), "{refused}");
    // Renaming a view another view reads.
    assert_envelope(
        app.call(
            "PATCH",
            "/api/collections/v1",
            Some(&token),
            Some(json!({"name": "v1b"})),
        )
        .await,
        400,
    )
    .await;

    // Nothing of any of them was applied.
    assert_eq!(collection(&app, &token, "posts").await, posts_before);
    assert_eq!(table_sql(&app, "posts"), sql_before);
    assert_eq!(only_record(&app, &token, "v2").await["n"], 3);
    assert_eq!(only_record(&app, &token, "vv").await["title"], "hello");

    // Positive control: once no view reads them, the same changes pass.
    for view in ["vv", "v2", "v1"] {
        let resp = app
            .call("DELETE", &format!("/api/collections/{view}"), Some(&token), None)
            .await;
        assert_eq!(resp.status(), 204, "delete {view}");
    }
    ok(patch_fields(&app, &token, "posts", json!({}), |f| {
        f.retain(|x| x["name"] != "n");
        field_named(f, "title")["name"] = json!("headline");
    })
    .await)
    .await;
    assert_eq!(only_record(&app, &token, "posts").await["headline"], "hello");
    let resp = app
        .call("DELETE", "/api/collections/posts", Some(&token), None)
        .await;
    assert_eq!(resp.status(), 204);
}
