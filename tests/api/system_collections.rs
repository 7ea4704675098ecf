//! The system collections keep what the server relies on, as PocketBase
//! 0.40.6 keeps it (each answer observed against its binary): their API
//! rules cannot change (`_superusers {"createRule": ""}` let a guest make
//! itself a superuser), no auth collection takes `manageRule: ""` (every
//! signed-in account would manage every account), and `_superusers` cannot
//! be emptied (every superuser locked out). The controls: a rule sent back
//! unchanged, the rules of a collection that is not a system one, the
//! truncation of any other collection. A data folder that took open rules
//! before has them put back when it is opened.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, json, spawn_app, spawn_app_in};

const RULE_CHANGE: &str = "validation_collection_system_rule_change";

async fn patch(app: &TestApp, token: &str, collection: &str, body: Value) -> reqwest::Response {
    let path = format!("/api/collections/{collection}");
    app.call("PATCH", &path, Some(token), Some(body)).await
}

async fn definition(app: &TestApp, token: &str, collection: &str) -> Value {
    let path = format!("/api/collections/{collection}");
    json(app.call("GET", &path, Some(token), None).await).await
}

/// The attack an opened create rule allows, refused.
async fn guest_cannot_create_a_superuser(app: &TestApp) {
    let resp = app
        .call(
            "POST",
            "/api/collections/_superusers/records",
            None,
            Some(json!({"email": "evil@example.com", "password": "evil-pass-1", "passwordConfirm": "evil-pass-1"})),
        )
        .await;
    assert_envelope(resp, 403).await;
}

async fn superusers_count(app: &TestApp, token: &str) -> u64 {
    let path = "/api/collections/_superusers/records";
    let list = json(app.call("GET", path, Some(token), None).await).await;
    list["totalItems"].as_u64().unwrap()
}

#[tokio::test]
async fn the_rules_of_superusers_cannot_change_so_a_guest_cannot_become_one() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let before = definition(&app, &token, "_superusers").await;

    for key in [
        "listRule",
        "viewRule",
        "createRule",
        "updateRule",
        "deleteRule",
        "authRule",
        "manageRule",
    ] {
        for value in [json!("id != ''"), json!(""), json!(null)] {
            // What each rule already is, sent back, is no change.
            if before[key] == value {
                continue;
            }
            let resp = patch(&app, &token, "_superusers", json!({ key: value })).await;
            let body = assert_envelope(resp, 400).await;
            let code = &body["data"][key]["code"];
            if key == "manageRule" && value == "" {
                assert_eq!(code, "validation_nil_or_not_empty_required", "{body}");
            } else {
                assert_eq!(code, RULE_CHANGE, "{key} = {value}: {body}");
            }
        }
    }
    let resp = patch(
        &app,
        &token,
        "_superusers",
        json!({"listRule": "", "createRule": "", "name": "admins"}),
    )
    .await;
    let body = assert_envelope(resp, 400).await;
    assert_eq!(body["data"]["listRule"]["code"], RULE_CHANGE, "{body}");
    assert_eq!(body["data"]["createRule"]["code"], RULE_CHANGE, "{body}");
    assert_eq!(
        body["data"]["name"]["code"], "validation_collection_system_name_change",
        "every problem at once: {body}"
    );
    assert_eq!(
        definition(&app, &token, "_superusers").await,
        before,
        "nothing changed"
    );

    // The attack the changed rule allowed: still refused.
    guest_cannot_create_a_superuser(&app).await;
    assert_eq!(superusers_count(&app, &token).await, 1);
    assert_eq!(
        app.sign_in("_superusers", "evil@example.com", "evil-pass-1")
            .await
            .status(),
        400
    );

    // Controls: the definition sent back whole, or the rules as they are,
    // and what is no access rule (MFA's, a token's lifetime) still save.
    let resp = patch(&app, &token, "_superusers", before.clone()).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let same =
        json!({"listRule": null, "createRule": null, "authRule": before["authRule"], "manageRule": null});
    assert_eq!(patch(&app, &token, "_superusers", same).await.status(), 200);
    let other = json!({"mfa": {"rule": "email != ''"}, "authToken": {"duration": 3600}});
    let resp = patch(&app, &token, "_superusers", other).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
}

