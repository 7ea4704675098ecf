//! `POST /api/batch`: limits and malformed batches first, then that one
//! failure rolls every request back (files included) and says which
//! request failed and why, that each request keeps its own rules, and the
//! success shape for create, update, upsert and delete.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, count_files, json, spawn_app};

async fn notes(app: &TestApp, token: &str) {
    app.post_ok(
        token,
        "/api/collections",
        json!({
            "name": "notes",
            "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
            "fields": [
                {"name": "title", "type": "text", "required": true},
                {"name": "doc", "type": "file", "maxSelect": 1},
            ],
        }),
    )
    .await;
    app.post_ok(
        token,
        "/api/collections",
        json!({"name": "locked", "fields": [{"name": "title", "type": "text"}]}),
    )
    .await;
}

async fn batch(app: &TestApp, token: Option<&str>, body: Value) -> reqwest::Response {
    app.call("POST", "/api/batch", token, Some(body)).await
}

async fn count(app: &TestApp, token: &str, collection: &str) -> u64 {
    let resp = app
        .call(
            "GET",
            &format!("/api/collections/{collection}/records"),
            Some(token),
            None,
        )
        .await;
    json(resp).await["totalItems"].as_u64().unwrap()
}

async fn set_batch(app: &TestApp, tweak: impl FnOnce(&mut cairn::settings::Batch)) {
    app.change_settings(|s| tweak(&mut s.batch)).await;
}

fn create(title: &str) -> Value {
    json!({"method": "POST", "url": "/api/collections/notes/records", "body": {"title": title}})
}

