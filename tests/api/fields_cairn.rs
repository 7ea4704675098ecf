//! `?fields=` on Cairn's own JSON endpoints (webhooks, keys, the outbox,
//! the OpenAPI document), on an OTP sign-in (PocketBase's codes cannot be
//! read back to compare), on what it must leave alone (files, even of
//! JSON bytes; the event stream; the dashboard; errors), and that picking
//! only ever removes. PocketBase's side is `fields_everywhere`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    differential::urlencode,
    helpers::{TestApp, assert_envelope, json, spawn_app},
    otp_mfa::{configure, mailed_code, request_otp},
    webhooks_receiver::{setup, webhook},
};

fn key_body() -> Value {
    json!({"name": "ci", "collection": "_superusers", "record": "root@example.com"})
}

/// `path` as `token` sees it, with and without `fields`.
async fn both_ways(app: &TestApp, token: &str, path: &str, fields: &str) -> (Value, Value) {
    let full = app.call("GET", path, Some(token), None).await;
    assert_eq!(full.status(), 200, "{path}");
    let sep = if path.contains('?') { '&' } else { '?' };
    let picked = app
        .call(
            "GET",
            &format!("{path}{sep}fields={}", urlencode(fields)),
            Some(token),
            None,
        )
        .await;
    assert_eq!(picked.status(), 200, "{path} {fields}");
    (json(full).await, json(picked).await)
}

/// Whether every key of `picked` is in `full` with the same value, all
/// the way down: picking only removes.
fn within(picked: &Value, full: &Value) -> bool {
    match (picked, full) {
        (Value::Object(p), Value::Object(f)) => {
            p.iter().all(|(k, v)| f.get(k).is_some_and(|fv| within(v, fv)))
        }
        (Value::Array(p), Value::Array(f)) => {
            p.len() == f.len() && p.iter().zip(f).all(|(a, b)| within(a, b))
        }
        (p, f) => p == f,
    }
}

#[tokio::test]
async fn cairns_own_json_answers_pick_fields_too() {
    let (app, su, rx) = setup().await;
    let hook = webhook(
        &app,
        &su,
        json!({"collection": "posts", "events": ["create"], "url": rx.url("/ok")}),
    )
    .await;
    let key = app.post_ok(&su, "/api/keys", key_body()).await;
    let (_, hooks) = both_ways(&app, &su, "/api/webhooks", "id").await;
    assert_eq!(hooks, json!([{"id": hook["id"]}]));
    let (_, keys) = both_ways(&app, &su, "/api/keys", "name").await;
    assert_eq!(keys, json!([{"name": "ci"}]));
    let (_, one) = both_ways(
        &app,
        &su,
        &format!("/api/keys/{}", key["id"].as_str().unwrap()),
        "name,nope",
    )
    .await;
    assert_eq!(one, json!({"name": "ci"}));
    // A page of the dev outbox keeps its counts.
    let (_, outbox) = both_ways(&app, &su, "/api/mail/outbox", "to").await;
    assert_eq!(outbox["page"], 1, "{outbox}");
    assert!(outbox["items"].is_array(), "{outbox}");
    let (_, doc) = both_ways(&app, &su, "/api/openapi.json", "openapi").await;
    assert_eq!(doc.as_object().unwrap().keys().collect::<Vec<_>>(), ["openapi"]);
}

