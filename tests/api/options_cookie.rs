//! The refresh-token cookie is written by one piece of the edge for every
//! route that sets or clears it. These are its exact bytes: set on a
//! sign-in and a refresh (living as long as the collection's sessions),
//! cleared on a refused refresh and on logout. Each auth collection has
//! its own cookie (`cairn_refresh_{collection id}`), so a browser signed
//! in to the dashboard and to an app keeps both sessions.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

const EMAIL: &str = "c@example.com";
const PASSWORD: &str = "pass-word-1";
/// The cookie of `users` (whose id is PocketBase's `_pb_users_auth_`).
const USERS: &str = "cairn_refresh__pb_users_auth_";

fn set_cookie(resp: &reqwest::Response) -> String {
    let all: Vec<_> = resp.headers().get_all("set-cookie").iter().collect();
    assert_eq!(all.len(), 1, "one cookie: {all:?}");
    all[0].to_str().unwrap().to_owned()
}

fn expected(value: &str, max_age: u64) -> String {
    named(USERS, value, max_age)
}

fn named(name: &str, value: &str, max_age: u64) -> String {
    format!("{name}={value}; Path=/api/sessions; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict")
}

fn value_of(cookie: &str) -> String {
    let pair = cookie.split(';').next().unwrap();
    pair.split_once('=').unwrap().1.to_owned()
}

fn name_of(cookie: &str) -> String {
    cookie.split_once('=').unwrap().0.to_owned()
}

async fn post_with_cookie(app: &TestApp, path: &str, value: &str) -> reqwest::Response {
    post_with_cookies(app, path, &format!("{USERS}={value}"), None).await
}

async fn post_with_cookies(
    app: &TestApp,
    path: &str,
    cookies: &str,
    body: Option<Value>,
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("cookie", cookies)
        .json(&body.unwrap_or(json!({})))
        .send()
        .await
        .unwrap()
}

/// Signs in to `collection` asking for the cookie: the `Set-Cookie` value.
async fn cookie_sign_in(app: &TestApp, collection: &str, identity: &str, password: &str) -> String {
    let resp = app
        .client
        .post(app.url(&format!("/api/collections/{collection}/auth-with-password")))
        .header("x-cairn-auth-cookie", "1")
        .json(&json!({"identity": identity, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    set_cookie(&resp)
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

/// The dashboard (a superuser) and an app (a user) signed in from one
/// browser: two cookies, each refreshed and ended on its own; a refresh
/// carrying both must say which it means.
#[tokio::test]
async fn a_superuser_and_a_user_in_one_browser_keep_their_own_sessions() {
    let app = spawn_app().await;
    app.superuser_token().await;
    app.sign_up(EMAIL, PASSWORD).await;
    let su = cookie_sign_in(&app, "_superusers", "root@example.com", "root-pass-123").await;
    let user = cookie_sign_in(&app, "users", EMAIL, PASSWORD).await;
    assert_eq!(name_of(&user), USERS);
    assert!(name_of(&su).starts_with("cairn_refresh_pbc_"), "{su}");
    let jar = |su: &str, user: &str| {
        format!(
            "{}={}; {}={}",
            name_of(su),
            value_of(su),
            name_of(user),
            value_of(user)
        )
    };

    // Both, and none named: refused before either token is touched.
    let both = post_with_cookies(&app, "/api/sessions/refresh", &jar(&su, &user), None).await;
    let body = assert_envelope(both, 400).await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("several auth collections"),
        "{body}"
    );

    // Each by its collection (id or name): its own session, its own cookie.
    let resp = post_with_cookies(
        &app,
        "/api/sessions/refresh",
        &jar(&su, &user),
        Some(json!({"collection": "_superusers"})),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let su2 = set_cookie(&resp);
    assert_eq!(name_of(&su2), name_of(&su));
    assert_ne!(value_of(&su2), value_of(&su), "rotated");
    assert_eq!(json(resp).await["record"]["collectionName"], "_superusers");
    let resp = post_with_cookies(
        &app,
        "/api/sessions/refresh",
        &jar(&su2, &user),
        Some(json!({"collection": "_pb_users_auth_"})),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let user2 = set_cookie(&resp);
    assert_eq!(name_of(&user2), USERS);
    assert_eq!(json(resp).await["record"]["email"], EMAIL);

    // The app signs out: its cookie alone is cleared, its session alone ends.
    let out = post_with_cookies(
        &app,
        "/api/sessions/logout",
        &jar(&su2, &user2),
        Some(json!({"collection": "users"})),
    )
    .await;
    assert_eq!(out.status(), 204);
    assert_eq!(set_cookie(&out), named(USERS, "", 0));
    let gone = post_with_cookie(&app, "/api/sessions/refresh", &value_of(&user2)).await;
    assert_eq!(gone.status(), 401);
    let still = post_with_cookies(
        &app,
        "/api/sessions/refresh",
        &jar(&su2, &user2),
        Some(json!({"collection": "_superusers"})),
    )
    .await;
    assert_eq!(still.status(), 200, "the dashboard's session lives on");
    let su3 = set_cookie(&still);
    let access = json(still).await["token"].as_str().unwrap().to_owned();

    // Logout with both cookies and none named: the access token says
    // whose session ends, and only that collection's cookie is cleared.
    let out = app
        .client
        .post(app.url("/api/sessions/logout"))
        .header("cookie", jar(&su3, &user2))
        .header("authorization", &access)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(set_cookie(&out), named(&name_of(&su3), "", 0));
    let ended = post_with_cookies(
        &app,
        "/api/sessions/refresh",
        &jar(&su3, &user2),
        Some(json!({"collection": "_superusers"})),
    )
    .await;
    assert_eq!(ended.status(), 401, "the superuser's session ended");

    // A collection that is not an auth one, or not there: no cookie of it.
    for c in ["_externalAuths", "nope"] {
        let resp = post_with_cookies(
            &app,
            "/api/sessions/refresh",
            &jar(&su2, &user2),
            Some(json!({"collection": c})),
        )
        .await;
        assert_eq!(resp.status(), 401, "{c}");
    }
}

/// A browser that signed in before cookies were named by collection holds
/// a bare `cairn_refresh`: it still refreshes, into the named cookie.
#[tokio::test]
async fn a_cookie_of_the_old_bare_name_still_refreshes() {
    let app = spawn_app().await;
    app.sign_up(EMAIL, PASSWORD).await;
    let signed = json(app.sign_in("users", EMAIL, PASSWORD).await).await;
    let token = signed["refreshToken"].as_str().unwrap();
    let resp = post_with_cookies(
        &app,
        "/api/sessions/refresh",
        &format!("cairn_refresh={token}"),
        None,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let cookie = set_cookie(&resp);
    assert_eq!(name_of(&cookie), USERS, "{cookie}");
    // The bare one beside the named one is never read again: its token is
    // retired, and presenting it would end the session as a replay.
    let jar = format!("cairn_refresh={token}; {USERS}={}", value_of(&cookie));
    let resp = post_with_cookies(&app, "/api/sessions/refresh", &jar, None).await;
    assert_eq!(resp.status(), 200, "the named cookie was read");
}
