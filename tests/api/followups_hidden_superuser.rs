//! Superusers see hidden fields in record answers, as in PocketBase
//! 0.40.6: view, list (with and without `fields`), expand, create, update
//! and batch answers carry them; passwords and `tokenKey` never leave the
//! server. Guests and users still never see a hidden field.

use serde_json::{Value, json};

use crate::helpers::{TestApp, json, spawn_app};

struct Setup {
    su: String,
    user_token: String,
    user_id: String,
    note_id: String,
}

async fn ok(resp: reqwest::Response) -> Value {
    let status = resp.status();
    let body = json(resp).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// `users` gains hidden `role`; `notes` (open to everyone) has hidden
/// `secret` and a relation `owner` to users.
async fn setup(app: &TestApp) -> Setup {
    let su = app.superuser_token().await;
    let users = json(app.call("GET", "/api/collections/users", Some(&su), None).await).await;
    let mut fields = users["fields"].as_array().unwrap().clone();
    fields.push(json!({"name": "role", "type": "text", "hidden": true}));
    ok(app
        .call(
            "PATCH",
            "/api/collections/users",
            Some(&su),
            Some(json!({"fields": fields, "viewRule": "", "listRule": ""})),
        )
        .await)
    .await;
    let (user_id, user_token) = app.sign_up("u@example.com", "user-pass-123").await;
    ok(app
        .call(
            "PATCH",
            &format!("/api/collections/users/records/{user_id}"),
            Some(&su),
            Some(json!({"role": "admin"})),
        )
        .await)
    .await;
    app.post_ok(
        &su,
        "/api/collections",
        json!({"name": "notes", "type": "base", "listRule": "", "viewRule": "",
               "createRule": "", "updateRule": "",
               "fields": [{"name": "title", "type": "text"},
                          {"name": "secret", "type": "text", "hidden": true},
                          {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_",
                           "maxSelect": 1}]}),
    )
    .await;
    let created = app
        .post_ok(
            &su,
            "/api/collections/notes/records",
            json!({"title": "t", "secret": "s3", "owner": user_id}),
        )
        .await;
    assert_eq!(created["secret"], "s3", "a superuser's create answer: {created}");
    Setup {
        su,
        user_token,
        user_id,
        note_id: created["id"].as_str().unwrap().to_owned(),
    }
}

/// Every answer `token` gets for the note, in each shape the API has.
async fn answers(app: &TestApp, s: &Setup, token: Option<&str>) -> Vec<(&'static str, Value)> {
    let view = format!("/api/collections/notes/records/{}", s.note_id);
    let mut out = Vec::new();
    for (what, path) in [
        ("view", view.clone()),
        ("view ?expand", format!("{view}?expand=owner")),
        ("view ?fields", format!("{view}?fields=*,expand.*&expand=owner")),
        ("list", "/api/collections/notes/records?expand=owner".to_owned()),
        (
            "list ?fields",
            "/api/collections/notes/records?fields=*,expand.*&expand=owner".to_owned(),
        ),
    ] {
        let body = ok(app.call("GET", &path, token, None).await).await;
        let record = if path.contains("records?") {
            body["items"][0].clone()
        } else {
            body
        };
        out.push((what, record));
    }
    let updated = ok(app
        .call(
            "PATCH",
            &format!("{view}?expand=owner"),
            token,
            Some(json!({"title": "u"})),
        )
        .await)
    .await;
    out.push(("update", updated));
    out
}

#[tokio::test]
async fn superusers_see_hidden_fields_in_every_record_answer() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    for (what, record) in answers(&app, &s, Some(&s.su)).await {
        assert_eq!(record["secret"], "s3", "{what}: {record}");
        let owner = &record["expand"]["owner"];
        if what != "view" && what != "update" {
            assert_eq!(owner["role"], "admin", "{what}: {record}");
        }
        for never in ["password", "tokenKey"] {
            assert!(owner.get(never).is_none(), "{what}: {never} shown: {record}");
        }
    }
    let user = ok(app
        .call(
            "GET",
            &format!("/api/collections/users/records/{}", s.user_id),
            Some(&s.su),
            None,
        )
        .await)
    .await;
    assert_eq!(user["role"], "admin", "{user}");
    assert!(
        user.get("password").is_none() && user.get("tokenKey").is_none(),
        "{user}"
    );
    let only = ok(app
        .call(
            "GET",
            "/api/collections/notes/records?fields=secret",
            Some(&s.su),
            None,
        )
        .await)
    .await;
    assert_eq!(only["items"][0], json!({"secret": "s3"}));
}

