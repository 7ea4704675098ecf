//! The account flows' answers to bad and unknown input, side by side with
//! the real PocketBase: status and, for errors, the whole envelope must be
//! the same (enumeration protection included: unknown addresses get 204).
//! Skipped, saying so, where PocketBase is not installed (as differential).
//! Left out on purpose: a valid email change request, which PocketBase
//! answers 400 when its mail cannot be sent and Cairn 204 (mail is sent in
//! the background; see the README).

use serde_json::{Value, json};

use crate::differential::{Server, assert_alike, login, start_both};

const GUEST: usize = 0;
const USER: usize = 1;
const SUPERUSER: usize = 2;

/// (collection, action, caller, body)
fn cases() -> Vec<(&'static str, &'static str, usize, Value)> {
    let mut cases = Vec::new();
    for action in ["request-verification", "request-password-reset"] {
        for body in [
            json!({}),
            json!({"email": "bad"}),
            json!({"email": "nobody@example.com"}),
            json!({"email": "flow@example.com"}),
        ] {
            cases.push(("users", action, GUEST, body));
        }
    }
    // Refusals that come before the body is read keep their precedence
    // over a blank or malformed address (the edge parses it after them).
    for (collection, action, caller, field) in [
        ("_superusers", "request-verification", GUEST, "email"),
        ("users", "request-email-change", GUEST, "newEmail"),
        ("users", "request-email-change", SUPERUSER, "newEmail"),
        ("_superusers", "request-email-change", SUPERUSER, "newEmail"),
        ("users", "request-otp", GUEST, "email"),
    ] {
        for body in [json!({}), json!({field: "bad"})] {
            cases.push((collection, action, caller, body));
        }
    }
    cases.extend([
        ("users", "confirm-verification", GUEST, json!({})),
        (
            "users",
            "confirm-verification",
            GUEST,
            json!({"token": "garbage"}),
        ),
        ("users", "confirm-password-reset", GUEST, json!({})),
        (
            "users",
            "confirm-password-reset",
            GUEST,
            json!({"token": "garbage", "password": "long-enough-1", "passwordConfirm": "long-enough-1"}),
        ),
        ("users", "confirm-email-change", GUEST, json!({})),
        (
            "users",
            "confirm-email-change",
            GUEST,
            json!({"token": "garbage", "password": "whatever-1"}),
        ),
        (
            "users",
            "request-email-change",
            GUEST,
            json!({"newEmail": "n@example.com"}),
        ),
        ("users", "request-email-change", USER, json!({})),
        ("users", "request-email-change", USER, json!({"newEmail": "bad"})),
        (
            "users",
            "request-email-change",
            USER,
            json!({"newEmail": "flow@example.com"}),
        ),
        (
            "users",
            "request-email-change",
            SUPERUSER,
            json!({"newEmail": "n@example.com"}),
        ),
        (
            "users",
            "request-otp",
            GUEST,
            json!({"email": "flow@example.com"}),
        ),
        ("users", "auth-with-otp", GUEST, json!({})),
        (
            "_superusers",
            "request-verification",
            GUEST,
            json!({"email": "root@example.com"}),
        ),
        (
            "_superusers",
            "confirm-verification",
            GUEST,
            json!({"token": "x"}),
        ),
        (
            "_superusers",
            "request-email-change",
            SUPERUSER,
            json!({"newEmail": "n@example.com"}),
        ),
        ("_superusers", "confirm-email-change", GUEST, json!({})),
        (
            "nope",
            "request-verification",
            GUEST,
            json!({"email": "a@example.com"}),
        ),
    ]);
    cases
}

async fn answers(s: &Server) -> Vec<Value> {
    let user =
        json!({"email": "flow@example.com", "password": "pass-word-1", "passwordConfirm": "pass-word-1"});
    s.call(
        "POST",
        "/api/collections/users/records",
        Some(&s.superuser),
        Some(user),
    )
    .await;
    let callers = [
        None,
        Some(login(s, "users", "flow@example.com", "pass-word-1").await),
        Some(s.superuser.clone()),
    ];
    let mut out = Vec::new();
    for (collection, action, caller, body) in cases() {
        let path = format!("/api/collections/{collection}/{action}");
        let (status, answer) = s
            .call("POST", &path, callers[caller].as_deref(), Some(body.clone()))
            .await;
        let shown = if status < 300 { Value::Null } else { answer };
        out.push(json!({"request": format!("{action} {collection} as {caller}: {body}"), "status": status, "body": shown}));
    }
    out
}

#[tokio::test]
async fn account_flow_answers_match_pocketbase() {
    let Some(both) = start_both().await else {
        return;
    };
    let expected = answers(&both.pb).await;
    let actual = answers(&both.cairn).await;
    assert_alike(&expected, &actual);
}
