//! `POST /api/collections/{c}/rule-test` (Cairn's own): what a collection's
//! list or view rule lets an account (or a guest) see, and which part of
//! the rule hides a record. Superusers only; the account is acted as,
//! never signed in as.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

const OWNER: &str = "owner = @request.auth.id";

/// `notes` (owner relation to users, rule `OWNER` on list and view), two
/// users and a note of each: (superuser token, [(user id, user token,
/// note id)]).
async fn setup(app: &TestApp) -> (String, Vec<(String, String, String)>) {
    let token = app.superuser_token().await;
    let users = app
        .call("GET", "/api/collections/users", Some(&token), None)
        .await;
    let users_id = json(users).await["id"].as_str().unwrap().to_owned();
    app.post_ok(
        &token,
        "/api/collections",
        json!({"name": "notes", "type": "base", "listRule": OWNER, "viewRule": OWNER, "fields": [
            {"name": "title", "type": "text"},
            {"name": "owner", "type": "relation", "collectionId": users_id, "maxSelect": 1},
        ]}),
    )
    .await;
    let mut out = Vec::new();
    for name in ["ann", "bob"] {
        let (id, user) = app.sign_up(&format!("{name}@example.com"), "user-pass-1").await;
        let note = app
            .post_ok(
                &token,
                "/api/collections/notes/records",
                json!({"title": format!("{name}'s note"), "owner": id}),
            )
            .await;
        out.push((id, user, note["id"].as_str().unwrap().to_owned()));
    }
    (token, out)
}

async fn test_as(app: &TestApp, token: &str, body: Value) -> Value {
    app.post_ok(token, "/api/collections/notes/rule-test", body).await
}

