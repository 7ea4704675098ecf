//! `POST /api/collections/meta/dry-run` and `POST /api/collections/{c}/dry-run`
//! (Cairn's own): a collection change checked exactly as saving it would
//! be, for superusers only, and never kept. The dashboard shows a rule's
//! parse error from it while the rule is typed.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

async fn posts(app: &TestApp, token: &str) -> Value {
    app.post_ok(
        token,
        "/api/collections",
        json!({"name": "posts", "type": "base", "fields": [{"name": "title", "type": "text"}]}),
    )
    .await
}

#[tokio::test]
async fn guests_and_app_users_cannot_dry_run() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    posts(&app, &token).await;
    let (_, user) = app.sign_up("u@example.com", "user-pass-1").await;
    let create = json!({"name": "other", "fields": [{"name": "a", "type": "text"}]});
    for (path, body) in [
        ("/api/collections/meta/dry-run", create.clone()),
        ("/api/collections/posts/dry-run", json!({"listRule": ""})),
    ] {
        assert_envelope(app.call("POST", path, None, Some(body.clone())).await, 401).await;
        assert_envelope(app.call("POST", path, Some(&user), Some(body.clone())).await, 403).await;
        // The positive control: the same request as a superuser.
        assert_eq!(
            app.call("POST", path, Some(&token), Some(body)).await.status(),
            204,
            "{path}"
        );
    }
    assert_envelope(
        app.call(
            "POST",
            "/api/collections/nowhere/dry-run",
            Some(&token),
            Some(json!({})),
        )
        .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn a_broken_rule_gets_the_error_a_save_would_and_nothing_is_kept() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let created = posts(&app, &token).await;

    let resp = app
        .call(
            "POST",
            "/api/collections/meta/dry-run",
            Some(&token),
            Some(json!({"name": "drafts", "fields": [{"name": "title", "type": "text"}], "listRule": "titl = 1"})),
        )
        .await;
    let body = assert_envelope(resp, 400).await;
    assert_eq!(
        body["data"]["listRule"]["code"], "validation_invalid_rule",
        "{body}"
    );
    assert!(
        body["data"]["listRule"]["message"]
            .as_str()
            .unwrap()
            .contains("titl")
    );

    let resp = app
        .call(
            "POST",
            "/api/collections/posts/dry-run",
            Some(&token),
            Some(json!({"viewRule": "title ="})),
        )
        .await;
    let body = assert_envelope(resp, 400).await;
    assert_eq!(
        body["data"]["viewRule"]["code"], "validation_invalid_rule",
        "{body}"
    );

    // A change that would succeed: a rename, a new field, a rule. Checked, not made.
    let change = json!({
        "name": "renamed",
        "fields": [created["fields"][0].clone(), created["fields"][1].clone(), {"name": "body", "type": "text"}],
        "viewRule": "body != \"\"",
    });
    let resp = app
        .call(
            "POST",
            "/api/collections/posts/dry-run",
            Some(&token),
            Some(change),
        )
        .await;
    assert_eq!(resp.status(), 204);
    let new =
        json!({"name": "drafts", "fields": [{"name": "title", "type": "text"}], "listRule": "title != \"\""});
    let resp = app
        .call("POST", "/api/collections/meta/dry-run", Some(&token), Some(new))
        .await;
    assert_eq!(resp.status(), 204);

    let stored = json(
        app.call("GET", "/api/collections/posts", Some(&token), None)
            .await,
    )
    .await;
    assert_eq!(stored["name"], "posts");
    assert_eq!(stored["viewRule"], Value::Null);
    assert_eq!(stored["fields"].as_array().unwrap().len(), 2, "no field added");
    assert_eq!(
        app.call("GET", "/api/collections/drafts", Some(&token), None)
            .await
            .status(),
        404,
        "no collection created"
    );
    // The table was not touched either: a record still saves as before.
    app.post_ok(
        &token,
        "/api/collections/posts/records",
        json!({"title": "still here"}),
    )
    .await;
}
