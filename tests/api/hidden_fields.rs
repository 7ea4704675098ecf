//! Hidden fields are server-controlled: a client other than a superuser
//! cannot write them (PocketBase drops them from the body, before any rule
//! sees it), rules see the signed-in record's hidden fields under
//! `@request.auth` while no answer shows them, and the OpenAPI document
//! describes only what its caller may use.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    files::{form, send},
    helpers::{TestApp, assert_envelope, json, spawn_app},
    sse::{NoEvent, Sse},
};

/// Adds hidden `role` (text), `banned` (bool) and `perms` (multi-select)
/// to `users`, and returns a superuser token.
async fn users_with_hidden_fields(app: &TestApp) -> String {
    let su = app.superuser_token().await;
    let users = json(app.call("GET", "/api/collections/users", Some(&su), None).await).await;
    let mut fields = users["fields"].as_array().unwrap().clone();
    fields.push(json!({"name": "role", "type": "text", "hidden": true}));
    fields.push(json!({"name": "banned", "type": "bool", "hidden": true}));
    fields.push(json!({"name": "perms", "type": "select", "hidden": true,
        "values": ["read", "write"], "maxSelect": 2}));
    let resp = app
        .call(
            "PATCH",
            "/api/collections/users",
            Some(&su),
            Some(json!({"fields": fields})),
        )
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    su
}

/// A column as stored (answers never show hidden fields), as text.
async fn stored(app: &TestApp, table: &str, id: &str, column: &str) -> String {
    let sql = format!("SELECT CAST(\"{column}\" AS TEXT) FROM \"{table}\" WHERE id = ?1");
    let id = id.to_owned();
    app.state
        .store
        .data
        .read(move |conn| {
            conn.query_row(&sql, [&id], |r| r.get::<_, String>(0))
                .map_err(cairn::store::StoreError::from)
        })
        .await
        .unwrap()
}