#[tokio::test]
async fn malformed_and_oversized_batches_are_refused() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    notes(&app, &token).await;
    for body in [json!({}), json!({"requests": []})] {
        let answer = assert_envelope(batch(&app, None, body).await, 400).await;
        assert_eq!(answer["message"], "Invalid batch request data.");
        assert_eq!(answer["data"]["requests"]["code"], "validation_required");
    }
    // Not a list at all: unreadable, as PocketBase 0.40.6 answers.
    let answer = assert_envelope(batch(&app, None, json!({"requests": "x"})).await, 400).await;
    assert_eq!(answer["message"], "Failed to read the submitted batch data.");
    let resp = app
        .client
        .post(app.url("/api/batch"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_envelope(resp, 400).await;
    set_batch(&app, |b| b.max_requests = 2).await;
    let answer = assert_envelope(
        batch(
            &app,
            None,
            json!({"requests": [create("a"), create("b"), create("c")]}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(answer["data"]["requests"]["code"], "validation_length_too_long");
    // A multipart batch has room for one collection's files per request
    // (here `doc`: 5 MB by default, one request), and no more.
    set_batch(&app, |b| b.max_requests = 1).await;
    let form = Form::new()
        .text("@jsonPayload", json!({"requests": [create("big")]}).to_string())
        .part(
            "requests.0.doc",
            Part::bytes(vec![b'a'; 7_000_000]).file_name("big.txt"),
        );
    let resp = app
        .client
        .post(app.url("/api/batch"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_envelope(resp, 413).await;
    set_batch(&app, |b| b.max_body_size = 200).await;
    let long = json!({"requests": [create(&"x".repeat(300))]});
    assert_envelope(batch(&app, None, long).await, 413).await;
    set_batch(&app, |b| b.enabled = false).await;
    let answer = assert_envelope(batch(&app, None, json!({"requests": [create("a")]})).await, 403).await;
    assert_eq!(answer["message"], "Batch requests are not allowed.");
    assert_eq!(count(&app, &token, "notes").await, 0);
}

#[tokio::test]
async fn one_failure_rolls_back_everything_and_names_the_request() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    notes(&app, &token).await;
    let existing = app
        .post_ok(&token, "/api/collections/notes/records", json!({"title": "keep"}))
        .await;
    let id = existing["id"].as_str().unwrap();
    let answer = assert_envelope(
        batch(
            &app,
            None,
            json!({"requests": [
                create("one"),
                {"method": "PATCH", "url": format!("/api/collections/notes/records/{id}"), "body": {"title": "changed"}},
                {"method": "DELETE", "url": format!("/api/collections/notes/records/{id}")},
                create(""),
            ]}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(answer["message"], "Batch transaction failed.");
    let failed = &answer["data"]["requests"]["3"];
    assert_eq!(failed["code"], "batch_request_failed", "{answer}");
    assert_eq!(failed["response"]["status"], 400);
    assert_eq!(failed["response"]["data"]["title"]["code"], "validation_required");
    assert_eq!(answer["data"]["requests"].as_object().unwrap().len(), 1);
    // Nothing of the first three happened.
    assert_eq!(count(&app, &token, "notes").await, 1);
    let still = json(
        app.call("GET", &format!("/api/collections/notes/records/{id}"), None, None)
            .await,
    )
    .await;
    assert_eq!(still["title"], "keep");
    // A missing record and an unsupported request fail the same way.
    let answer = assert_envelope(
        batch(&app, None, json!({"requests": [create("a"), {"method": "PATCH", "url": "/api/collections/notes/records/nope", "body": {}}]})).await,
        400,
    )
    .await;
    assert_eq!(answer["data"]["requests"]["1"]["response"]["status"], 404);
    let answer = assert_envelope(
        batch(
            &app,
            None,
            json!({"requests": [{"method": "GET", "url": "/api/collections/notes/records"}]}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(answer["data"]["requests"]["0"]["code"], "batch_request_failed");
    assert_eq!(count(&app, &token, "notes").await, 1);
}

#[tokio::test]
async fn each_request_keeps_its_own_rules() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    notes(&app, &token).await;
    let (_, user) = app.sign_up("batcher@example.com", "batcher-pass-1").await;
    let locked = json!({"method": "POST", "url": "/api/collections/locked/records", "body": {"title": "x"}});
    let answer = assert_envelope(
        batch(
            &app,
            Some(&user),
            json!({"requests": [create("a"), locked.clone()]}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(
        answer["data"]["requests"]["1"]["response"]["status"], 403,
        "{answer}"
    );
    assert_eq!(count(&app, &token, "notes").await, 0);
    // The same batch as a superuser goes through.
    let resp = batch(&app, Some(&token), json!({"requests": [create("a"), locked]})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(count(&app, &token, "locked").await, 1);
}

#[tokio::test]
async fn create_update_upsert_and_delete_in_one_transaction() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    notes(&app, &token).await;
    let existing = app
        .post_ok(&token, "/api/collections/notes/records", json!({"title": "old"}))
        .await;
    let gone = app
        .post_ok(&token, "/api/collections/notes/records", json!({"title": "gone"}))
        .await;
    let id = existing["id"].as_str().unwrap();
    let resp = batch(
        &app,
        None,
        json!({"requests": [
            create("new"),
            {"method": "PATCH", "url": format!("/api/collections/notes/records/{id}?fields=id,title"), "body": {"title": "patched"}},
            {"method": "PUT", "url": "/api/collections/notes/records", "body": {"id": "upsertedrecord1", "title": "up"}},
            {"method": "PUT", "url": "/api/collections/notes/records", "body": {"id": "upsertedrecord1", "title": "up again"}},
            {"method": "DELETE", "url": format!("/api/collections/notes/records/{}", gone["id"].as_str().unwrap())},
        ]}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let answer = json(resp).await;
    let items = answer.as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(items[0]["status"], 200);
    assert_eq!(items[0]["body"]["title"], "new");
    assert_eq!(items[1]["body"], json!({"id": id, "title": "patched"}));
    assert_eq!(items[2]["body"]["title"], "up");
    assert_eq!(items[3]["body"]["title"], "up again");
    assert_eq!(items[3]["body"]["id"], "upsertedrecord1");
    assert_eq!(items[4], json!({"status": 204, "body": null}));
    assert_eq!(count(&app, &token, "notes").await, 3);
}

#[tokio::test]
async fn multipart_batches_carry_files_and_roll_them_back() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    notes(&app, &token).await;
    let storage = app.dir.path().join("storage");
    let files_on_disk = || count_files(&storage);
    let payload = |requests: Value| {
        Form::new()
            .text("@jsonPayload", json!({"requests": requests}).to_string())
            .part(
                "requests.0.doc",
                Part::bytes(b"first".to_vec()).file_name("first.txt"),
            )
    };
    // The second request fails: the first one's file must not stay.
    let resp = app
        .client
        .post(app.url("/api/batch"))
        .multipart(payload(json!([create("with file"), create("")])))
        .send()
        .await
        .unwrap();
    assert_envelope(resp, 400).await;
    assert_eq!(files_on_disk(), 0);
    let resp = app
        .client
        .post(app.url("/api/batch"))
        .multipart(payload(json!([create("with file"), create("plain")])))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer = json(resp).await;
    let rec = &answer[0]["body"];
    let doc = rec["doc"].as_str().unwrap();
    assert!(doc.starts_with("first_"), "{answer}");
    let got = app
        .get(&format!("/api/files/notes/{}/{doc}", rec["id"].as_str().unwrap()))
        .await;
    assert_eq!(got.text().await.unwrap(), "first");
    assert_eq!(files_on_disk(), 1);
    // Deleting a record and creating it again under the same id keeps the
    // new record's file.
    let id = rec["id"].as_str().unwrap();
    let again = Form::new()
        .text(
            "@jsonPayload",
            json!({"requests": [
                {"method": "DELETE", "url": format!("/api/collections/notes/records/{id}")},
                {"method": "POST", "url": "/api/collections/notes/records", "body": {"id": id, "title": "again"}},
            ]})
            .to_string(),
        )
        .part("requests.1.doc", Part::bytes(b"second".to_vec()).file_name("second.txt"));
    let resp = app
        .client
        .post(app.url("/api/batch"))
        .multipart(again)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer = json(resp).await;
    let doc = answer[1]["body"]["doc"].as_str().unwrap();
    let got = app.get(&format!("/api/files/notes/{id}/{doc}")).await;
    assert_eq!(got.text().await.unwrap(), "second");
    assert_eq!(
        files_on_disk(),
        1,
        "the deleted record's file went, the new one stayed"
    );
}

#[tokio::test]
async fn a_batch_past_its_deadline_commits_nothing() {
    use std::time::{Duration, Instant};

    use cairn::{
        identity::Caller,
        records::{
            access::Requester,
            batch::{self, BatchError, Op},
            write::{self, WriteKind},
        },
    };

    let app = spawn_app().await;
    let token = app.superuser_token().await;
    notes(&app, &token).await;
    let guest = Requester {
        caller: Caller::Guest,
        info: Default::default(),
    };
    let (state, guest) = (&app.state, &guest);
    let plan = |title: &str| {
        let body = json!({"title": title}).as_object().unwrap().clone();
        let notes = state.schema.catalog().get("notes").cloned().unwrap();
        async move {
            write::prepare(
                &state.records(),
                guest,
                notes,
                WriteKind::Create,
                body,
                Vec::new(),
            )
            .await
        }
    };
    let ops = vec![Op::Write(Box::new(plan("late").await.unwrap()))];
    let late = batch::run(
        &app.state.records(),
        ops,
        Vec::new(),
        Instant::now() - Duration::from_millis(1),
    )
    .await;
    assert!(
        matches!(late, Err(BatchError::Timeout)),
        "the deadline is checked inside the transaction"
    );
    assert_eq!(count(&app, &token, "notes").await, 0);
    let ops = vec![Op::Write(Box::new(plan("in time").await.unwrap()))];
    let done = batch::run(
        &app.state.records(),
        ops,
        Vec::new(),
        Instant::now() + Duration::from_secs(5),
    )
    .await;
    assert!(done.is_ok());
    assert_eq!(count(&app, &token, "notes").await, 1);
}
