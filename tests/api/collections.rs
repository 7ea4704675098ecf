//! `/api/collections`: access, validation, and schema changes that are
//! transactional and keep data across renames.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

fn column_names(app: &TestApp, table: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(app.dir.path().join("data.db")).unwrap();
    let mut stmt = conn
        .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn only_superusers_reach_the_collections_api() {
    let app = spawn_app().await;
    assert_envelope(app.call("GET", "/api/collections", None, None).await, 401).await;
    assert_envelope(
        app.call("GET", "/api/collections", Some("not-a-token"), None)
            .await,
        401,
    )
    .await;
    assert_envelope(
        app.call("POST", "/api/collections", None, Some(json!({"name": "x"})))
            .await,
        401,
    )
    .await;

    // A signed-in app user is not a superuser.
    let token = app.superuser_token().await;
    let (_, user_token) = app.sign_up("u@example.com", "user-pass-1").await;
    assert_envelope(
        app.call("GET", "/api/collections", Some(&user_token), None).await,
        403,
    )
    .await;

    let list = json(
        app.call("GET", "/api/collections?perPage=1&sort=-name", Some(&token), None)
            .await,
    )
    .await;
    assert_eq!(list["perPage"], 1);
    assert!(list["totalItems"].as_u64().unwrap() >= 2);
    assert_eq!(list["items"][0]["name"], "users");
}

#[tokio::test]
async fn fresh_data_folder_has_pocketbase_default_collections() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let users = json(
        app.call("GET", "/api/collections/users", Some(&token), None)
            .await,
    )
    .await;
    assert_eq!(users["id"], "_pb_users_auth_");
    assert_eq!(users["type"], "auth");
    assert_eq!(users["listRule"], "id = @request.auth.id");
    assert_eq!(users["createRule"], "");
    let names: Vec<&str> = users["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "id",
            "password",
            "tokenKey",
            "email",
            "emailVisibility",
            "verified",
            "name",
            "avatar",
            "created",
            "updated"
        ]
    );
    assert_eq!(users["passwordAuth"]["identityFields"], json!(["email"]));
    assert!(
        users["authToken"].get("secret").is_none(),
        "token secrets never leave the server"
    );
    let supers = json(
        app.call("GET", "/api/collections/pbc_3142635823", Some(&token), None)
            .await,
    )
    .await;
    assert_eq!(supers["name"], "_superusers");
    assert_eq!(supers["system"], true);
    assert_envelope(
        app.call("DELETE", "/api/collections/_superusers", Some(&token), None)
            .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn invalid_collections_are_refused_field_by_field() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let body = assert_envelope(
        app.call(
            "POST",
            "/api/collections",
            Some(&token),
            Some(json!({
                "name": "bad name!",
                "type": "nope",
                "fields": [
                    {"name": "s", "type": "select"},
                    {"name": "r", "type": "relation", "collectionId": "missing"},
                    {"name": "expand", "type": "text"},
                    {"name": "A", "type": "text"},
                    {"name": "a", "type": "text"},
                    {"name": "n", "type": "number", "min": 10, "max": 1},
                ],
                "indexes": ["DROP TABLE users"],
            })),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(body["message"], "Failed to create collection.");
    let d = &body["data"];
    assert_eq!(d["name"]["code"], "validation_match_invalid");
    assert_eq!(d["type"]["code"], "validation_in_invalid");
    // Field positions count the `id` field that is added first.
    assert_eq!(d["fields"]["1"]["values"]["code"], "validation_required");
    assert_eq!(
        d["fields"]["2"]["collectionId"]["code"],
        "validation_field_relation_missing_collection"
    );
    assert_eq!(d["fields"]["3"]["name"]["code"], "validation_not_in_invalid");
    assert_eq!(
        d["fields"]["5"]["name"]["code"],
        "validation_duplicated_field_name"
    );
    assert_eq!(
        d["fields"]["6"]["max"]["code"],
        "validation_min_number_constraint"
    );
    assert_eq!(d["indexes"]["0"]["code"], "validation_invalid_index_expression");

    app.post_ok(&token, "/api/collections", json!({"name": "posts"}))
        .await;
    let dup = assert_envelope(
        app.call(
            "POST",
            "/api/collections",
            Some(&token),
            Some(json!({"name": "POSTS"})),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(dup["data"]["name"]["code"], "validation_collection_name_exists");
    let unreadable = app
        .call(
            "POST",
            "/api/collections",
            Some(&token),
            Some(json!({"name": "x", "fields": [{"name": "a", "type": "nope"}]})),
        )
        .await;
    assert_envelope(unreadable, 400).await;
    assert!(
        !column_names(&app, "x").iter().any(|c| c == "a"),
        "nothing was created"
    );
}

#[tokio::test]
async fn field_changes_keep_data_and_failed_changes_roll_back() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let c = app
        .post_ok(
            &token,
            "/api/collections",
            json!({
                "name": "notes",
                "listRule": "", "viewRule": "", "createRule": "",
                "fields": [
                    {"name": "title", "type": "text"},
                    {"name": "tags", "type": "select", "values": ["a", "b", "c"]},
                    {"name": "old", "type": "number"},
                ],
                "indexes": ["CREATE INDEX idx_title ON notes (title)"],
            }),
        )
        .await;
    let rec = json(
        app.call(
            "POST",
            "/api/collections/notes/records",
            None,
            Some(json!({"title": "kept", "tags": "b", "old": 5})),
        )
        .await,
    )
    .await;

    // Rename `title` → `heading` (same field id), drop `old`, add `body`,
    // turn `tags` multi-valued: one update.
    let mut fields: Vec<Value> = c["fields"].as_array().unwrap().clone();
    fields[1]["name"] = json!("heading");
    fields[2]["maxSelect"] = json!(3);
    fields.remove(3);
    fields.push(json!({"name": "body", "type": "editor"}));
    let updated = app
        .call(
            "PATCH",
            "/api/collections/notes",
            Some(&token),
            Some(json!({"fields": fields, "indexes": ["CREATE INDEX idx_heading ON notes (heading)"]})),
        )
        .await;
    assert_eq!(updated.status(), 200);
    let updated = json(updated).await;
    assert_eq!(
        updated["fields"][1]["id"], c["fields"][1]["id"],
        "a rename keeps the field id"
    );
    let cols = column_names(&app, "notes");
    assert!(
        cols.contains(&"heading".into()) && !cols.contains(&"title".into()) && !cols.contains(&"old".into())
    );
    let got = json(
        app.call(
            "GET",
            &format!("/api/collections/notes/records/{}", rec["id"].as_str().unwrap()),
            None,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(got["heading"], "kept", "renamed column keeps its data");
    assert_eq!(got["tags"], json!(["b"]), "single → multi keeps the value");
    assert_eq!(got["body"], "");
    assert!(got.get("old").is_none());

    // A change that fails in SQLite (an index on a missing column) leaves
    // schema and data exactly as they were.
    let mut broken = updated["fields"].as_array().unwrap().clone();
    broken[1]["name"] = json!("renamed_again");
    let resp = app
        .call(
            "PATCH",
            "/api/collections/notes",
            Some(&token),
            Some(json!({"name": "notes2", "fields": broken, "indexes": ["CREATE INDEX idx_x ON notes (missing)"]})),
        )
        .await;
    let body = assert_envelope(resp, 400).await;
    assert_eq!(
        body["data"]["indexes"]["0"]["code"],
        "validation_invalid_index_expression"
    );
    assert_eq!(column_names(&app, "notes"), cols, "schema unchanged");
    assert!(column_names(&app, "notes2").is_empty(), "no renamed table");
    let again = json(
        app.call("GET", "/api/collections/notes", Some(&token), None)
            .await,
    )
    .await;
    assert_eq!(again["fields"][1]["name"], "heading");
    let got = json(
        app.call(
            "GET",
            &format!("/api/collections/notes/records/{}", rec["id"].as_str().unwrap()),
            None,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(got["heading"], "kept", "data unchanged");
}

#[tokio::test]
async fn rename_truncate_import_and_delete() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    app.post_ok(
        &token,
        "/api/collections",
        json!({"name": "a", "createRule": "", "fields": [{"name": "t", "type": "text"}]}),
    )
    .await;
    app.call(
        "POST",
        "/api/collections/a/records",
        None,
        Some(json!({"t": "x"})),
    )
    .await;
    let renamed = app
        .call(
            "PATCH",
            "/api/collections/a",
            Some(&token),
            Some(json!({"name": "b"})),
        )
        .await;
    assert_eq!(renamed.status(), 200);
    let list = json(
        app.call("GET", "/api/collections/b/records", Some(&token), None)
            .await,
    )
    .await;
    assert_eq!(list["totalItems"], 1, "records follow the renamed collection");

    assert_eq!(
        app.call("DELETE", "/api/collections/b/truncate", Some(&token), None)
            .await
            .status(),
        204
    );
    let list = json(
        app.call("GET", "/api/collections/b/records", Some(&token), None)
            .await,
    )
    .await;
    assert_eq!(list["totalItems"], 0);

    // A relation pointing at `b` blocks its deletion.
    let b = json(app.call("GET", "/api/collections/b", Some(&token), None).await).await;
    app.post_ok(
        &token,
        "/api/collections",
        json!({"name": "c", "fields": [{"name": "r", "type": "relation", "collectionId": b["id"]}]}),
    )
    .await;
    assert_envelope(
        app.call("DELETE", "/api/collections/b", Some(&token), None).await,
        400,
    )
    .await;

    // Import: all or nothing.
    let bad = app
        .call(
            "PUT",
            "/api/collections/import",
            Some(&token),
            Some(json!({"collections": [{"name": "d"}, {"name": "bad name!"}]})),
        )
        .await;
    let body = assert_envelope(bad, 400).await;
    assert_eq!(
        body["data"]["collections"]["code"],
        "validation_collections_import_failure"
    );
    assert_envelope(
        app.call("GET", "/api/collections/d", Some(&token), None).await,
        404,
    )
    .await;
    let good = app
        .call(
            "PUT",
            "/api/collections/import",
            Some(&token),
            Some(json!({"collections": [{"name": "d"}]})),
        )
        .await;
    assert_eq!(good.status(), 204);
    assert_eq!(
        app.call("GET", "/api/collections/d", Some(&token), None)
            .await
            .status(),
        200
    );

    assert_eq!(
        app.call("DELETE", "/api/collections/c", Some(&token), None)
            .await
            .status(),
        204
    );
    assert_eq!(
        app.call("DELETE", "/api/collections/b", Some(&token), None)
            .await
            .status(),
        204
    );
    assert!(column_names(&app, "b").is_empty(), "the table is dropped");
}

#[tokio::test]
async fn view_collections_expose_a_read_only_select() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    app.post_ok(&token, "/api/collections", json!({"name": "posts", "fields": [{"name": "title", "type": "text", "max": 50}, {"name": "n", "type": "number"}]}),
    )
    .await;
    for (title, n) in [("one", 1), ("two", 2), ("three", 3)] {
        app.call(
            "POST",
            "/api/collections/posts/records",
            Some(&token),
            Some(json!({"title": title, "n": n})),
        )
        .await;
    }

    // Bad queries are refused with the reason, and nothing is created.
    for query in [
        "DELETE FROM posts",
        "SELECT title FROM posts",
        "SELECT id, FROM posts",
        "SELECT id FROM nope",
    ] {
        let resp = app
            .call(
                "POST",
                "/api/collections",
                Some(&token),
                Some(json!({"name": "v", "type": "view", "viewQuery": query})),
            )
            .await;
        let body = assert_envelope(resp, 400).await;
        assert_eq!(
            body["data"]["viewQuery"]["code"], "validation_invalid_view_query",
            "{query}: {body}"
        );
    }
    let body = assert_envelope(
        app.call(
            "POST",
            "/api/collections",
            Some(&token),
            Some(json!({"name": "v", "type": "view"})),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(body["data"]["viewQuery"]["code"], "validation_required");

    let view = app
        .post_ok(
            &token,
            "/api/collections",
            json!({"name": "big_posts", "type": "view", "listRule": "", "viewRule": "",
               "viewQuery": "SELECT id, title, n * 2 AS doubled FROM posts WHERE n > 1;"}),
        )
        .await;
    assert_eq!(
        view["viewQuery"],
        "SELECT id, title, n * 2 AS doubled FROM posts WHERE n > 1"
    );
    let fields: Vec<(&str, &str)> = view["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["type"].as_str().unwrap()))
        .collect();
    assert_eq!(fields, [("id", "text"), ("title", "text"), ("doubled", "json")]);
    assert_eq!(
        view["fields"][1]["max"], 50,
        "a copied column keeps its field's options"
    );

    let list = json(
        app.call(
            "GET",
            "/api/collections/big_posts/records?sort=-doubled",
            None,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(list["totalItems"], 2);
    assert_eq!(list["items"][0]["title"], "three");
    assert_eq!(list["items"][0]["doubled"], 6);
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.call(
            "GET",
            &format!("/api/collections/big_posts/records/{id}"),
            None,
            None
        )
        .await
        .status(),
        200
    );
    let write = app
        .call(
            "POST",
            "/api/collections/big_posts/records",
            Some(&token),
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(
        assert_envelope(write, 400).await["message"],
        "Unsupported collection type."
    );
    let patch = app
        .call(
            "PATCH",
            &format!("/api/collections/big_posts/records/{id}"),
            Some(&token),
            Some(json!({})),
        )
        .await;
    assert_envelope(patch, 400).await;
    assert_envelope(
        app.call(
            "DELETE",
            "/api/collections/big_posts/truncate",
            Some(&token),
            None,
        )
        .await,
        400,
    )
    .await;

    // Changing the query changes the fields; deleting drops the view.
    let changed = app
        .call(
            "PATCH",
            "/api/collections/big_posts",
            Some(&token),
            Some(json!({"viewQuery": "SELECT id, n FROM posts"})),
        )
        .await;
    assert_eq!(changed.status(), 200);
    let list = json(
        app.call("GET", "/api/collections/big_posts/records", None, None)
            .await,
    )
    .await;
    assert_eq!(list["totalItems"], 3, "{list}");
    assert_eq!(list["items"][0]["n"], 1);
    assert_eq!(
        app.call("DELETE", "/api/collections/big_posts", Some(&token), None)
            .await
            .status(),
        204
    );
    assert_envelope(
        app.call("GET", "/api/collections/big_posts/records", None, None)
            .await,
        404,
    )
    .await;
}
