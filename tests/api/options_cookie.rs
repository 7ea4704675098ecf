//! The refresh-token cookie is written by one piece of the edge for every
//! route that sets or clears it. These are its exact bytes, as clients
//! have always received them: set on a sign-in and a refresh (living as
//! long as the collection's sessions), cleared on a refused refresh and
//! on logout.

use serde_json::json;

use crate::helpers::{TestApp, spawn_app};

const EMAIL: &str = "c@example.com";
const PASSWORD: &str = "pass-word-1";

fn set_cookie(resp: &reqwest::Response) -> String {
    let all: Vec<_> = resp.headers().get_all("set-cookie").iter().collect();
    assert_eq!(all.len(), 1, "one cookie: {all:?}");
    all[0].to_str().unwrap().to_owned()
}

fn expected(value: &str, max_age: u64) -> String {
    format!("cairn_refresh={value}; Path=/api/sessions; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict")
}

fn value_of(cookie: &str) -> String {
    let pair = cookie.split(';').next().unwrap();
    pair.strip_prefix("cairn_refresh=").unwrap().to_owned()
}

async fn post_with_cookie(app: &TestApp, path: &str, value: &str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("cookie", format!("cairn_refresh={value}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_refresh_cookie_is_set_and_cleared_with_the_same_bytes_everywhere() {
    let app = spawn_app().await;
    app.sign_up(EMAIL, PASSWORD).await;
    let month = 30 * 24 * 3600;

    // Without asking for it, a sign-in sets no cookie.
    let plain = app.sign_in("users", EMAIL, PASSWORD).await;
    assert_eq!(plain.status(), 200);
    assert!(plain.headers().get("set-cookie").is_none());

    let signed = app
        .client
        .post(app.url("/api/collections/users/auth-with-password"))
        .header("x-cairn-auth-cookie", "1")
        .json(&json!({"identity": EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 200);
    let first = set_cookie(&signed);
    let token = value_of(&first);
    assert_eq!(token.len(), 48, "{first}");
    assert_eq!(first, expected(&token, month));

    let refreshed = post_with_cookie(&app, "/api/sessions/refresh", &token).await;
    assert_eq!(refreshed.status(), 200);
    let second = set_cookie(&refreshed);
    let next = value_of(&second);
    assert_ne!(next, token, "rotated");
    assert_eq!(second, expected(&next, month));

    // The retired token again: refused, and the cookie is cleared.
    let reused = post_with_cookie(&app, "/api/sessions/refresh", &token).await;
    assert_eq!(reused.status(), 401);
    assert_eq!(set_cookie(&reused), expected("", 0));

    // A fresh session, ended by logout with its cookie: cleared too.
    let again = app
        .client
        .post(app.url("/api/collections/users/auth-with-password"))
        .header("x-cairn-auth-cookie", "1")
        .json(&json!({"identity": EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let live = value_of(&set_cookie(&again));
    let out = post_with_cookie(&app, "/api/sessions/logout", &live).await;
    assert_eq!(out.status(), 204);
    assert_eq!(set_cookie(&out), expected("", 0));
}

#[tokio::test]
async fn the_cookie_lives_as_long_as_the_collection_says() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    app.sign_up(EMAIL, PASSWORD).await;
    let resp = app
        .call(
            "PATCH",
            "/api/collections/users",
            Some(&root),
            Some(json!({"sessions": {"cookie": true, "refreshTokenDuration": 7200}})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    // Cookie mode without asking; the cookie's lifetime follows the option.
    let signed = app.sign_in("users", EMAIL, PASSWORD).await;
    assert_eq!(signed.status(), 200);
    let cookie = set_cookie(&signed);
    assert_eq!(cookie, expected(&value_of(&cookie), 7200));
}
