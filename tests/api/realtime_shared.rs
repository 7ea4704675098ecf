//! `/api/realtime`: subscribers with the same topic text but different
//! callers. A shared rule check must never hand one caller's answer to
//! another: superusers may filter by hidden fields, each account sees its
//! own email, guests see neither. Negatives are proved through commit
//! order: every subscriber also follows `marks/*`, and a mark committed
//! after the change must be the first event of those who may not see it.

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, spawn_app},
    sse::Sse,
};

/// `topic?options=…` as the SDK encodes `{query: {filter}}`.
pub fn with_filter(topic: &str, filter: &str) -> String {
    let options = json!({ "query": { "filter": filter } }).to_string();
    let encoded: String = options
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{topic}?options={encoded}")
}

/// `marks`, open to all: the marker every subscriber follows.
async fn marks(app: &TestApp, root: &str) {
    app.post_ok(
        root,
        "/api/collections",
        json!({
            "name": "marks", "type": "base", "listRule": "", "createRule": "",
            "fields": [{"name": "title", "type": "text"}]
        }),
    )
    .await;
}

async fn mark(app: &TestApp, root: &str) {
    app.post_ok(root, "/api/collections/marks/records", json!({"title": "mark"}))
        .await;
}

/// The next event's name and record.
async fn next(sse: &mut Sse) -> (String, Value) {
    let e = sse.next().await.expect("an event");
    (e.name, e.data["record"].clone())
}

#[tokio::test]
async fn a_filter_on_a_hidden_field_matches_only_for_superusers() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    marks(&app, &root).await;
    app.post_ok(
        &root,
        "/api/collections",
        json!({
            "name": "vault", "type": "base", "listRule": "", "viewRule": "",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "code", "type": "text", "hidden": true}
            ]
        }),
    )
    .await;
    let (_, alice) = app.sign_up("alice@example.com", "password123").await;
    let (_, bob) = app.sign_up("bob@example.com", "password123").await;
    let by_code = with_filter("vault/*", "code = 'x'");
    let by_title = with_filter("vault/*", "title = 'hit'");
    let topics = [by_code.as_str(), by_title.as_str(), "marks/*"];
    let mut streams = Vec::new();
    for auth in [Some(&root), Some(&alice), None, Some(&bob), None] {
        let sse = Sse::open(&app).await;
        sse.subscribe_ok(&app, auth.map(String::as_str), &topics).await;
        streams.push(sse);
    }
    app.post_ok(
        &root,
        "/api/collections/vault/records",
        json!({"title": "hit", "code": "x"}),
    )
    .await;
    mark(&app, &root).await;

    let mut root_stream = streams.remove(0);
    let mut seen = vec![next(&mut root_stream).await.0, next(&mut root_stream).await.0];
    seen.sort();
    let mut both = vec![by_code.clone(), by_title.clone()];
    both.sort();
    assert_eq!(seen, both, "the superuser's hidden-field filter matches");
    assert_eq!(next(&mut root_stream).await.0, "marks/*");
    for (i, sse) in streams.iter_mut().enumerate() {
        // The visible-field filter on the same change is the positive
        // control: the change did reach them, only the hidden one did not.
        let (name, record) = next(sse).await;
        assert_eq!(name, by_title, "subscriber {i}");
        assert_eq!(record["title"], "hit");
        assert!(record.get("code").is_none(), "{record}");
        assert_eq!(
            next(sse).await.0,
            "marks/*",
            "subscriber {i} got the superuser's answer"
        );
    }
}

#[tokio::test]
async fn a_filter_on_email_matches_only_for_those_who_may_see_it() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    marks(&app, &root).await;
    let open = json!({"listRule": "", "viewRule": ""});
    let resp = app
        .call("PATCH", "/api/collections/users", Some(&root), Some(open))
        .await;
    assert_eq!(resp.status(), 200);
    let (alice_id, alice) = app.sign_up("alice@example.com", "password123").await;
    let (_, bob) = app.sign_up("bob@example.com", "password123").await;
    let topic = with_filter("users/*", "email = 'alice@example.com'");
    let topics = [topic.as_str(), "marks/*"];
    // Every order of callers, so whoever is checked first cannot decide
    // for the others.
    let callers = [Some(&bob), None, Some(&root), Some(&alice), None, Some(&bob)];
    let mut streams = Vec::new();
    for auth in callers {
        let sse = Sse::open(&app).await;
        sse.subscribe_ok(&app, auth.map(String::as_str), &topics).await;
        streams.push(sse);
    }
    let resp = app
        .call(
            "PATCH",
            &format!("/api/collections/users/records/{alice_id}"),
            Some(&root),
            Some(json!({"name": "Alice"})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    mark(&app, &root).await;

    for (i, sse) in streams.iter_mut().enumerate() {
        let sees_email = matches!(i, 2 | 3);
        let (name, record) = next(sse).await;
        if sees_email {
            assert_eq!(name, topic, "subscriber {i} (superuser or alice herself)");
            assert_eq!(record["name"], "Alice");
            assert_eq!(record["email"], "alice@example.com");
            assert_eq!(next(sse).await.0, "marks/*");
        } else {
            assert_eq!(
                name, "marks/*",
                "subscriber {i} matched a hidden email through a shared check: {record}"
            );
        }
    }

    // Once alice makes her email visible, everyone's filter matches it.
    let resp = app
        .call(
            "PATCH",
            &format!("/api/collections/users/records/{alice_id}"),
            Some(&alice),
            Some(json!({"emailVisibility": true})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    for (i, sse) in streams.iter_mut().enumerate() {
        let (name, record) = next(sse).await;
        assert_eq!(name, topic, "subscriber {i}");
        assert_eq!(record["email"], "alice@example.com");
    }
}

#[tokio::test]
async fn guests_and_accounts_with_the_same_answer_still_share_one_check() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    app.post_ok(
        &root,
        "/api/collections",
        json!({
            "name": "notes", "type": "base", "listRule": "", "createRule": "",
            "fields": [{"name": "title", "type": "text"}]
        }),
    )
    .await;
    let (_, alice) = app.sign_up("alice@example.com", "password123").await;
    let (_, bob) = app.sign_up("bob@example.com", "password123").await;
    let topic = with_filter("notes/*", "title = 'hit'");
    let mut streams = Vec::new();
    for auth in [None, None, None, None, Some(&alice), Some(&bob), Some(&alice)] {
        let sse = Sse::open(&app).await;
        sse.subscribe_ok(&app, auth.map(String::as_str), &[&topic]).await;
        streams.push(sse);
    }
    let before = app.state.realtime.rule_checks();
    app.post_ok(&root, "/api/collections/notes/records", json!({"title": "hit"}))
        .await;
    for sse in &mut streams {
        assert_eq!(next(sse).await.1["title"], "hit");
    }
    assert_eq!(
        app.state.realtime.rule_checks() - before,
        1,
        "a filter that reads nothing of the caller is checked once"
    );
}
