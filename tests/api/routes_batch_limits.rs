//! Rate limits inside `POST /api/batch`: each inner request is classified
//! as the same request sent alone would be and counted against the
//! caller's buckets, so a batch cannot stretch `*:create` (or any other
//! rule) past its limit. As PocketBase 0.40.6 answers it, a limited inner
//! request fails the whole batch with 400 and reports the 429 under
//! `data.requests.N.response`; nothing of the batch is written.

use cairn::settings::RateLimitRule;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

async fn notes(app: &TestApp, token: &str) -> String {
    let created = app
        .post_ok(
            token,
            "/api/collections",
            json!({
                "name": "notes",
                "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
                "fields": [{"name": "title", "type": "text"}],
            }),
        )
        .await;
    created["id"].as_str().unwrap().to_owned()
}

/// Only `rules` apply, to every client (loopback included).
async fn only(app: &TestApp, rules: Vec<RateLimitRule>) {
    app.change_settings(|s| {
        s.rate_limits.excluded_ips.clear();
        s.rate_limits.enabled = true;
        s.rate_limits.rules = rules;
    })
    .await;
}

fn create_at(url: &str, title: &str) -> Value {
    json!({"method": "POST", "url": url, "body": {"title": title}})
}

fn create(title: &str) -> Value {
    create_at("/api/collections/notes/records", title)
}

async fn batch(app: &TestApp, token: Option<&str>, requests: Vec<Value>) -> reqwest::Response {
    app.call("POST", "/api/batch", token, Some(json!({"requests": requests})))
        .await
}

/// Asserts the batch failed at `index` with a 429, as PocketBase reports it.
async fn limited_at(resp: reqwest::Response, index: usize) {
    let answer = assert_envelope(resp, 400).await;
    assert_eq!(answer["message"], "Batch transaction failed.", "{answer}");
    let failed = &answer["data"]["requests"][index.to_string()];
    assert_eq!(failed["code"], "batch_request_failed", "{answer}");
    assert_eq!(failed["response"]["status"], 429, "{answer}");
    assert_eq!(failed["response"]["message"], "Too Many Requests.", "{answer}");
    assert_eq!(failed["response"]["data"], json!({}), "{answer}");
}

async fn titles(app: &TestApp, token: &str) -> u64 {
    let resp = app
        .call("GET", "/api/collections/notes/records", Some(token), None)
        .await;
    json(resp).await["totalItems"].as_u64().unwrap()
}

#[tokio::test]
async fn creates_inside_a_batch_count_against_the_create_limit() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    notes(&app, &root).await;
    only(&app, vec![RateLimitRule::new("*:create", 60, 2)]).await;

    // Within the limit the batch goes through.
    let ok = batch(&app, None, vec![create("a"), create("b")]).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(titles(&app, &root).await, 2);

    // The window is spent: the next batch fails at its first request, and
    // nothing of it is written.
    limited_at(batch(&app, None, vec![create("c"), create("d")]).await, 0).await;
    assert_eq!(titles(&app, &root).await, 2);
    // The batch and a request sent alone share the caller's bucket.
    let alone = app
        .call(
            "POST",
            "/api/collections/notes/records",
            None,
            Some(json!({"title": "e"})),
        )
        .await;
    assert_envelope(alone, 429).await;

    // Superusers are not limited, inside a batch or out.
    let root_batch = batch(&app, Some(&root), vec![create("f"), create("g"), create("h")]).await;
    assert_eq!(root_batch.status(), 200);
    assert_eq!(titles(&app, &root).await, 5);
}

#[tokio::test]
async fn a_limited_request_fails_the_batch_midway_and_nothing_is_written() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let id = notes(&app, &root).await;
    only(&app, vec![RateLimitRule::new("notes:create", 60, 2)]).await;
    // Every spelling the router takes for the collection is the same
    // collection to the limiter.
    let spellings = [
        create("a"),
        create_at(&format!("/api/collections/{id}/records"), "b"),
        create_at("/api/collections/%6eotes/records", "c"),
        create_at("/api/collections/NOTES/records", "d"),
    ];
    limited_at(batch(&app, None, spellings.to_vec()).await, 2).await;
    assert_eq!(titles(&app, &root).await, 0);
}

