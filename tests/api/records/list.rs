//! Lists: paging, sorting, and totals that follow every write and each
//! caller's rule.

use serde_json::json;

use crate::helpers::{assert_envelope, filter, json, spawn_app};

#[tokio::test]
async fn lists_page_and_sort() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    app.call(
        "POST",
        "/api/collections",
        Some(&token),
        Some(json!({"name": "nums", "listRule": "", "fields": [{"name": "n", "type": "number"}, {"name": "hush", "type": "text", "hidden": true}]})),
    )
    .await;
    for n in [3, 1, 2, 5, 4] {
        app.call(
            "POST",
            "/api/collections/nums/records",
            Some(&token),
            Some(json!({"n": n, "hush": "s"})),
        )
        .await;
    }
    let page = json(
        app.call(
            "GET",
            "/api/collections/nums/records?perPage=2&page=2&sort=-n",
            None,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(page["page"], 2);
    assert_eq!(page["perPage"], 2);
    assert_eq!(page["totalItems"], 5);
    assert_eq!(page["totalPages"], 3);
    let ns: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, [3, 2]);
    assert!(
        page["items"][0].get("hush").is_none(),
        "hidden fields are never serialized"
    );
    let default = json(app.call("GET", "/api/collections/nums/records", None, None).await).await;
    let ns: Vec<i64> = default["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, [3, 1, 2, 5, 4], "insertion order by default");
    let skip = json(
        app.call(
            "GET",
            "/api/collections/nums/records?skipTotal=1&perPage=5000",
            None,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        (
            skip["totalItems"].clone(),
            skip["totalPages"].clone(),
            skip["perPage"].clone()
        ),
        (json!(-1), json!(-1), json!(1000))
    );
    assert_envelope(
        app.call("GET", "/api/collections/nums/records?sort=nope", None, None)
            .await,
        400,
    )
    .await;
    assert_envelope(
        app.call("GET", "/api/collections/nums/records?sort=hush", None, None)
            .await,
        400,
    )
    .await;
    assert_envelope(
        app.call("GET", "/api/collections/nums/records?page=abc", None, None)
            .await,
        400,
    )
    .await;
}

/// Totals are cached per data version: every kind of write (create,
/// update, delete) shows in the very next list, and each caller's rule
/// gives its own total.
#[tokio::test]
async fn list_totals_follow_every_write_and_each_callers_rule() {
    let app = spawn_app().await;
    let admin = app.superuser_token().await;
    let (ann, ann_token) = app.sign_up("ann@example.com", "password-123").await;
    let (bob, bob_token) = app.sign_up("bob@example.com", "password-123").await;
    app.post_ok(
        &admin,
        "/api/collections",
        json!({"name": "notes", "listRule": "owner = @request.auth.id", "fields": [
            {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_"},
            {"name": "text", "type": "text"}]}),
    )
    .await;
    let mut ann_notes = Vec::new();
    for (owner, text) in [(&ann, "a"), (&ann, "b"), (&bob, "a")] {
        let note = app
            .post_ok(
                &admin,
                "/api/collections/notes/records",
                json!({"owner": owner, "text": text}),
            )
            .await;
        if owner == &ann {
            ann_notes.push(note["id"].as_str().unwrap().to_owned());
        }
    }
    let total = |token: Option<&'static str>, expr: &'static str| {
        let app = &app;
        let token = token.map(|t| {
            if t == "ann" {
                ann_token.clone()
            } else {
                bob_token.clone()
            }
        });
        async move {
            let path = format!("/api/collections/notes/records?filter={}", filter(expr));
            let resp = app.call("GET", &path, token.as_deref(), None).await;
            assert_eq!(resp.status(), 200);
            json(resp).await["totalItems"].as_u64().unwrap()
        }
    };
    // Each caller, asked twice (the second answer may come from the cache).
    for _ in 0..2 {
        assert_eq!(total(Some("ann"), "").await, 2);
        assert_eq!(total(Some("bob"), "").await, 1);
        assert_eq!(total(None, "").await, 0);
        assert_eq!(total(Some("ann"), "text='a'").await, 1);
    }
    app.post_ok(
        &admin,
        "/api/collections/notes/records",
        json!({"owner": ann, "text": "c"}),
    )
    .await;
    assert_eq!(total(Some("ann"), "").await, 3, "after a create");
    let moved = app
        .call(
            "PATCH",
            &format!("/api/collections/notes/records/{}", ann_notes[0]),
            Some(&admin),
            Some(json!({"owner": bob})),
        )
        .await;
    assert_eq!(moved.status(), 200);
    assert_eq!(total(Some("ann"), "").await, 2, "after an update");
    assert_eq!(total(Some("bob"), "").await, 2, "after an update");
    let deleted = app
        .call(
            "DELETE",
            &format!("/api/collections/notes/records/{}", ann_notes[1]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(total(Some("ann"), "").await, 1, "after a delete");
    assert_eq!(total(Some("ann"), "text='a'").await, 0, "after a delete");
}