#[tokio::test]
async fn the_rules_of_external_auths_cannot_change_either() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let before = definition(&app, &token, "_externalAuths").await;
    for key in ["listRule", "viewRule", "createRule", "updateRule", "deleteRule"] {
        let resp = patch(&app, &token, "_externalAuths", json!({ key: "" })).await;
        let body = assert_envelope(resp, 400).await;
        assert_eq!(body["data"][key]["code"], RULE_CHANGE, "{key}: {body}");
    }
    // `null` where a rule is set takes access away: a change too.
    let resp = patch(&app, &token, "_externalAuths", json!({"listRule": null})).await;
    let body = assert_envelope(resp, 400).await;
    assert_eq!(body["data"]["listRule"]["code"], RULE_CHANGE, "{body}");
    let same = json!({"createRule": null, "listRule": before["listRule"]});
    assert_eq!(patch(&app, &token, "_externalAuths", same).await.status(), 200);
    assert_eq!(
        definition(&app, &token, "_externalAuths").await["listRule"],
        before["listRule"]
    );
}

#[tokio::test]
async fn an_import_cannot_change_the_rules_of_a_system_collection() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let before = definition(&app, &token, "_superusers").await;
    let mut changed = before.clone();
    changed["createRule"] = json!("");
    let resp = app
        .call(
            "PUT",
            "/api/collections/import",
            Some(&token),
            Some(json!({"collections": [{"name": "side_effect"}, changed], "deleteMissing": false})),
        )
        .await;
    let body = assert_envelope(resp, 400).await;
    assert_eq!(
        body["data"]["collections"]["code"],
        "validation_collections_import_failure"
    );
    let message = body["data"]["collections"]["message"].as_str().unwrap();
    assert!(message.contains(RULE_CHANGE), "{message}");
    assert_eq!(definition(&app, &token, "_superusers").await, before);
    let resp = app
        .call("GET", "/api/collections/side_effect", Some(&token), None)
        .await;
    assert_envelope(resp, 404).await;
}

#[tokio::test]
async fn no_auth_collection_takes_an_empty_manage_rule_but_others_are_free() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    for blank in ["", "   "] {
        let resp = patch(&app, &token, "users", json!({"manageRule": blank})).await;
        let body = assert_envelope(resp, 400).await;
        assert_eq!(
            body["data"]["manageRule"]["code"], "validation_nil_or_not_empty_required",
            "{body}"
        );
    }
    let resp = app
        .call(
            "POST",
            "/api/collections",
            Some(&token),
            Some(json!({"name": "staff", "type": "auth", "manageRule": ""})),
        )
        .await;
    let body = assert_envelope(resp, 400).await;
    assert_eq!(
        body["data"]["manageRule"]["code"],
        "validation_nil_or_not_empty_required"
    );
    assert_eq!(definition(&app, &token, "users").await["manageRule"], Value::Null);

    // Controls: a collection that is not a system one changes its rules.
    let open = json!({"manageRule": "@request.auth.verified = true", "listRule": "", "authRule": null});
    let changed = json(patch(&app, &token, "users", open).await).await;
    assert_eq!(
        changed["manageRule"], "@request.auth.verified = true",
        "{changed}"
    );
    assert_eq!(changed["listRule"], "");
    assert_eq!(changed["authRule"], Value::Null);
    let back = json!({"manageRule": null, "authRule": ""});
    assert_eq!(patch(&app, &token, "users", back).await.status(), 200);
}

