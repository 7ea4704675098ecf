//! Collections, record ids and filters are parsed once at the edge
//! (`api::path`, `records::RecordId`, `records::access::Filter`). What a
//! client hears must not depend on where: a malformed filter is still
//! answered after the list rule, an id of any form a record can have (an
//! id field may have a pattern of its own) still reaches its record, and
//! a batch URL with no record id is no record route (a 400, as PocketBase
//! answers it; it was a missing record before). The collections list and
//! the logs parse their `filter` at the edge too (`query::parse_filter`).

use serde_json::json;

use crate::helpers::{TestApp, assert_envelope, filter, json, spawn_app};

async fn notes(app: &TestApp, token: &str) -> String {
    app.post_ok(
        token,
        "/api/collections",
        json!({
            "name": "notes",
            "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
            "fields": [{"name": "title", "type": "text"}],
        }),
    )
    .await;
    app.post_ok(token, "/api/collections/notes/records", json!({"title": "one"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Asserts `resp` is the 400 envelope of a filter that does not parse.
async fn invalid_filter(resp: reqwest::Response, what: &str) {
    let invalid = assert_envelope(resp, 400).await;
    let message = invalid["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("Invalid filter: "), "{what}: {invalid}");
}

#[tokio::test]
async fn a_malformed_filter_is_answered_after_the_list_rule() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    notes(&app, &token).await;
    let bad = format!("/api/collections/notes/records?filter={}", filter("title = ("));
    // The list rule is superusers-only: a guest hears that first.
    let refused = assert_envelope(app.call("GET", &bad, None, None).await, 403).await;
    assert_eq!(refused["message"], "Only superusers can perform this action.");
    // A superuser passes the rule and hears about the filter.
    invalid_filter(app.call("GET", &bad, Some(&token), None).await, "records").await;
    // Positive control: a well-formed filter lists.
    let good = format!(
        "/api/collections/notes/records?filter={}",
        filter("title = 'one'")
    );
    let listed = json(app.call("GET", &good, Some(&token), None).await).await;
    assert_eq!(listed["totalItems"], 1);
}

#[tokio::test]
async fn ids_of_any_form_reach_their_record() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    notes(&app, &token).await;
    // A superuser may give the id field a pattern of their own.
    let c = json(
        app.call("GET", "/api/collections/notes", Some(&token), None)
            .await,
    )
    .await;
    let mut fields = c["fields"].as_array().unwrap().clone();
    let id_field = fields.iter_mut().find(|f| f["name"] == "id").unwrap();
    id_field["min"] = json!(3);
    id_field["pattern"] = json!("^[a-z0-9_]+$");
    let changed = json!({"fields": fields});
    assert_eq!(
        app.call("PATCH", "/api/collections/notes", Some(&token), Some(changed))
            .await
            .status(),
        200
    );
    app.post_ok(
        &token,
        "/api/collections/notes/records",
        json!({"id": "my_id", "title": "mine"}),
    )
    .await;
    // Not the 15 characters ids are generated with: still found.
    let path = "/api/collections/notes/records/my_id";
    let viewed = json(app.call("GET", path, None, None).await).await;
    assert_eq!(viewed["title"], "mine", "{viewed}");
    let changed = json(
        app.call("PATCH", path, None, Some(json!({"title": "ours"})))
            .await,
    )
    .await;
    assert_eq!(changed["title"], "ours", "{changed}");
    assert_eq!(app.call("DELETE", path, None, None).await.status(), 204);
    // An id no record has is not found, the same for any form.
    for missing in ["my_id", "nope", "abcdefghijklmno", "a%20b"] {
        let path = format!("/api/collections/notes/records/{missing}");
        assert_envelope(app.call("GET", &path, None, None).await, 404).await;
        assert_envelope(app.call("DELETE", &path, None, None).await, 404).await;
    }
}

#[tokio::test]
async fn a_batch_url_without_a_record_id_is_no_record_route() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let id = notes(&app, &token).await;
    app.change_settings(|s| s.batch.enabled = true).await;
    for method in ["PATCH", "DELETE"] {
        let sent =
            json!({"requests": [{"method": method, "url": "/api/collections/notes/records/", "body": {}}]});
        let answer = assert_envelope(
            app.call("POST", "/api/batch", Some(&token), Some(sent)).await,
            400,
        )
        .await;
        // As PocketBase: a 400 for the request, not a missing record.
        assert_eq!(
            answer["data"]["requests"]["0"]["response"]["status"], 400,
            "{answer}"
        );
    }
    // Positive control: with the id, the same update goes through.
    let url = format!("/api/collections/notes/records/{id}");
    let sent = json!({"requests": [{"method": "PATCH", "url": url, "body": {"title": "two"}}]});
    let done = json(app.call("POST", "/api/batch", Some(&token), Some(sent)).await).await;
    assert_eq!(done[0]["body"]["title"], "two", "{done}");
}

#[tokio::test]
async fn the_collections_list_and_the_logs_parse_their_filter_at_the_edge() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    for path in ["/api/collections", "/api/logs", "/api/logs/stats"] {
        let bad = format!("{path}?filter={}", filter("name = ("));
        invalid_filter(app.call("GET", &bad, Some(&token), None).await, path).await;
        // Still superusers only, whatever the filter.
        assert_envelope(app.call("GET", &bad, None, None).await, 401).await;
        // Positive control: an empty filter is no filter.
        let resp = app
            .call("GET", &format!("{path}?filter="), Some(&token), None)
            .await;
        assert_eq!(resp.status(), 200, "{path}");
    }
    // The logs take a blank filter as none.
    let blank = app
        .call("GET", "/api/logs?filter=%20%20", Some(&token), None)
        .await;
    assert_eq!(blank.status(), 200);
    let named = json(
        app.call(
            "GET",
            &format!("/api/collections?filter={}", filter("name = 'users'")),
            Some(&token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(named["totalItems"], 1, "{named}");
    assert_eq!(named["items"][0]["name"], "users");
}
