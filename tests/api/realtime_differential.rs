//! `/api/realtime` against the real PocketBase 0.40.6: the same streams
//! opened on both servers, the same subscribe requests and the same writes,
//! and the answers and events each stream receives must agree.
//!
//! Left out on purpose, where Cairn differs by design: topics that can
//! never deliver (an unknown collection, a view, options that do not
//! parse) are refused with a 400 where PocketBase accepts them and stays
//! silent (`realtime::topic`); a body with no content type is read as
//! JSON; a superuser's filter on a hidden field matches (PocketBase's
//! realtime filter never resolves hidden fields, even for superusers,
//! while its list API does); and a password change signs the account's
//! streams out at once, where PocketBase goes on as the account.

use serde_json::{Value, json};

use crate::{
    differential::{Server, assert_alike, login, start_both},
    sse::Sse,
};

async fn open(s: &Server) -> Sse {
    Sse::open_at(&s.client, &s.base).await
}

/// The answer to a subscribe request with `body` sent as `content_type`,
/// as text to compare: the status, and the whole envelope of an error.
async fn post_raw(s: &Server, token: Option<&str>, content_type: &str, body: String) -> String {
    let mut req = s
        .client
        .post(format!("{}/api/realtime", s.base))
        .header("content-type", content_type)
        .body(body);
    if let Some(t) = token {
        req = req.header("authorization", t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    format!("{status} {body}")
}

async fn subscribe(s: &Server, token: Option<&str>, client_id: &str, topics: &[&str]) -> String {
    let body = json!({"clientId": client_id, "subscriptions": topics}).to_string();
    post_raw(s, token, "application/json", body).await
}

/// Two accounts in `users`, with fixed ids; their tokens.
async fn accounts(s: &Server) -> (String, String) {
    let mut tokens = Vec::new();
    for (id, email) in [
        ("rtuser000000001", "rt1@example.com"),
        ("rtuser000000002", "rt2@example.com"),
    ] {
        s.admin(
            "POST",
            "/api/collections/users/records",
            json!({"id": id, "email": email, "password": "pass-word-1", "passwordConfirm": "pass-word-1"}),
        )
        .await;
        tokens.push(login(s, "users", email, "pass-word-1").await);
    }
    (tokens.remove(0), tokens.remove(0))
}

/// What a subscribe request answers on `s`, for bodies of every kind and
/// for a stream whose auth changes.
async fn subscribe_answers(s: &Server) -> Vec<String> {
    let (one, two) = accounts(s).await;
    let sse = open(s).await;
    let id = sse.client_id.as_str();
    let json = |v: Value| v.to_string();
    let many = |n: usize| vec![Value::from("users/*"); n];
    let bodies: Vec<(&str, &str, String)> = vec![
        ("not JSON", "application/json", "{nope".into()),
        ("a list", "application/json", "[]".into()),
        ("null", "application/json", "null".into()),
        ("no fields", "application/json", "{}".into()),
        ("text", "text/plain", json(json!({"clientId": id}))),
        ("a number id", "application/json", json(json!({"clientId": 5}))),
        (
            "an unknown id",
            "application/json",
            json(json!({"clientId": "nope"})),
        ),
        (
            "a 255 id",
            "application/json",
            json(json!({"clientId": "x".repeat(255)})),
        ),
        (
            "a 256 id",
            "application/json",
            json(json!({"clientId": "x".repeat(256)})),
        ),
        (
            "a 256 id, 1001 topics",
            "application/json",
            json(json!({"clientId": "x".repeat(256), "subscriptions": many(1001)})),
        ),
        ("no topics", "application/json", json(json!({"clientId": id}))),
        (
            "null topics",
            "application/json",
            json(json!({"clientId": id, "subscriptions": null})),
        ),
        (
            "a topic, not a list",
            "application/json",
            json(json!({"clientId": id, "subscriptions": "users/*"})),
        ),
        (
            "an object",
            "application/json",
            json(json!({"clientId": id, "subscriptions": {"users/*": true}})),
        ),
        (
            "a number topic",
            "application/json",
            json(json!({"clientId": id, "subscriptions": ["users/*", 5]})),
        ),
        (
            "a null topic",
            "application/json",
            json(json!({"clientId": id, "subscriptions": ["users/*", null]})),
        ),
        (
            "an empty topic",
            "application/json",
            json(json!({"clientId": id, "subscriptions": ["", "users/*"]})),
        ),
        (
            "1000 topics",
            "application/json",
            json(json!({"clientId": id, "subscriptions": many(1000)})),
        ),
        (
            "1001 topics",
            "application/json",
            json(json!({"clientId": id, "subscriptions": many(1001)})),
        ),
        (
            "1001 topics, unknown id",
            "application/json",
            json(json!({"clientId": "nope", "subscriptions": many(1001)})),
        ),
        (
            "a 2501 topic after empty ones",
            "application/json",
            json(json!({"clientId": id, "subscriptions": ["", null, "x".repeat(2501)]})),
        ),
        (
            "a 2500 topic",
            "application/json",
            json(json!({"clientId": id, "subscriptions": [format!("users/*?{}", "x".repeat(2492))]})),
        ),
        (
            "another field",
            "application/json",
            json(json!({"clientId": id, "subscriptions": [], "extra": 1})),
        ),
        (
            "a form",
            "application/x-www-form-urlencoded",
            format!("clientId={id}&subscriptions=users%2F*"),
        ),
        (
            "a form, empty topic",
            "application/x-www-form-urlencoded",
            format!("clientId={id}&subscriptions="),
        ),
    ];
    let mut answers = Vec::new();
    for (name, content_type, body) in bodies {
        let answer = post_raw(s, None, content_type, body).await;
        answers.push(format!("{name}: {answer}"));
    }
    // Guest to an account, once; then no other auth, nor none.
    let steps: [(&str, Option<&str>); 6] = [
        ("guest", None),
        ("one", Some(&one)),
        ("one again", Some(&one)),
        ("two", Some(&two)),
        ("signed out", None),
        ("superuser", Some(&s.superuser)),
    ];
    for (name, token) in steps {
        let answer = subscribe(s, token, id, &["users/*"]).await;
        answers.push(format!("{name}: {answer}"));
    }
    let other = open(s).await;
    for (name, token) in [
        ("superuser first", Some(s.superuser.as_str())),
        ("then one", Some(&one)),
    ] {
        let answer = subscribe(s, token, &other.client_id, &["users/*"]).await;
        answers.push(format!("{name}: {answer}"));
    }
    answers
}

#[tokio::test]
async fn subscribe_requests_are_answered_as_pocketbase_answers_them() {
    let Some(both) = start_both().await else {
        return;
    };
    let pocketbase = subscribe_answers(&both.pb).await;
    let cairn = subscribe_answers(&both.cairn).await;
    assert_alike(&pocketbase, &cairn);
}