#[tokio::test]
async fn superusers_cannot_be_truncated_but_other_collections_can() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    app.post_ok(
        &token,
        "/api/collections/_superusers/records",
        json!({"email": "two@example.com", "password": "two-pass-123", "passwordConfirm": "two-pass-123"}),
    )
    .await;
    for path in [
        "/api/collections/_superusers/truncate",
        "/api/collections/pbc_3142635823/truncate",
    ] {
        let resp = app.call("DELETE", path, Some(&token), None).await;
        let body = assert_envelope(resp, 400).await;
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("Failed to truncate collection"),
            "{body}"
        );
        assert_eq!(body["data"], json!({}));
    }
    assert_eq!(superusers_count(&app, &token).await, 2, "nothing deleted");
    assert_eq!(
        app.sign_in("_superusers", "root@example.com", "root-pass-123")
            .await
            .status(),
        200
    );
    assert_eq!(
        app.sign_in("_superusers", "two@example.com", "two-pass-123")
            .await
            .status(),
        200
    );
    let resp = app
        .call("DELETE", "/api/collections/_superusers/truncate", None, None)
        .await;
    assert_envelope(resp, 401).await;

    // Controls: `users`, a system base collection and a plain one empty.
    app.sign_up("someone@example.com", "some-pass-123").await;
    app.post_ok(
        &token,
        "/api/collections",
        json!({"name": "notes", "fields": [{"name": "t", "type": "text"}]}),
    )
    .await;
    app.post_ok(&token, "/api/collections/notes/records", json!({"t": "x"}))
        .await;
    for collection in ["users", "_externalAuths", "notes"] {
        let path = format!("/api/collections/{collection}/truncate");
        let resp = app.call("DELETE", &path, Some(&token), None).await;
        assert_eq!(resp.status(), 204, "{collection}");
        let path = format!("/api/collections/{collection}/records");
        let list = json(app.call("GET", &path, Some(&token), None).await).await;
        assert_eq!(list["totalItems"], 0, "{collection}: {list}");
    }
}

#[tokio::test]
async fn rules_opened_before_the_check_are_put_back_when_the_folder_opens() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let users_rules = json!({"listRule": "", "manageRule": "@request.auth.verified = true"});
    assert_eq!(patch(&app, &token, "users", users_rules).await.status(), 200);
    // What an earlier Cairn accepted through the API.
    app.state
        .store
        .data
        .write(|tx| {
            tx.execute_batch(
                "UPDATE _collections SET createRule = '',
                        options = json_set(options, '$.manageRule', '', '$.authRule', 'verified = true')
                   WHERE name = '_superusers';
                 UPDATE _collections SET listRule = '' WHERE name = '_externalAuths';",
            )
            .map_err(cairn::store::StoreError::from)
        })
        .await
        .unwrap();
    let app = spawn_app_in(app.shutdown().await, |_| {}).await;
    let token = app.superuser_token().await;

    let su = definition(&app, &token, "_superusers").await;
    assert_eq!(
        (&su["createRule"], &su["manageRule"]),
        (&Value::Null, &Value::Null),
        "{su}"
    );
    let external = definition(&app, &token, "_externalAuths").await;
    assert!(
        external["listRule"]
            .as_str()
            .unwrap()
            .contains("@request.auth.id"),
        "{external}"
    );
    guest_cannot_create_a_superuser(&app).await;
    // Controls: a narrower rule stays, and may be put back as made (but
    // changed no other way); the rules of a collection that is not a
    // system one stay.
    assert_eq!(su["authRule"], "verified = true");
    let resp = patch(&app, &token, "_superusers", json!({"authRule": "id != ''"})).await;
    let body = assert_envelope(resp, 400).await;
    assert_eq!(body["data"]["authRule"]["code"], RULE_CHANGE, "{body}");
    assert_eq!(
        patch(&app, &token, "_superusers", json!({"authRule": ""}))
            .await
            .status(),
        200
    );
    let users = definition(&app, &token, "users").await;
    assert_eq!(users["listRule"], "");
    assert_eq!(users["manageRule"], "@request.auth.verified = true");
}

