//! Cairn's refresh-token sessions: every sign-in opens one; refreshing
//! rotates the token; a retired token presented again ends the session;
//! owners list and end their sessions; cookie mode keeps the refresh token
//! out of JavaScript's reach.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

const EMAIL: &str = "s@example.com";
const PASSWORD: &str = "pass-word-1";

async fn sign_in(app: &TestApp, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/api/collections/users/auth-with-password"))
        .json(&json!({"identity": EMAIL, "password": PASSWORD}));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

async fn refresh(app: &TestApp, refresh_token: &str) -> reqwest::Response {
    app.call(
        "POST",
        "/api/sessions/refresh",
        None,
        Some(json!({"refreshToken": refresh_token})),
    )
    .await
}

/// A bare POST carrying only the cookie, as a browser sends it.
async fn refresh_with_cookie(app: &TestApp, cookie_pair: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/sessions/refresh"))
        .header("cookie", cookie_pair)
        .send()
        .await
        .unwrap()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}"))
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_ends_the_session() {
    let app = spawn_app().await;
    let (user_id, _) = app.sign_up(EMAIL, PASSWORD).await;

    // Negative paths first: nothing, junk, wrong types.
    assert_envelope(app.call("POST", "/api/sessions/refresh", None, None).await, 401).await;
    assert_envelope(refresh(&app, "not-a-token").await, 401).await;
    assert_envelope(
        app.call(
            "POST",
            "/api/sessions/refresh",
            None,
            Some(json!({"refreshToken": 5})),
        )
        .await,
        400,
    )
    .await;

    let first = json(sign_in(&app, &[]).await).await;
    let r1 = str_of(&first, "refreshToken").to_owned();
    assert!(r1.len() >= 40, "refresh tokens are long and random");
    assert_eq!(first["record"]["id"], user_id.as_str());

    // A refresh answers a working access token and a new refresh token.
    let second = refresh(&app, &r1).await;
    assert_eq!(second.status(), 200);
    let second = json(second).await;
    let r2 = str_of(&second, "refreshToken").to_owned();
    assert_ne!(r1, r2);
    assert_eq!(second["record"]["id"], user_id.as_str());
    assert!(second["record"].get("password").is_none() && second["record"].get("tokenKey").is_none());
    let access = str_of(&second, "token").to_owned();
    let me = app
        .call(
            "GET",
            &format!("/api/collections/users/records/{user_id}"),
            Some(&access),
            None,
        )
        .await;
    assert_eq!(me.status(), 200);

    // Session clients get the short lifetime: 15 minutes by default.
    let claims = claims_of(&access);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let lifetime = claims["exp"].as_u64().unwrap() - now;
    assert!((890..=900).contains(&lifetime), "lifetime {lifetime}");

    // Reuse of the retired token: 401, and the session is over for its
    // current holder too, access tokens included.
    assert_envelope(refresh(&app, &r1).await, 401).await;
    assert_envelope(refresh(&app, &r2).await, 401).await;
    let after = app
        .call(
            "GET",
            &format!("/api/collections/users/records/{user_id}"),
            Some(&access),
            None,
        )
        .await;
    assert_eq!(
        after.status(),
        404,
        "the session's access token no longer signs in"
    );

    // The refresh token is stored only as a hash.
    let r2_again = r2.clone();
    let stored: i64 = app
        .state
        .store
        .data
        .read(move |conn| {
            Ok::<_, cairn::store::StoreError>(conn.query_row(
                "SELECT count(*) FROM _sessions WHERE tokenHash = ?1 OR tokenHash = ?2",
                [&r1, &r2_again],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(stored, 0);
}

fn claims_of(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn owners_list_and_end_their_sessions() {
    let app = spawn_app().await;
    app.sign_up(EMAIL, PASSWORD).await;
    let other = app.sign_up("other@example.com", PASSWORD).await;

    assert_envelope(app.call("GET", "/api/sessions", None, None).await, 401).await;
    assert_envelope(app.call("POST", "/api/sessions/logout", None, None).await, 401).await;

    let laptop = json(sign_in(&app, &[("user-agent", "Laptop/1.0")]).await).await;
    let phone = json(sign_in(&app, &[("user-agent", "Phone/2.0")]).await).await;
    let laptop_token = str_of(&laptop, "token").to_owned();

    let list = json(app.call("GET", "/api/sessions", Some(&laptop_token), None).await).await;
    let items = list["items"].as_array().unwrap();
    // sign_up signed in once too.
    assert_eq!(items.len(), 3, "{list}");
    let current: Vec<&Value> = items.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["userAgent"], "Laptop/1.0");
    assert_eq!(current[0]["ip"], "127.0.0.1");
    let phone_session = items.iter().find(|s| s["userAgent"] == "Phone/2.0").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Someone else's session is not found, not ended.
    assert_envelope(
        app.call(
            "DELETE",
            &format!("/api/sessions/{phone_session}"),
            Some(&other.1),
            None,
        )
        .await,
        404,
    )
    .await;
    let ended = app
        .call(
            "DELETE",
            &format!("/api/sessions/{phone_session}"),
            Some(&laptop_token),
            None,
        )
        .await;
    assert_eq!(ended.status(), 204);
    assert_envelope(refresh(&app, str_of(&phone, "refreshToken")).await, 401).await;
    assert_envelope(
        app.call("GET", "/api/sessions", Some(str_of(&phone, "token")), None)
            .await,
        401,
    )
    .await;

    // Logout ends the current session.
    let out = app
        .call("POST", "/api/sessions/logout", Some(&laptop_token), None)
        .await;
    assert_eq!(out.status(), 204);
    assert_envelope(refresh(&app, str_of(&laptop, "refreshToken")).await, 401).await;
    assert_envelope(
        app.call("GET", "/api/sessions", Some(&laptop_token), None).await,
        401,
    )
    .await;
}

#[tokio::test]
async fn a_password_change_ends_every_session() {
    let app = spawn_app().await;
    let (id, _) = app.sign_up(EMAIL, PASSWORD).await;
    let signed = json(sign_in(&app, &[]).await).await;
    let changed = app
        .call(
            "PATCH",
            &format!("/api/collections/users/records/{id}"),
            Some(str_of(&signed, "token")),
            Some(json!({"oldPassword": PASSWORD, "password": "new-pass-word", "passwordConfirm": "new-pass-word"})),
        )
        .await;
    assert_eq!(changed.status(), 200);
    // The sessions list (the superuser's view of the account) no longer
    // shows the sessions opened before the change (they cannot refresh);
    // a sign-in with the new password opens one that is listed, in the
    // account's own list too (the positive control).
    let su = app.superuser_token().await;
    let listed = || {
        let (app, su, path) = (
            &app,
            su.clone(),
            format!("/api/collections/users/records/{id}/sessions"),
        );
        async move {
            let list = json(app.call("GET", &path, Some(&su), None).await).await;
            list["items"].as_array().unwrap().len()
        }
    };
    assert_eq!(
        listed().await,
        0,
        "sessions opened before the change are not listed"
    );
    assert_envelope(refresh(&app, str_of(&signed, "refreshToken")).await, 401).await;
    let again = json(app.sign_in("users", EMAIL, "new-pass-word").await).await;
    assert_eq!(listed().await, 1);
    let own = json(
        app.call("GET", "/api/sessions", Some(str_of(&again, "token")), None)
            .await,
    )
    .await;
    assert_eq!(own["items"].as_array().unwrap().len(), 1, "{own}");
}

#[tokio::test]
async fn cookie_mode_keeps_the_refresh_token_in_an_http_only_cookie() {
    let app = spawn_app().await;
    app.sign_up(EMAIL, PASSWORD).await;

    let resp = sign_in(&app, &[("x-cairn-auth-cookie", "1")]).await;
    assert_eq!(resp.status(), 200);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/sessions"] {
        assert!(cookie.contains(flag), "{flag} missing from {cookie}");
    }
    let body = json(resp).await;
    assert!(
        body.get("refreshToken").is_none(),
        "not readable by scripts: {body}"
    );
    let lifetime = claims_of(str_of(&body, "token"))["exp"].as_u64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(lifetime - now <= 900, "cookie clients get short access tokens");

    // The browser sends the cookie back; a bare POST refreshes.
    let pair = cookie.split(';').next().unwrap().to_owned();
    let refreshed = refresh_with_cookie(&app, &pair).await;
    assert_eq!(refreshed.status(), 200);
    let next_cookie = refreshed.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert_ne!(next_cookie.split(';').next().unwrap(), pair, "rotated");
    assert!(json(refreshed).await.get("refreshToken").is_none());

    // The old cookie again is reuse: 401, and the cookie is cleared.
    let reused = refresh_with_cookie(&app, &pair).await;
    assert_eq!(reused.status(), 401);
    let cleared = reused.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

#[tokio::test]
async fn pocketbase_auth_refresh_keeps_the_session_binding() {
    let app = spawn_app().await;
    app.sign_up(EMAIL, PASSWORD).await;
    let signed = json(sign_in(&app, &[]).await).await;
    let refreshed = app
        .post_ok(
            str_of(&signed, "token"),
            "/api/collections/users/auth-refresh",
            json!({}),
        )
        .await;
    let token = str_of(&refreshed, "token").to_owned();
    assert_eq!(
        claims_of(&token)["sid"],
        claims_of(str_of(&signed, "token"))["sid"]
    );
    // Ending the session ends the refreshed token too.
    let out = app.call("POST", "/api/sessions/logout", Some(&token), None).await;
    assert_eq!(out.status(), 204);
    assert_envelope(
        app.call("POST", "/api/collections/users/auth-refresh", Some(&token), None)
            .await,
        401,
    )
    .await;
}

#[tokio::test]
async fn the_collection_can_require_cookie_mode_and_its_lifetimes_are_checked() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    app.sign_up(EMAIL, PASSWORD).await;

    let bad = app
        .call(
            "PATCH",
            "/api/collections/users",
            Some(&root),
            Some(json!({"sessions": {"accessTokenDuration": 5, "cookie": "yes"}})),
        )
        .await;
    let bad = assert_envelope(bad, 400).await;
    assert_eq!(
        bad["data"]["sessions"]["accessTokenDuration"]["code"],
        "validation_min_greater_equal_than_required"
    );
    assert_eq!(
        bad["data"]["sessions"]["cookie"]["code"],
        "validation_invalid_value"
    );

    let ok = app
        .call(
            "PATCH",
            "/api/collections/users",
            Some(&root),
            Some(json!({"sessions": {"cookie": true, "accessTokenDuration": 120}})),
        )
        .await;
    assert_eq!(ok.status(), 200);
    let saved = json(ok).await;
    assert_eq!(
        saved["sessions"]["refreshTokenDuration"], 2_592_000,
        "the rest is kept"
    );

    let resp = sign_in(&app, &[]).await;
    assert!(
        resp.headers().contains_key("set-cookie"),
        "cookie mode without asking"
    );
    let body = json(resp).await;
    assert!(body.get("refreshToken").is_none());
    let exp = claims_of(str_of(&body, "token"))["exp"].as_u64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(exp - now <= 120);
}

#[tokio::test]
async fn logout_by_refresh_token_alone_ends_that_session() {
    let app = spawn_app().await;
    app.sign_up(EMAIL, PASSWORD).await;
    let signed = json(sign_in(&app, &[]).await).await;
    let refresh_token = str_of(&signed, "refreshToken").to_owned();
    // A token that names no session ends nothing.
    let unknown = app
        .call(
            "POST",
            "/api/sessions/logout",
            None,
            Some(json!({"refreshToken": "no-such-token"})),
        )
        .await;
    assert_envelope(unknown, 401).await;
    let out = app
        .call(
            "POST",
            "/api/sessions/logout",
            None,
            Some(json!({"refreshToken": refresh_token})),
        )
        .await;
    assert_eq!(out.status(), 204);
    assert_envelope(refresh(&app, &refresh_token).await, 401).await;
    assert_envelope(
        app.call("GET", "/api/sessions", Some(str_of(&signed, "token")), None)
            .await,
        401,
    )
    .await;
}

#[tokio::test]
async fn superusers_list_and_end_an_accounts_sessions_and_nobody_else_does() {
    let app = spawn_app().await;
    let (user_id, user_token) = app.sign_up(EMAIL, PASSWORD).await;
    let (other_id, _) = app.sign_up("other@example.com", PASSWORD).await;
    let signed = json(sign_in(&app, &[("user-agent", "probe/1.0")]).await).await;
    let refresh_token = str_of(&signed, "refreshToken").to_owned();
    let other = json(app.sign_in("users", "other@example.com", PASSWORD).await).await;
    let other_refresh = str_of(&other, "refreshToken").to_owned();
    let su = app.superuser_token().await;
    let path = format!("/api/collections/users/records/{user_id}/sessions");

    // Negative paths: a guest, the account itself, a bad target.
    assert_envelope(app.call("GET", &path, None, None).await, 401).await;
    assert_envelope(app.call("GET", &path, Some(&user_token), None).await, 403).await;
    assert_envelope(
        app.call(
            "GET",
            "/api/collections/users/records/nosuchrecord000/sessions",
            Some(&su),
            None,
        )
        .await,
        404,
    )
    .await;
    assert_envelope(
        app.call(
            "GET",
            &format!("/api/collections/_nope/records/{user_id}/sessions"),
            Some(&su),
            None,
        )
        .await,
        404,
    )
    .await;

    // The superuser sees the account's sessions, and only its.
    let list = json(app.call("GET", &path, Some(&su), None).await).await;
    let items = list["items"].as_array().unwrap();
    assert!(items.len() >= 2, "sign-up and sign-in sessions: {list}");
    let probe = items
        .iter()
        .find(|s| s["userAgent"] == "probe/1.0")
        .unwrap_or_else(|| panic!("the probe's session is listed: {list}"));
    assert!(items.iter().all(|s| s["current"] == false), "{list}");
    let session = str_of(probe, "id").to_owned();
    let theirs = json(
        app.call(
            "GET",
            &format!("/api/collections/users/records/{other_id}/sessions"),
            Some(&su),
            None,
        )
        .await,
    )
    .await;
    let other_session = str_of(&theirs["items"][0], "id").to_owned();
    assert!(!items.iter().any(|s| s["id"] == other_session.as_str()));

    // Ending another account's session through this one is a 404, and
    // that session keeps working.
    let wrong = format!("{path}/{other_session}");
    assert_envelope(app.call("DELETE", &wrong, Some(&su), None).await, 404).await;
    assert_eq!(refresh(&app, &other_refresh).await.status(), 200);
    // The account may not end it here either.
    let delete = format!("{path}/{session}");
    assert_envelope(app.call("DELETE", &delete, Some(&user_token), None).await, 403).await;
    assert_eq!(refresh(&app, &refresh_token).await.status(), 200, "still alive");

    // The superuser ends it: its refresh token stops working.
    let signed = json(sign_in(&app, &[("user-agent", "probe/2.0")]).await).await;
    let refresh_token = str_of(&signed, "refreshToken").to_owned();
    let list = json(app.call("GET", &path, Some(&su), None).await).await;
    let session = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["userAgent"] == "probe/2.0")
        .map(|s| str_of(s, "id").to_owned())
        .unwrap();
    let resp = app
        .call("DELETE", &format!("{path}/{session}"), Some(&su), None)
        .await;
    assert_eq!(resp.status(), 204);
    assert_envelope(refresh(&app, &refresh_token).await, 401).await;
    let list = json(app.call("GET", &path, Some(&su), None).await).await;
    assert!(
        !list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == session.as_str())
    );
}

/// A new `authToken` secret signs every account of the collection out,
/// refresh sessions included: they would otherwise go on minting access
/// tokens under the new secret. Control: another change to the token
/// options leaves sessions working.
#[tokio::test]
async fn a_new_auth_token_secret_ends_every_session_of_the_collection() {
    let app = spawn_app().await;
    app.sign_up(EMAIL, PASSWORD).await;
    let superuser = app.superuser_token().await;
    let patch = |options: Value| {
        let (app, superuser) = (&app, superuser.clone());
        async move {
            let resp = app
                .call("PATCH", "/api/collections/users", Some(&superuser), Some(options))
                .await;
            assert_eq!(resp.status(), 200);
        }
    };

    let first = json(sign_in(&app, &[]).await).await;
    let r1 = str_of(&first, "refreshToken").to_owned();
    patch(json!({"authToken": {"duration": 3600}})).await;
    let kept = refresh(&app, &r1).await;
    assert_eq!(kept.status(), 200, "a new lifetime ends no session");
    let r2 = str_of(&json(kept).await, "refreshToken").to_owned();

    patch(json!({"authToken": {"secret": "a-brand-new-secret-of-forty-characters-x"}})).await;
    assert_envelope(refresh(&app, &r2).await, 401).await;

    // A sign-in after the change opens a session that works.
    let fresh = json(sign_in(&app, &[]).await).await;
    let r3 = str_of(&fresh, "refreshToken").to_owned();
    assert_eq!(refresh(&app, &r3).await.status(), 200);
}
