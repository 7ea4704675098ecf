//! Collection names that SQLite reserves (`sqlite_…`) or that Cairn's own
//! tables and indexes hold are refused with a 400 naming `name`, on
//! create and on rename, for base and view collections alike.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, spawn_app};

async fn refused(app: &TestApp, root: &str, resp: reqwest::Response, what: &str) {
    let body = assert_envelope(resp, 400).await;
    let name = what.split(' ').next().unwrap();
    // The names of PocketBase's own collections that Cairn keeps as
    // internal tables are taken, in PocketBase's words; the rest invalid.
    let code = match name {
        "_otps" | "_mfas" | "_authOrigins" => "validation_collection_name_exists",
        _ => "validation_collection_name_invalid",
    };
    assert_eq!(body["data"]["name"]["code"], code, "{what}: {body}");
    assert!(body["data"]["name"]["message"].as_str().is_some(), "{body}");
    // Nothing was written: the catalog does not know the name.
    let listed = app
        .call("GET", "/api/collections?perPage=500", Some(root), None)
        .await;
    assert_eq!(listed.status(), 200);
    let listed: Value = listed.json().await.unwrap();
    assert!(
        !listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name))),
        "{what}"
    );
}

#[tokio::test]
async fn reserved_and_internal_names_are_refused_with_400() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    // An index of a collection holds a name in the same namespace.
    let with_index = json!({
        "name": "posts", "type": "base",
        "fields": [{"name": "title", "type": "text"}],
        "indexes": ["CREATE INDEX idx_posts_title ON posts (title)"],
    });
    app.post_ok(&root, "/api/collections", with_index).await;

    for name in [
        "sqlite_master",
        "sqlite_sequence",
        "SQLITE_anything",
        "_params",
        "_PARAMS",
        "_sessions",
        "_migrations",
        "_otps",
        "idx_posts_title",
    ] {
        let base = json!({"name": name, "type": "base"});
        let resp = app
            .call("POST", "/api/collections", Some(&root), Some(base))
            .await;
        refused(&app, &root, resp, &format!("{name} (base)")).await;
        let view = json!({"name": name, "type": "view", "viewQuery": "SELECT id FROM posts"});
        let resp = app
            .call("POST", "/api/collections", Some(&root), Some(view))
            .await;
        refused(&app, &root, resp, &format!("{name} (view)")).await;
        let rename = json!({"name": name});
        let resp = app
            .call("PATCH", "/api/collections/posts", Some(&root), Some(rename))
            .await;
        refused(&app, &root, resp, &format!("{name} (rename)")).await;
    }

    // Positive controls: close names are fine, and a collection keeps its
    // own name on update (its table is not "someone else's").
    for name in ["sqlite", "sqlitex", "params", "sessions_log"] {
        app.post_ok(&root, "/api/collections", json!({"name": name, "type": "base"}))
            .await;
    }
    let resp = app
        .call(
            "PATCH",
            "/api/collections/posts",
            Some(&root),
            Some(json!({"name": "posts", "listRule": ""})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    // The server's own tables are intact.
    assert_eq!(app.get("/api/collections/users/records").await.status(), 200);
}
