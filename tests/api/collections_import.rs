//! `PUT /api/collections/import` and the fields an item leaves out, as
//! PocketBase 0.40.6 imports (observed against its binary): with
//! `deleteMissing: false` they are kept, with their data, after the
//! listed ones; with `deleteMissing: true` they go, as the collections the
//! import leaves out go, except system fields, which stay either way.
//! Before, `deleteMissing: false` dropped them and their columns.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

/// `notes` with text fields `a` and `b` and number `c`, one record
/// holding a value in each; its definition.
async fn notes(app: &TestApp, token: &str) -> Value {
    let created = app
        .post_ok(
            token,
            "/api/collections",
            json!({"name": "notes", "fields": [
                {"name": "a", "type": "text"}, {"name": "b", "type": "text"}, {"name": "c", "type": "number"}]}),
        )
        .await;
    app.post_ok(
        token,
        "/api/collections/notes/records",
        json!({"a": "keep-a", "b": "keep-b", "c": 3}),
    )
    .await;
    created
}

async fn import(app: &TestApp, token: &str, collections: Value, delete_missing: bool) -> reqwest::Response {
    let body = json!({"collections": collections, "deleteMissing": delete_missing});
    app.call("PUT", "/api/collections/import", Some(token), Some(body))
        .await
}

fn without(definition: &Value, names: &[&str]) -> Value {
    let mut d = definition.clone();
    let fields = d["fields"].as_array_mut().unwrap();
    fields.retain(|f| !names.contains(&f["name"].as_str().unwrap()));
    d
}

async fn field_names(app: &TestApp, token: &str, collection: &str) -> Vec<String> {
    let path = format!("/api/collections/{collection}");
    let c = json(app.call("GET", &path, Some(token), None).await).await;
    c["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_record(app: &TestApp, token: &str) -> Value {
    let path = "/api/collections/notes/records?fields=a,b,c,d";
    let list = json(app.call("GET", path, Some(token), None).await).await;
    list["items"][0].clone()
}

#[tokio::test]
async fn without_delete_missing_the_fields_left_out_are_kept_with_their_data() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let definition = notes(&app, &token).await;
    let mut item = without(&definition, &["a"]);
    item["fields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "d", "type": "text"}));
    assert_eq!(import(&app, &token, json!([item]), false).await.status(), 204);
    assert_eq!(
        field_names(&app, &token, "notes").await,
        ["id", "b", "c", "d", "a"]
    );
    assert_eq!(
        the_record(&app, &token).await,
        json!({"a": "keep-a", "b": "keep-b", "c": 3, "d": ""})
    );

    // Only a name and one new field: everything stored stays.
    let item = json!({"name": "notes", "fields": [{"name": "z", "type": "text"}]});
    assert_eq!(import(&app, &token, json!([item]), false).await.status(), 204);
    assert_eq!(
        field_names(&app, &token, "notes").await,
        ["z", "id", "b", "c", "d", "a"]
    );
    assert_eq!(the_record(&app, &token).await["a"], "keep-a");
}

#[tokio::test]
async fn with_delete_missing_the_fields_left_out_go_but_system_fields_stay() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let definition = notes(&app, &token).await;
    let item = without(&definition, &["a"]);
    assert_eq!(import(&app, &token, json!([item]), true).await.status(), 204);
    assert_eq!(field_names(&app, &token, "notes").await, ["id", "b", "c"]);
    assert_eq!(the_record(&app, &token).await, json!({"b": "keep-b", "c": 3}));

    // `_superusers` listed without its `created`: kept (PATCH refuses to
    // delete it), as the other collections listed unchanged are.
    let all = json(
        app.call("GET", "/api/collections?perPage=100", Some(&token), None)
            .await,
    )
    .await;
    let items: Vec<Value> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            if c["name"] == "_superusers" {
                without(c, &["created"])
            } else {
                c.clone()
            }
        })
        .collect();
    let resp = import(&app, &token, json!(items), true).await;
    assert_eq!(resp.status(), 204, "{}", resp.text().await.unwrap());
    assert!(
        field_names(&app, &token, "_superusers")
            .await
            .contains(&"created".to_owned())
    );
}

#[tokio::test]
async fn a_kept_field_whose_name_was_taken_fails_the_whole_import() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let definition = notes(&app, &token).await;
    // `a` left out, and a new field of its name (another id): two `a`s.
    let mut item = without(&definition, &["a"]);
    item["fields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "number_a_1", "name": "a", "type": "number"}));
    let resp = import(&app, &token, json!([{"name": "side_effect"}, item]), false).await;
    let body = assert_envelope(resp, 400).await;
    let message = body["data"]["collections"]["message"].as_str().unwrap();
    assert!(message.contains("validation_duplicated_field_name"), "{message}");
    assert_eq!(field_names(&app, &token, "notes").await, ["id", "a", "b", "c"]);
    assert_eq!(the_record(&app, &token).await["a"], "keep-a");
    let resp = app
        .call("GET", "/api/collections/side_effect", Some(&token), None)
        .await;
    assert_envelope(resp, 404).await;
}