/// What an earlier Cairn took through the API and no check refuses in the
/// database itself: `_superusers` open to guests, and two auth
/// collections whose accounts all manage each other (`""`, and blank,
/// which reads as `""`); a third keeps its narrow rule.
async fn open_rules_behind_the_api(app: &TestApp, token: &str) {
    for (name, rule) in [
        ("members", json!("")),
        ("staff", json!("  ")),
        ("clients", json!("verified = true")),
    ] {
        let body = json!({"name": name, "type": "auth"});
        let resp = app
            .call("POST", "/api/collections", Some(token), Some(body))
            .await;
        assert_eq!(resp.status(), 200, "{name}");
        let sql = "UPDATE _collections SET options = json_set(options, '$.manageRule', ?1) WHERE name = ?2";
        let rule = rule.as_str().unwrap().to_owned();
        app.state
            .store
            .data
            .write(move |tx| {
                tx.execute(sql, [rule.as_str(), name])?;
                tx.execute(
                    "UPDATE _collections SET createRule = '' WHERE name = '_superusers'",
                    [],
                )?;
                Ok::<(), cairn::store::StoreError>(())
            })
            .await
            .unwrap();
    }
}

async fn assert_rules_closed(app: &TestApp, token: &str) {
    let su = definition(app, token, "_superusers").await;
    assert_eq!(su["createRule"], Value::Null, "{su}");
    guest_cannot_create_a_superuser(app).await;
    for name in ["members", "staff"] {
        let c = definition(app, token, name).await;
        assert_eq!(c["manageRule"], Value::Null, "{name}: {c}");
    }
    let c = definition(app, token, "clients").await;
    assert_eq!(c["manageRule"], "verified = true", "{c}");
}

#[tokio::test]
async fn a_manage_rule_open_to_all_is_closed_when_the_folder_opens() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    open_rules_behind_the_api(&app, &token).await;
    let app = spawn_app_in(app.shutdown().await, |_| {}).await;
    let token = app.superuser_token().await;
    assert_rules_closed(&app, &token).await;
}

/// A backup may be older than the checks: a restore brings the server up
/// on it without a restart, so the rules are closed then too.
#[tokio::test]
async fn rules_open_in_a_restored_backup_are_closed_by_the_restore() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    open_rules_behind_the_api(&app, &token).await;
    let body = json!({"name": "open_rules.zip"});
    let resp = app.call("POST", "/api/backups", Some(&token), Some(body)).await;
    assert_eq!(resp.status(), 204);
    let resp = app
        .call("POST", "/api/backups/open_rules.zip/restore", Some(&token), None)
        .await;
    assert_eq!(resp.status(), 204);
    let token = app.superuser_token().await;
    assert_rules_closed(&app, &token).await;
}

/// Every superuser is verified, as PocketBase makes them: one made through
/// the records API and asked to be unverified, then patched so, stays
/// verified on both servers (Cairn made it unverified). The control: a
/// user of `users` is made unverified.
#[tokio::test]
async fn a_superuser_is_always_verified() {
    let Some(both) = crate::differential::start_both().await else {
        return;
    };
    for s in [&both.pb, &both.cairn] {
        let made = s
            .admin(
                "POST",
                "/api/collections/_superusers/records",
                json!({"email": "second@example.com", "password": "second-pass-1", "passwordConfirm": "second-pass-1", "verified": false}),
            )
            .await;
        assert_eq!(made["verified"], true, "{}: {made}", s.base);
        let path = format!(
            "/api/collections/_superusers/records/{}",
            made["id"].as_str().unwrap()
        );
        let changed = s.admin("PATCH", &path, json!({"verified": false})).await;
        assert_eq!(changed["verified"], true, "{}: {changed}", s.base);
        let user = s
            .admin(
                "POST",
                "/api/collections/users/records",
                json!({"email": "plain@example.com", "password": "plain-pass-12", "passwordConfirm": "plain-pass-12"}),
            )
            .await;
        assert_eq!(user["verified"], false, "{}: {user}", s.base);
    }
}
