//! The collection rules on every action, and owner rules that read the
//! caller's own record.

use serde_json::json;

use crate::helpers::{assert_envelope, filter, json, spawn_app};

#[tokio::test]
async fn rules_guard_every_action() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    app.call(
        "POST",
        "/api/collections",
        Some(&token),
        Some(json!({"name": "locked", "fields": [{"name": "t", "type": "text"}]})),
    )
    .await;
    let path = "/api/collections/locked/records";
    // null rules: superusers only, 403 for everyone else.
    let body = assert_envelope(app.call("GET", path, None, None).await, 403).await;
    assert_eq!(body["message"], "Only superusers can perform this action.");
    assert_envelope(app.call("POST", path, None, Some(json!({"t": "x"}))).await, 403).await;
    let made = json(
        app.call("POST", path, Some(&token), Some(json!({"t": "x"})))
            .await,
    )
    .await;
    let one = format!("{path}/{}", made["id"].as_str().unwrap());
    assert_envelope(app.call("GET", &one, None, None).await, 403).await;
    assert_envelope(app.call("PATCH", &one, None, Some(json!({"t": "y"}))).await, 403).await;
    assert_envelope(app.call("DELETE", &one, None, None).await, 403).await;

    // "" opens an action to everyone.
    app.call(
        "PATCH",
        "/api/collections/locked",
        Some(&token),
        Some(json!({"listRule": "", "viewRule": ""})),
    )
    .await;
    let list = json(app.call("GET", path, None, None).await).await;
    assert_eq!(list["totalItems"], 1);
    assert_eq!(app.call("GET", &one, None, None).await.status(), 200);

    // An expression rule filters rows: the list shows only matching rows,
    // a hidden record is a 404, and superusers see everything.
    app.call(
        "PATCH",
        "/api/collections/locked",
        Some(&token),
        Some(json!({"listRule": "t = 'x'", "viewRule": "t = 'x'"})),
    )
    .await;
    let other = json(
        app.call("POST", path, Some(&token), Some(json!({"t": "y"})))
            .await,
    )
    .await;
    let list = json(app.call("GET", path, None, None).await).await;
    assert_eq!(list["totalItems"], 1);
    assert_eq!(list["items"][0]["t"], "x");
    assert_eq!(app.call("GET", &one, None, None).await.status(), 200);
    assert_envelope(
        app.call(
            "GET",
            &format!("{path}/{}", other["id"].as_str().unwrap()),
            None,
            None,
        )
        .await,
        404,
    )
    .await;
    // A client filter narrows further but can never widen the rule.
    let list = json(
        app.call(
            "GET",
            &format!("{path}?filter={}", filter("t = 'y' || t != ''")),
            None,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(list["totalItems"], 1, "{list}");
    let list = json(app.call("GET", path, Some(&token), None).await).await;
    assert_eq!(list["totalItems"], 2, "superusers bypass rules");

    assert_envelope(
        app.call("GET", "/api/collections/nope/records", None, None).await,
        404,
    )
    .await;
}

#[tokio::test]
async fn owner_rules_use_the_callers_record() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    app.post_ok(
        &token,
        "/api/collections",
        json!({"name": "notes", "fields": [
                {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_"},
                {"name": "body", "type": "text"},
            ],
            "listRule": "owner = @request.auth.id",
            "viewRule": "owner = @request.auth.id",
            "createRule": "@request.auth.id != '' && @request.body.owner = @request.auth.id",
            "updateRule": "owner = @request.auth.id",
            "deleteRule": "owner = @request.auth.id"}),
    )
    .await;
    let (ann_id, ann_token) = app.sign_up("ann@example.com", "pass-word-1").await;
    let (bob_id, bob_token) = app.sign_up("bob@example.com", "pass-word-1").await;
    let ids = [ann_id, bob_id];
    let tokens = [ann_token, bob_token];
    let (ann, bob) = (&tokens[0], &tokens[1]);

    // Users read their own user record (the default users rules), not others'.
    let own = app
        .call(
            "GET",
            &format!("/api/collections/users/records/{}", ids[0]),
            Some(ann),
            None,
        )
        .await;
    assert_eq!(own.status(), 200);
    assert_envelope(
        app.call(
            "GET",
            &format!("/api/collections/users/records/{}", ids[1]),
            Some(ann),
            None,
        )
        .await,
        404,
    )
    .await;

    // Create rule: guests and forged owners get 400 with nothing written.
    let path = "/api/collections/notes/records";
    let body = assert_envelope(
        app.call("POST", path, None, Some(json!({"owner": ids[0], "body": "x"})))
            .await,
        400,
    )
    .await;
    assert_eq!(body["message"], "Failed to create record.");
    assert_eq!(body["data"], json!({}));
    assert_envelope(
        app.call(
            "POST",
            path,
            Some(bob),
            Some(json!({"owner": ids[0], "body": "forged"})),
        )
        .await,
        400,
    )
    .await;
    let note = json(
        app.call(
            "POST",
            path,
            Some(ann),
            Some(json!({"owner": ids[0], "body": "mine"})),
        )
        .await,
    )
    .await;
    let one = format!("{path}/{}", note["id"].as_str().unwrap());

    let ann_list = json(app.call("GET", path, Some(ann), None).await).await;
    assert_eq!(ann_list["totalItems"], 1);
    let bob_list = json(app.call("GET", path, Some(bob), None).await).await;
    assert_eq!(bob_list["totalItems"], 0, "the forged create left nothing behind");
    let all = json(app.call("GET", path, Some(&token), None).await).await;
    assert_eq!(all["totalItems"], 1, "the refused creates were rolled back");
    assert_envelope(app.call("GET", &one, Some(bob), None).await, 404).await;
    assert_envelope(
        app.call("PATCH", &one, Some(bob), Some(json!({"body": "hacked"})))
            .await,
        404,
    )
    .await;
    assert_envelope(app.call("DELETE", &one, Some(bob), None).await, 404).await;
    let patched = json(
        app.call("PATCH", &one, Some(ann), Some(json!({"body": "edited"})))
            .await,
    )
    .await;
    assert_eq!(patched["body"], "edited");

    // Client filters may not reach into @request or hidden fields.
    let denied = app
        .call(
            "GET",
            &format!(
                "/api/collections/notes/records?filter={}",
                filter("@request.auth.id = ''")
            ),
            Some(ann),
            None,
        )
        .await;
    assert_envelope(denied, 403).await;
    let bad = app
        .call(
            "GET",
            &format!("/api/collections/notes/records?filter={}", filter("nope = 1")),
            Some(ann),
            None,
        )
        .await;
    assert_envelope(bad, 400).await;
    assert_eq!(app.call("DELETE", &one, Some(ann), None).await.status(), 204);

    // A rule that does not compile is refused when the collection is saved.
    let broken = app
        .call(
            "PATCH",
            "/api/collections/notes",
            Some(&token),
            Some(json!({"listRule": "missing = 1"})),
        )
        .await;
    let body = assert_envelope(broken, 400).await;
    assert_eq!(body["data"]["listRule"]["code"], "validation_invalid_rule");
}