#[tokio::test]
async fn guests_and_users_still_never_see_hidden_fields() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    for token in [None, Some(s.user_token.as_str())] {
        for (what, record) in answers(&app, &s, token).await {
            assert!(record["title"].is_string(), "{what}: {record}");
            assert!(record.get("secret").is_none(), "{what}: {record}");
            let owner = &record["expand"]["owner"];
            for never in ["role", "password", "tokenKey"] {
                assert!(owner.get(never).is_none(), "{what}: {never} shown: {record}");
            }
        }
    }
}

#[tokio::test]
async fn realtime_events_carry_hidden_fields_for_superuser_subscribers_only() {
    use crate::sse::Sse;
    let app = spawn_app().await;
    let s = setup(&app).await;
    let (mut by_su, mut by_guest, mut by_user) = (
        Sse::open(&app).await,
        Sse::open(&app).await,
        Sse::open(&app).await,
    );
    by_su.subscribe_ok(&app, Some(&s.su), &["notes/*"]).await;
    by_guest.subscribe_ok(&app, None, &["notes/*"]).await;
    by_user
        .subscribe_ok(&app, Some(&s.user_token), &["notes/*"])
        .await;
    let path = format!("/api/collections/notes/records/{}", s.note_id);
    ok(app
        .call("PATCH", &path, Some(&s.su), Some(json!({"title": "live"})))
        .await)
    .await;
    let event = by_su.next().await.expect("the superuser's event");
    assert_eq!(event.data["record"]["title"], "live");
    assert_eq!(event.data["record"]["secret"], "s3", "{}", event.data);
    for (who, sse) in [("guest", &mut by_guest), ("user", &mut by_user)] {
        let event = sse.next().await.expect("the event");
        assert_eq!(event.data["record"]["title"], "live", "{who}");
        assert!(
            event.data["record"].get("secret").is_none(),
            "{who}: {}",
            event.data
        );
    }
}

#[tokio::test]
async fn superusers_expand_hidden_relations_and_others_do_not() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    let tags = app
        .post_ok(
            &su,
            "/api/collections",
            json!({"name": "tags", "type": "base", "listRule": "", "viewRule": "",
                   "fields": [{"name": "label", "type": "text"}]}),
        )
        .await;
    app.post_ok(
        &su,
        "/api/collections",
        json!({"name": "items", "type": "base", "listRule": "", "viewRule": "",
               "fields": [{"name": "tag", "type": "relation", "hidden": true,
                           "collectionId": tags["id"], "maxSelect": 1}]}),
    )
    .await;
    let tag = app
        .post_ok(&su, "/api/collections/tags/records", json!({"label": "x"}))
        .await;
    let item = app
        .post_ok(&su, "/api/collections/items/records", json!({"tag": tag["id"]}))
        .await;
    let view = format!(
        "/api/collections/items/records/{}?expand=tag",
        item["id"].as_str().unwrap()
    );
    for path in [view.clone(), format!("{view}&fields=*,expand.tag.label")] {
        let by_su = ok(app.call("GET", &path, Some(&su), None).await).await;
        assert_eq!(by_su["expand"]["tag"]["label"], "x", "{path}: {by_su}");
        let by_guest = ok(app.call("GET", &path, None, None).await).await;
        assert!(by_guest["expand"].get("tag").is_none(), "{path}: {by_guest}");
        assert!(by_guest.get("tag").is_none(), "{path}: {by_guest}");
    }
}