fn ids(answer: &Value) -> Vec<&str> {
    answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn only_superusers_may_test_and_bad_input_is_refused() {
    let app = spawn_app().await;
    let (token, users) = setup(&app).await;
    let (ann, ann_token, _) = &users[0];
    let good = json!({"rule": "list", "auth": {"collection": "users", "id": ann}});
    let path = "/api/collections/notes/rule-test";
    assert_envelope(app.call("POST", path, None, Some(good.clone())).await, 401).await;
    assert_envelope(
        app.call("POST", path, Some(ann_token), Some(good.clone())).await,
        403,
    )
    .await;
    // The positive control: the same request as a superuser.
    assert_eq!(
        app.call("POST", path, Some(&token), Some(good)).await.status(),
        200
    );

    let nowhere = "/api/collections/nowhere/rule-test";
    assert_envelope(
        app.call("POST", nowhere, Some(&token), Some(json!({"rule": "list"})))
            .await,
        404,
    )
    .await;
    let refused = [
        json!({"rule": "create"}),
        json!({}),
        json!({"rule": "list", "auth": {"collection": "nowhere", "id": ann}}),
        // A base collection has no accounts.
        json!({"rule": "list", "auth": {"collection": "notes", "id": ann}}),
        json!({"rule": "list", "auth": {"collection": "users", "id": "nosuchuser0000"}}),
        json!({"rule": "list", "expression": "owner = "}),
        json!({"rule": "list", "expression": "nosuchfield = 1"}),
        json!({"rule": "view", "record": "nosuchnote00000"}),
    ];
    for body in refused {
        let answer = assert_envelope(
            app.call("POST", path, Some(&token), Some(body.clone())).await,
            400,
        )
        .await;
        if body.get("auth").is_some() {
            assert!(answer["data"]["auth"].is_object(), "{body}: {answer}");
        }
    }
    // The positive control of the last three: a guest, a good draft, a
    // record that exists.
    let note = &users[0].2;
    let fine = json!({"rule": "view", "expression": "title != ''", "record": note});
    assert_eq!(
        app.call("POST", path, Some(&token), Some(fine)).await.status(),
        200
    );
}

#[tokio::test]
async fn each_owner_sees_only_their_own_notes_as_the_real_list_shows() {
    let app = spawn_app().await;
    let (token, users) = setup(&app).await;
    for (id, user_token, note) in &users {
        for rule in ["list", "view"] {
            let answer = test_as(
                &app,
                &token,
                json!({"rule": rule, "auth": {"collection": "users", "id": id}}),
            )
            .await;
            assert_eq!(answer["access"], "rule");
            assert_eq!(answer["rule"], OWNER);
            assert_eq!(ids(&answer), [note.as_str()], "{rule}: {answer}");
            assert_eq!(answer["totalItems"], 1);
            assert_eq!(answer["items"][0]["owner"], id.as_str());
        }
        // What the account's own request sees.
        let real = json(
            app.call("GET", "/api/collections/notes/records", Some(user_token), None)
                .await,
        )
        .await;
        assert_eq!(ids(&real), [note.as_str()]);
    }
    // A guest sees nothing; a superuser account is not bound by rules.
    let guest = test_as(&app, &token, json!({"rule": "list", "auth": null})).await;
    assert_eq!(ids(&guest), Vec::<&str>::new());
    assert_eq!(guest["access"], "rule");
    let root = test_as(
        &app,
        &token,
        json!({"rule": "list", "auth": {"collection": "_superusers", "id": superuser_id(&app, &token).await}}),
    )
    .await;
    assert_eq!(root["access"], "superuser");
    assert_eq!(root["totalItems"], 2);
}

async fn superuser_id(app: &TestApp, token: &str) -> String {
    let list = app
        .call("GET", "/api/collections/_superusers/records", Some(token), None)
        .await;
    json(list).await["items"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_hidden_record_is_explained_part_by_part() {
    let app = spawn_app().await;
    let (token, users) = setup(&app).await;
    let (ann, _, ann_note) = &users[0];
    let (_, _, bob_note) = &users[1];
    let as_ann = |record: &str, expression: Option<&str>| {
        let mut body = json!({"rule": "view", "auth": {"collection": "users", "id": ann}, "record": record});
        if let Some(e) = expression {
            body["expression"] = json!(e);
        }
        body
    };

    let hidden = test_as(&app, &token, as_ann(bob_note, None)).await;
    assert_eq!(hidden["record"]["id"], bob_note.as_str());
    assert_eq!(hidden["record"]["visible"], false, "{hidden}");
    let why = &hidden["record"]["explanation"];
    assert_eq!(why["text"], OWNER);
    assert_eq!(why["holds"], false);
    // The positive control: her own note, by the same rule.
    let shown = test_as(&app, &token, as_ann(ann_note, None)).await;
    assert_eq!(shown["record"]["visible"], true);
    assert_eq!(shown["record"]["explanation"]["holds"], true);

    // A draft of two parts: the one about the title holds, the owner fails.
    let draft = format!("title ~ 'note' && ({OWNER} || title = 'shared')");
    let hidden = test_as(&app, &token, as_ann(bob_note, Some(&draft))).await;
    assert_eq!(hidden["rule"], draft.as_str());
    let why = &hidden["record"]["explanation"];
    assert_eq!(why["joiner"], "&&");
    assert_eq!(why["holds"], false);
    let parts = why["parts"].as_array().unwrap();
    assert_eq!(parts[0]["text"], "title ~ 'note'");
    assert_eq!(parts[0]["holds"], true);
    assert_eq!(parts[1]["text"], format!("({OWNER} || title = 'shared')"));
    assert_eq!(parts[1]["holds"], false);
    assert_eq!(parts[1]["joiner"], "||");
    assert_eq!(parts[1]["parts"][0]["text"], OWNER);
    assert_eq!(parts[1]["parts"][0]["holds"], false);
    assert_eq!(parts[1]["parts"][1]["holds"], false);
    // The draft was not saved.
    let stored = json(
        app.call("GET", "/api/collections/notes", Some(&token), None)
            .await,
    )
    .await;
    assert_eq!(stored["viewRule"], OWNER);
}

#[tokio::test]
async fn locked_and_open_rules() {
    let app = spawn_app().await;
    let (token, users) = setup(&app).await;
    let (ann, _, note) = &users[0];
    let auth = json!({"collection": "users", "id": ann});
    let locked = test_as(
        &app,
        &token,
        json!({"rule": "list", "auth": auth, "expression": null, "record": note}),
    )
    .await;
    assert_eq!(locked["access"], "locked");
    assert_eq!(locked["rule"], Value::Null);
    assert_eq!(locked["totalItems"], 0);
    assert_eq!(locked["record"]["visible"], false);
    let open = test_as(
        &app,
        &token,
        json!({"rule": "list", "auth": null, "expression": "", "record": note}),
    )
    .await;
    assert_eq!(open["access"], "everyone");
    assert_eq!(open["totalItems"], 2);
    assert_eq!(open["record"]["visible"], true);
    assert_eq!(open["record"]["explanation"], Value::Null);
}

#[tokio::test]
async fn the_filter_and_paging_apply_as_the_accounts_would() {
    let app = spawn_app().await;
    let (token, users) = setup(&app).await;
    let (ann, _, note) = &users[0];
    let auth = json!({"collection": "users", "id": ann});
    // Her own note matches her filter; Bob's would, but the rule hides it.
    let mine = test_as(
        &app,
        &token,
        json!({"rule": "list", "auth": auth, "filter": "title ~ 'note'"}),
    )
    .await;
    assert_eq!(ids(&mine), [note.as_str()]);
    let bobs = test_as(
        &app,
        &token,
        json!({"rule": "list", "auth": auth, "filter": "title ~ 'bob'"}),
    )
    .await;
    assert_eq!(bobs["totalItems"], 0);
    // The control: with the rule opened, the same filter finds Bob's note.
    let open = test_as(
        &app,
        &token,
        json!({"rule": "list", "auth": auth, "expression": "", "filter": "title ~ 'bob'"}),
    )
    .await;
    assert_eq!(ids(&open), [users[1].2.as_str()]);
    // One page of one.
    let page = test_as(
        &app,
        &token,
        json!({"rule": "list", "expression": "", "perPage": 1, "page": 2}),
    )
    .await;
    assert_eq!(
        (page["page"].as_u64(), page["perPage"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(page["totalItems"], 2);
    assert_eq!(ids(&page), [users[1].2.as_str()]);
    // A guest's filter may not name @request fields of its own: as the
    // real list answers a guest, 403.
    let resp = app
        .call(
            "POST",
            "/api/collections/notes/rule-test",
            Some(&token),
            Some(json!({"rule": "list", "expression": "", "filter": "@request.auth.id = ''"})),
        )
        .await;
    let real = app
        .call(
            "GET",
            &format!(
                "/api/collections/notes/records?filter={}",
                crate::helpers::filter("@request.auth.id = ''")
            ),
            None,
            None,
        )
        .await;
    assert_eq!(real.status(), 403);
    assert_eq!(resp.status(), real.status());
}

#[tokio::test]
async fn a_rule_reading_the_request_is_tested_with_an_imagined_query_and_headers() {
    let app = spawn_app().await;
    let (token, users) = setup(&app).await;
    let (ann, _, ann_note) = &users[0];
    let rule = "@request.query.shared = 'yes' || @request.headers.x_team = title";
    let ask = |extra: Value| {
        let mut body =
            json!({"rule": "list", "auth": {"collection": "users", "id": ann}, "expression": rule});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    // Without the request values the rule matches nothing…
    assert!(ids(&test_as(&app, &token, ask(json!({}))).await).is_empty());
    assert!(ids(&test_as(&app, &token, ask(json!({"query": {"shared": "no"}}))).await).is_empty());
    // …with the query parameter it matches every note…
    let shared = test_as(&app, &token, ask(json!({"query": {"shared": "yes"}}))).await;
    assert_eq!(ids(&shared).len(), 2, "{shared}");
    // …and with the header (named as a client sends it) only Ann's.
    let header = test_as(
        &app,
        &token,
        ask(json!({"headers": {"X-Team": "ann's note"}, "record": ann_note})),
    )
    .await;
    assert_eq!(ids(&header), [ann_note.as_str()], "{header}");
    assert_eq!(header["record"]["visible"], true, "{header}");
    assert_eq!(
        header["record"]["explanation"]["parts"][1]["holds"], true,
        "{header}"
    );
    assert_eq!(
        header["record"]["explanation"]["parts"][0]["holds"], false,
        "{header}"
    );
}
