//! An update that names a different `id` is refused, not silently ignored:
//! PocketBase 0.40.6 answers 400 with `data.id.code = "validation_pk_change"`
//! to everyone, superusers included, after the update rule (so a caller
//! the rule shuts out still gets 403/404, learning nothing more).

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

async fn notes(app: &TestApp, token: &str, update_rule: Value) -> String {
    app.post_ok(
        token,
        "/api/collections",
        json!({"name": "notes", "type": "base", "listRule": "", "viewRule": "",
               "createRule": "", "updateRule": update_rule,
               "fields": [{"name": "title", "type": "text"}]}),
    )
    .await;
    let created = app
        .post_ok(token, "/api/collections/notes/records", json!({"title": "first"}))
        .await;
    created["id"].as_str().unwrap().to_owned()
}

async fn title_of(app: &TestApp, id: &str) -> Value {
    let resp = app
        .call("GET", &format!("/api/collections/notes/records/{id}"), None, None)
        .await;
    assert_eq!(resp.status(), 200, "record {id} is still there");
    json(resp).await["title"].clone()
}

async fn assert_pk_change(resp: reqwest::Response) {
    let body = assert_envelope(resp, 400).await;
    assert_eq!(body["data"]["id"]["code"], "validation_pk_change", "{body}");
}

#[tokio::test]
async fn a_new_id_in_an_update_is_a_400_for_superusers_and_guests() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let id = notes(&app, &token, json!("")).await;
    let path = format!("/api/collections/notes/records/{id}");

    for (who, auth) in [("superuser", Some(token.as_str())), ("guest", None)] {
        for new_id in [
            json!("abcdefghijklmno"),
            json!(id.to_uppercase()),
            json!(""),
            json!(null),
            json!(5),
        ] {
            let resp = app
                .call(
                    "PATCH",
                    &path,
                    auth,
                    Some(json!({"id": new_id, "title": "changed"})),
                )
                .await;
            eprintln!("{who} {new_id}");
            assert_pk_change(resp).await;
        }
    }
    assert_eq!(title_of(&app, &id).await, "first", "nothing was written");
    let moved = app
        .call(
            "GET",
            "/api/collections/notes/records/abcdefghijklmno",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(moved.status(), 404, "no record under the new id");

    // Control: the record's own id in the body is fine.
    let resp = app
        .call("PATCH", &path, None, Some(json!({"id": id, "title": "second"})))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(title_of(&app, &id).await, "second");
}

#[tokio::test]
async fn the_update_rule_answers_before_the_id_check() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let id = notes(&app, &token, Value::Null).await;
    let path = format!("/api/collections/notes/records/{id}");
    let resp = app
        .call("PATCH", &path, None, Some(json!({"id": "abcdefghijklmno"})))
        .await;
    assert_envelope(resp, 403).await;
    // Control: a superuser passes the rule and meets the id check.
    assert_pk_change(
        app.call(
            "PATCH",
            &path,
            Some(&token),
            Some(json!({"id": "abcdefghijklmno"})),
        )
        .await,
    )
    .await;
}