#[tokio::test]
async fn fields_never_reveal_what_the_answer_left_out() {
    let (app, su, rx) = setup().await;
    let (id, user) = app.sign_up("hide@example.com", "pass-word-1").await;
    let key = app.post_ok(&su, "/api/keys", key_body()).await;
    let hook = webhook(
        &app,
        &su,
        json!({"collection": "posts", "events": ["create"], "url": rx.url("/ok")}),
    )
    .await;
    let secrets = "password,tokenKey,secret,key,email,record.password,record.tokenKey,smtp.password,s3.secret,\
                   backups.s3.secret,*.password";
    for (token, path) in [
        (&su, "/api/settings".to_owned()),
        (&su, "/api/keys".to_owned()),
        (&su, format!("/api/keys/{}", key["id"].as_str().unwrap())),
        (&su, format!("/api/webhooks/{}", hook["id"].as_str().unwrap())),
        (&user, "/api/collections/users/records".to_owned()),
        (&user, format!("/api/collections/users/records/{id}")),
        (&su, "/api/collections/users/records".to_owned()),
        (&su, "/api/health".to_owned()),
    ] {
        for fields in [secrets, "*", "*,smtp.*,items.*"] {
            let (full, picked) = both_ways(&app, token, &path, fields).await;
            assert!(
                within(&picked, &full),
                "{path}?fields={fields}\n{picked}\nis not within\n{full}"
            );
        }
    }
    // A sign-in's record has no hidden fields to pick.
    let resp = app
        .call(
            "POST",
            "/api/collections/users/auth-with-password?fields=record.password,record.tokenKey,record.id",
            None,
            Some(json!({"identity": "hide@example.com", "password": "pass-word-1"})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(json(resp).await, json!({"record": {"id": id}}));
}

#[tokio::test]
async fn files_event_streams_and_pages_are_left_alone() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    app.post_ok(
        &su,
        "/api/collections",
        json!({"name": "docs", "listRule": "", "viewRule": "", "createRule": "",
               "fields": [{"name": "doc", "type": "file"}]}),
    )
    .await;
    // A file whose bytes are JSON is still a file.
    let text = r#"{"a": 1, "b": 2}"#;
    let form = reqwest::multipart::Form::new().part(
        "doc",
        reqwest::multipart::Part::bytes(text.as_bytes().to_vec())
            .file_name("data.json")
            .mime_str("application/json")
            .unwrap(),
    );
    let created = app
        .client
        .post(app.url("/api/collections/docs/records?fields=id,doc"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let created = json(created).await;
    assert_eq!(created.as_object().unwrap().len(), 2, "{created}");
    let file = format!(
        "/api/files/docs/{}/{}?fields=a:excerpt(z)",
        created["id"].as_str().unwrap(),
        created["doc"].as_str().unwrap()
    );
    let resp = app.get(&file).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), text);

    let page = app.get("/_/?fields=x:excerpt(z)").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<html"), "the dashboard");

    let mut sse = app
        .get("/api/realtime?fields=clientId:excerpt(2),x:excerpt(z)")
        .await;
    assert_eq!(sse.status(), 200);
    assert!(
        sse.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let chunk = tokio::time::timeout(Duration::from_secs(5), sse.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let chunk = String::from_utf8_lossy(&chunk);
    assert!(
        chunk.contains("PB_CONNECT") && chunk.contains("clientId"),
        "{chunk}"
    );

    // Errors are never picked, nor turned into another error.
    let body = assert_envelope(
        app.get("/api/collections/nope/records?fields=status:excerpt(z)")
            .await,
        404,
    )
    .await;
    assert!(body["message"].is_string());
    let body = assert_envelope(app.get("/api/health?fields=code:excerpt(z)").await, 400).await;
    assert_eq!(
        body["message"],
        "Something went wrong while processing your request."
    );
}

/// A path thousands of levels deep, from anyone: once enough to overflow
/// a worker's stack and take the server down.
#[tokio::test]
async fn a_path_thousands_of_levels_deep_is_answered() {
    let app = spawn_app().await;
    let deep = format!("code.{}x", "a.".repeat(12_000));
    let resp = app.get(&format!("/api/health?fields={deep}")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(json(resp).await, json!({"code": 200}));
    let resp = app
        .get(&format!("/api/collections/users/records?fields={deep}"))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.get("/api/health").await.status(), 200);
}

/// A sign-in by one-time code answers as a password sign-in does, so
/// `fields` picks from its whole `{token, record, meta}` too.
#[tokio::test]
async fn an_otp_sign_in_picks_fields() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    configure(&app, &su, json!({"otp": {"enabled": true}})).await;
    let (id, _) = app.sign_up("otp@example.com", "pass-word-1").await;
    let otp_id = request_otp(&app, "otp@example.com").await;
    let code = mailed_code(&app, &su, "otp@example.com").await;
    let resp = app
        .call(
            "POST",
            "/api/collections/users/auth-with-otp?fields=record.id,nope",
            None,
            Some(json!({"otpId": otp_id, "password": code})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(json(resp).await, json!({"record": {"id": id}}));
}