#[tokio::test]
async fn upserts_count_as_creates_or_updates_and_path_rules_apply() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    notes(&app, &root).await;
    let mut ids = Vec::new();
    for t in ["x", "y"] {
        let made = app
            .post_ok(&root, "/api/collections/notes/records", json!({"title": t}))
            .await;
        ids.push(made["id"].as_str().unwrap().to_owned());
    }
    let upsert =
        |body: Value| json!({"method": "PUT", "url": "/api/collections/notes/records", "body": body});
    let existing: Vec<Value> = ids
        .iter()
        .map(|id| upsert(json!({"id": id, "title": "u"})))
        .collect();
    let fresh = vec![upsert(json!({"title": "n1"})), upsert(json!({"title": "n2"}))];

    // An upsert of a stored record is an update, as PocketBase counts it…
    only(&app, vec![RateLimitRule::new("*:update", 60, 1)]).await;
    assert_eq!(batch(&app, None, fresh.clone()).await.status(), 200);
    limited_at(batch(&app, None, existing.clone()).await, 1).await;

    // …and an upsert of a new one is a create.
    only(&app, vec![RateLimitRule::new("*:create", 60, 1)]).await;
    assert_eq!(batch(&app, None, existing.clone()).await.status(), 200);
    limited_at(batch(&app, None, fresh.clone()).await, 1).await;

    // Method-and-path rules cover inner requests too.
    only(
        &app,
        vec![RateLimitRule::new(
            "DELETE /api/collections/notes/records/",
            60,
            1,
        )],
    )
    .await;
    let deletes: Vec<Value> = ids
        .iter()
        .map(|id| json!({"method": "DELETE", "url": format!("/api/collections/notes/records/{id}")}))
        .collect();
    limited_at(batch(&app, None, deletes).await, 1).await;
    assert_eq!(titles(&app, &root).await, 4, "nothing deleted");
}

#[tokio::test]
async fn audiences_apply_to_the_batch_caller() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    notes(&app, &root).await;
    let (_, user) = app.sign_up("member@example.com", "pass-word-1").await;
    let mut guests = RateLimitRule::new("*:create", 60, 1);
    guests.audience = "@guest".into();
    only(&app, vec![guests]).await;
    // The rule is for guests: a signed-in caller's batch is not limited…
    let member = batch(&app, Some(&user), vec![create("a"), create("b")]).await;
    assert_eq!(member.status(), 200);
    // …a guest's is.
    limited_at(batch(&app, None, vec![create("c"), create("d")]).await, 1).await;
}

/// The same limited batch against the real PocketBase and Cairn: the same
/// envelope, and nothing written on either.
#[tokio::test]
async fn pocketbase_fails_a_limited_batch_alike() {
    let Some(both) = crate::differential::start_both().await else {
        return;
    };
    let requests = json!({"requests": [create("a"), create("b")]});
    let mut answers = Vec::new();
    for server in [&both.pb, &both.cairn] {
        server
            .admin(
                "POST",
                "/api/collections",
                json!({
                    "name": "notes",
                    "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
                    "fields": [{"name": "title", "type": "text"}],
                }),
            )
            .await;
        server
            .admin(
                "PATCH",
                "/api/settings",
                json!({
                    "batch": {"enabled": true, "maxRequests": 50, "timeout": 3},
                    "rateLimits": {"enabled": true, "excludedIPs": [], "rules": [
                        {"label": "*:create", "audience": "", "duration": 60, "maxRequests": 1},
                    ]},
                }),
            )
            .await;
        let limited = server
            .call("POST", "/api/batch", None, Some(requests.clone()))
            .await;
        // Superusers are not limited (the positive control).
        let (root, _) = server
            .call(
                "POST",
                "/api/batch",
                Some(&server.superuser),
                Some(requests.clone()),
            )
            .await;
        let (_, list) = server
            .call(
                "GET",
                "/api/collections/notes/records",
                Some(&server.superuser),
                None,
            )
            .await;
        answers.push((limited, root, list["totalItems"].clone()));
    }
    let expected = json!({"status": 400, "message": "Batch transaction failed.", "data": {"requests": {"1": {
        "code": "batch_request_failed", "message": "Batch request failed.",
        "response": {"status": 429, "message": "Too Many Requests.", "data": {}},
    }}}});
    for (server, answer) in ["pocketbase", "cairn"].iter().zip(&answers) {
        assert_eq!(answer.0, (400, expected.clone()), "{server}");
        assert_eq!(answer.1, 200, "{server}");
        assert_eq!(answer.2, 2, "{server}: only the superuser's batch is written");
    }
}