async fn ok(resp: reqwest::Response) -> Value {
    let status = resp.status();
    let body = json(resp).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn patch(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    ok(app.call("PATCH", path, Some(token), Some(body)).await).await
}

/// `name` with `secret` hidden, and the given create rule.
async fn notes(app: &TestApp, su: &str, name: &str, create_rule: &str) {
    app.post_ok(
        su,
        "/api/collections",
        json!({"name": name, "listRule": "", "viewRule": "", "createRule": create_rule,
        "updateRule": "", "fields": [
            {"name": "title", "type": "text"},
            {"name": "secret", "type": "text", "hidden": true},
        ]}),
    )
    .await;
}

#[tokio::test]
async fn a_user_cannot_write_the_hidden_fields_of_their_own_record() {
    let app = spawn_app().await;
    let su = users_with_hidden_fields(&app).await;
    let (id, user) = app.sign_up("self@example.com", "password123").await;
    let own = format!("/api/collections/users/records/{id}");

    // Accepted, as PocketBase does, but the hidden values are dropped
    // while the visible one is written.
    let answer = patch(
        &app,
        &user,
        &own,
        json!({"name": "Me", "role": "admin", "banned": true, "perms": ["write"]}),
    )
    .await;
    assert_eq!(answer["name"], "Me");
    assert!(answer.get("role").is_none());
    assert_eq!(stored(&app, "users", &id, "role").await, "");
    assert_eq!(stored(&app, "users", &id, "banned").await, "0");
    assert_eq!(stored(&app, "users", &id, "perms").await, "[]");
    // Nor through a modifier key, nor as a form.
    patch(&app, &user, &own, json!({"perms+": "write"})).await;
    assert_eq!(stored(&app, "users", &id, "perms").await, "[]");
    let resp = send(
        &app,
        "PATCH",
        &own,
        Some(&user),
        form(&[("role", "admin"), ("name", "Form")], &[]),
    )
    .await;
    assert_eq!(ok(resp).await["name"], "Form");
    assert_eq!(stored(&app, "users", &id, "role").await, "");
    let resp = send(
        &app,
        "PATCH",
        &own,
        Some(&user),
        form(&[("@jsonPayload", r#"{"role": "admin"}"#)], &[]),
    )
    .await;
    ok(resp).await;
    assert_eq!(stored(&app, "users", &id, "role").await, "");

    // A password is hidden too, yet its owner still changes it.
    patch(
        &app,
        &user,
        &own,
        json!({"password": "password456", "passwordConfirm": "password456", "oldPassword": "password123"}),
    )
    .await;
    assert_eq!(
        app.sign_in("users", "self@example.com", "password456")
            .await
            .status(),
        200
    );

    // A superuser sets them.
    patch(
        &app,
        &su,
        &own,
        json!({"role": "admin", "banned": true, "perms+": "write"}),
    )
    .await;
    assert_eq!(stored(&app, "users", &id, "role").await, "admin");
    assert_eq!(stored(&app, "users", &id, "banned").await, "1");
    assert_eq!(stored(&app, "users", &id, "perms").await, r#"["write"]"#);
}

#[tokio::test]
async fn sign_ups_and_creates_drop_hidden_values_before_the_rule_sees_them() {
    let app = spawn_app().await;
    let su = users_with_hidden_fields(&app).await;
    let signed_up = ok(app
        .call(
            "POST",
            "/api/collections/users/records",
            None,
            Some(json!({"email": "new@example.com", "password": "password123",
                "passwordConfirm": "password123", "role": "admin", "banned": true})),
        )
        .await)
    .await;
    let id = signed_up["id"].as_str().unwrap();
    assert_eq!(stored(&app, "users", id, "role").await, "");
    assert_eq!(stored(&app, "users", id, "banned").await, "0");

    notes(&app, &su, "notes", "").await;
    let created = ok(app
        .call(
            "POST",
            "/api/collections/notes/records",
            None,
            Some(json!({"title": "t", "secret": "mine"})),
        )
        .await)
    .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(stored(&app, "notes", id, "title").await, "t");
    assert_eq!(stored(&app, "notes", id, "secret").await, "");
    let resp = send(
        &app,
        "POST",
        "/api/collections/notes/records",
        None,
        form(&[("title", "f"), ("secret", "mine")], &[]),
    )
    .await;
    let id = ok(resp).await["id"].as_str().unwrap().to_owned();
    assert_eq!(stored(&app, "notes", &id, "secret").await, "");
    let by_su = app
        .post_ok(
            &su,
            "/api/collections/notes/records",
            json!({"title": "t", "secret": "set"}),
        )
        .await;
    assert_eq!(
        stored(&app, "notes", by_su["id"].as_str().unwrap(), "secret").await,
        "set"
    );

    // PocketBase's rule sees the body without them: this rule can never
    // pass for a client, whatever it sends.
    notes(&app, &su, "gated", "@request.body.secret = 'ok'").await;
    let body = json!({"title": "t", "secret": "ok"});
    let (_, user) = app.sign_up("u@example.com", "password123").await;
    for token in [None, Some(user.as_str())] {
        let resp = app
            .call(
                "POST",
                "/api/collections/gated/records",
                token,
                Some(body.clone()),
            )
            .await;
        assert_envelope(resp, 400).await;
    }
    app.post_ok(&su, "/api/collections/gated/records", body).await;
}

#[tokio::test]
async fn batched_writes_drop_hidden_values_too() {
    let app = spawn_app().await;
    let su = users_with_hidden_fields(&app).await;
    app.change_settings(|s| s.batch.enabled = true).await;
    notes(&app, &su, "notes", "").await;
    let (id, user) = app.sign_up("b@example.com", "password123").await;
    let requests = json!({"requests": [
        {"method": "POST", "url": "/api/collections/notes/records",
            "body": {"id": "note00000000001", "title": "t", "secret": "mine"}},
        {"method": "PATCH", "url": format!("/api/collections/users/records/{id}"),
            "body": {"name": "B", "role": "admin"}},
    ]});
    ok(app
        .call("POST", "/api/batch", Some(&user), Some(requests.clone()))
        .await)
    .await;
    assert_eq!(stored(&app, "notes", "note00000000001", "secret").await, "");
    assert_eq!(stored(&app, "users", &id, "name").await, "B");
    assert_eq!(stored(&app, "users", &id, "role").await, "");

    // The same batch from a superuser writes them.
    let mut requests = requests;
    requests["requests"][0]["body"]["id"] = json!("note00000000002");
    ok(app.call("POST", "/api/batch", Some(&su), Some(requests)).await).await;
    assert_eq!(stored(&app, "notes", "note00000000002", "secret").await, "mine");
    assert_eq!(stored(&app, "users", &id, "role").await, "admin");
}

/// Three users: an admin, a plain one and a banned one (set by a
/// superuser after they signed in, so their tokens predate the change).
struct People {
    su: String,
    admin: String,
    admin_id: String,
    plain: String,
    banned: String,
}

async fn people(app: &TestApp) -> People {
    let su = users_with_hidden_fields(app).await;
    let (admin_id, admin) = app.sign_up("admin@example.com", "password123").await;
    let (_, plain) = app.sign_up("plain@example.com", "password123").await;
    let (banned_id, banned) = app.sign_up("banned@example.com", "password123").await;
    let path = |id: &str| format!("/api/collections/users/records/{id}");
    patch(app, &su, &path(&admin_id), json!({"role": "admin"})).await;
    patch(app, &su, &path(&banned_id), json!({"banned": true})).await;
    People {
        su,
        admin,
        admin_id,
        plain,
        banned,
    }
}

/// `reports`: admins read, the unbanned write.
async fn reports(app: &TestApp, su: &str) {
    let admins = "@request.auth.role = 'admin'";
    app.post_ok(
        su,
        "/api/collections",
        json!({"name": "reports", "listRule": admins, "viewRule": admins,
        "createRule": "@request.auth.banned != true", "updateRule": admins,
        "fields": [
            {"name": "title", "type": "text"},
            {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_"},
            {"name": "doc", "type": "file", "protected": true, "maxSelect": 1},
        ]}),
    )
    .await;
}

#[tokio::test]
async fn record_rules_see_the_callers_hidden_fields() {
    let app = spawn_app().await;
    let p = people(&app).await;
    reports(&app, &p.su).await;
    let report = app
        .post_ok(
            &p.su,
            "/api/collections/reports/records",
            json!({"title": "r", "author": p.admin_id}),
        )
        .await;
    let item = format!(
        "/api/collections/reports/records/{}",
        report["id"].as_str().unwrap()
    );
    let total = |token: String| {
        let app = &app;
        async move {
            let list = app
                .call("GET", "/api/collections/reports/records", Some(&token), None)
                .await;
            ok(list).await["totalItems"].clone()
        }
    };
    assert_eq!(total(p.admin.clone()).await, 1);
    assert_eq!(total(p.plain.clone()).await, 0);
    assert_eq!(app.call("GET", &item, Some(&p.admin), None).await.status(), 200);
    assert_envelope(app.call("GET", &item, Some(&p.plain), None).await, 404).await;
    patch(&app, &p.admin, &item, json!({"title": "edited"})).await;
    assert_envelope(
        app.call("PATCH", &item, Some(&p.plain), Some(json!({"title": "x"})))
            .await,
        404,
    )
    .await;

    let reports_path = "/api/collections/reports/records";
    let new = || Some(json!({"title": "n"}));
    assert_envelope(app.call("POST", reports_path, Some(&p.banned), new()).await, 400).await;
    ok(app.call("POST", reports_path, Some(&p.plain), new()).await).await;

    // A batch is judged the same way.
    app.change_settings(|s| s.batch.enabled = true).await;
    let batch = json!({"requests": [
        {"method": "POST", "url": "/api/collections/reports/records", "body": {"title": "b"}},
    ]});
    let resp = app
        .call("POST", "/api/batch", Some(&p.banned), Some(batch.clone()))
        .await;
    assert_envelope(resp, 400).await;
    ok(app.call("POST", "/api/batch", Some(&p.plain), Some(batch)).await).await;

    // No answer shows them: not the sign-in, not the own record, not an
    // expand.
    let signed_in = json(app.sign_in("users", "admin@example.com", "password123").await).await;
    assert_eq!(signed_in["record"]["email"], "admin@example.com");
    let own = format!("/api/collections/users/records/{}", p.admin_id);
    let expanded = ok(app
        .call("GET", &format!("{item}?expand=author"), Some(&p.admin), None)
        .await)
    .await;
    let refreshed = ok(app
        .call(
            "POST",
            "/api/collections/users/auth-refresh",
            Some(&p.admin),
            None,
        )
        .await)
    .await;
    for shown in [
        &signed_in["record"],
        &ok(app.call("GET", &own, Some(&p.admin), None).await).await,
        &expanded["expand"]["author"],
        &refreshed["record"],
    ] {
        assert_eq!(shown["id"], p.admin_id.as_str(), "{shown}");
        for hidden in ["role", "banned", "perms", "tokenKey", "password"] {
            assert!(shown.get(hidden).is_none(), "{hidden} shown: {shown}");
        }
    }
}

#[tokio::test]
async fn realtime_and_file_access_see_the_callers_hidden_fields() {
    let app = spawn_app().await;
    let p = people(&app).await;
    reports(&app, &p.su).await;
    let (mut admin, mut plain) = (Sse::open(&app).await, Sse::open(&app).await);
    admin.subscribe_ok(&app, Some(&p.admin), &["reports/*"]).await;
    plain.subscribe_ok(&app, Some(&p.plain), &["reports/*"]).await;
    let resp = send(
        &app,
        "POST",
        "/api/collections/reports/records",
        Some(&p.su),
        form(&[("title", "live")], &[("doc", "d.txt", b"classified".to_vec())]),
    )
    .await;
    let report = ok(resp).await;
    let event = admin.next().await.expect("the admin's event");
    assert_eq!(event.data["record"]["title"], "live");
    assert_eq!(
        plain.next_within(Duration::from_millis(300)).await.unwrap_err(),
        NoEvent::TimedOut
    );
    // A demotion takes effect on the open subscription.
    let admin_path = format!("/api/collections/users/records/{}", p.admin_id);
    patch(&app, &p.su, &admin_path, json!({"role": "former"})).await;
    let later = json!({"title": "after the demotion"});
    app.post_ok(&p.su, "/api/collections/reports/records", later)
        .await;
    assert_eq!(
        admin.next_within(Duration::from_millis(300)).await.unwrap_err(),
        NoEvent::TimedOut
    );
    patch(&app, &p.su, &admin_path, json!({"role": "admin"})).await;

    let path = format!(
        "/api/files/reports/{}/{}",
        report["id"].as_str().unwrap(),
        report["doc"].as_str().unwrap()
    );
    let file_token = |token: String| {
        let app = &app;
        async move {
            app.post_ok(&token, "/api/files/token", json!({})).await["token"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let admin_file = file_token(p.admin.clone()).await;
    let resp = app.get(&format!("{path}?token={admin_file}")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "classified");
    let plain_file = file_token(p.plain.clone()).await;
    assert_envelope(app.get(&format!("{path}?token={plain_file}")).await, 404).await;
}

#[tokio::test]
async fn the_api_document_shows_each_caller_only_what_it_may_use() {
    let app = spawn_app().await;
    let su = users_with_hidden_fields(&app).await;
    app.post_ok(
        &su,
        "/api/collections",
        json!({"name": "ledger", "fields": [
            {"name": "amount", "type": "number"},
            {"name": "tier", "type": "select", "values": ["gold", "platinum"]},
        ]}),
    )
    .await;
    app.post_ok(
        &su,
        "/api/collections",
        json!({"name": "bulletin", "listRule": "", "viewRule": "",
            "fields": [{"name": "title", "type": "text"}]}),
    )
    .await;
    let ledger_id = json(app.call("GET", "/api/collections/ledger", Some(&su), None).await).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A visible collection's relation to a locked one.
    let users = json(app.call("GET", "/api/collections/users", Some(&su), None).await).await;
    let mut fields = users["fields"].as_array().unwrap().clone();
    fields.push(json!({"name": "account", "type": "relation", "collectionId": ledger_id}));
    patch(&app, &su, "/api/collections/users", json!({"fields": fields})).await;
    let (_, user) = app.sign_up("doc@example.com", "password123").await;
    let document = |token: Option<String>| {
        let app = &app;
        async move {
            let resp = app.call("GET", "/api/openapi.json", token.as_deref(), None).await;
            ok(resp).await
        }
    };
    // The superuser's document first, so a cache would hold it.
    let full = document(Some(su.clone())).await;
    assert!(full["paths"]["/collections/ledger/records"]["post"].is_object());
    assert!(full["paths"]["/collections/_superusers/records"]["get"].is_object());
    assert!(full["components"]["schemas"]["Create_users"]["properties"]["role"].is_object());
    assert!(full.to_string().contains(&ledger_id));

    for doc in [document(None).await, document(Some(user)).await] {
        let paths = &doc["paths"];
        let schemas = &doc["components"]["schemas"];
        for locked in ["ledger", "_superusers"] {
            assert!(paths.get(format!("/collections/{locked}/records")).is_none());
            assert!(
                paths
                    .get(format!("/collections/{locked}/records/{{id}}"))
                    .is_none()
            );
            assert!(schemas.get(format!("Record_{locked}")).is_none());
        }
        let text = doc.to_string();
        for secret in [
            "platinum",
            "\"role\"",
            "\"banned\"",
            "\"perms\"",
            "tokenKey",
            &ledger_id,
        ] {
            assert!(!text.contains(secret), "{secret} shown");
        }
        // What the rules open stays: reading the bulletin, signing up.
        let bulletin = &paths["/collections/bulletin/records"];
        assert!(bulletin["get"].is_object());
        assert!(bulletin.get("post").is_none());
        assert!(paths["/collections/bulletin/records/{id}"]["get"].is_object());
        assert!(paths["/collections/bulletin/records/{id}"].get("patch").is_none());
        assert!(
            paths["/collections/bulletin/records/{id}"]
                .get("delete")
                .is_none()
        );
        assert!(schemas.get("Create_bulletin").is_none());
        assert!(paths["/collections/users/records"]["post"].is_object());
        assert!(schemas["Create_users"]["properties"]["password"].is_object());
        assert!(schemas["Update_users"]["properties"]["name"].is_object());
    }
    // And the superuser's is still whole after the others'.
    let again = document(Some(su)).await;
    assert!(again["paths"]["/collections/ledger/records"]["get"].is_object());
}

#[tokio::test]
async fn a_sign_up_cannot_claim_a_verified_account() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    let account = |email: &str, verified: bool| {
        Some(json!({"email": email, "password": "password123",
            "passwordConfirm": "password123", "verified": verified}))
    };
    let path = "/api/collections/users/records";
    // PocketBase refuses it rather than dropping it.
    let refused = assert_envelope(
        app.call("POST", path, None, account("claim@example.com", true))
            .await,
        400,
    )
    .await;
    assert_eq!(refused["data"]["verified"]["code"], "validation_values_mismatch");
    let plain = ok(app
        .call("POST", path, None, account("plain@example.com", false))
        .await)
    .await;
    assert_eq!(plain["verified"], false);
    let made = ok(app
        .call("POST", path, Some(&su), account("made@example.com", true))
        .await)
    .await;
    assert_eq!(made["verified"], true);
}

#[tokio::test]
async fn the_mfa_rule_sees_the_accounts_hidden_fields() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let mfa = json!({"mfa": {"enabled": true, "rule": "@request.auth.role = 'admin'"}});
    patch(&app, &p.su, "/api/collections/users", mfa).await;
    let sign_in = |email: &'static str| app.sign_in("users", email, "password123");
    let admin = sign_in("admin@example.com").await;
    assert_eq!(admin.status(), 401, "admins need a second factor");
    assert!(json(admin).await["mfaId"].is_string());
    assert_eq!(sign_in("plain@example.com").await.status(), 200);
}
