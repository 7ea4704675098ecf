//! Using an API key: it acts as its record under every rule; expiry,
//! revocation, a change, the address allowlist and the bound record's
//! deletion end it from the next request; it never mints a credential.
//! Scopes are in `keys_scopes.rs`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, assert_envelope, json, spawn_app},
    keys_api::{create_key, setup},
    sse::post,
};

pub fn bearer(secret: &str) -> String {
    format!("Bearer {secret}")
}

/// Ids of the records a list answered, sorted.
async fn listed_ids(resp: reqwest::Response) -> Vec<String> {
    assert_eq!(resp.status(), 200);
    let body = json(resp).await;
    let mut ids: Vec<String> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

pub async fn user_key(app: &TestApp, admin: &str, user_id: &str, extra: Value) -> String {
    let mut body = json!({"name": "k", "collection": "users", "record": user_id});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    create_key(app, admin, body).await.1
}

#[tokio::test]
async fn a_key_acts_as_its_record_under_every_rule() {
    let app = spawn_app().await;
    let (admin, alice_id, alice) = setup(&app).await;
    let (bob_id, _) = app.sign_up("bob@example.com", "password123").await;
    let mine = post(&app, &admin, "mine", false, &alice_id).await;
    let bobs = post(&app, &admin, "bob's", false, &bob_id).await;
    let public = post(&app, &admin, "public", true, "").await;
    let key = bearer(&user_key(&app, &admin, &alice_id, json!({})).await);

    // The key and alice's own token get the same answers, both ways.
    for auth in [&alice, &key] {
        let list = app
            .call("GET", "/api/collections/posts/records", Some(auth), None)
            .await;
        let mut want = vec![mine.clone(), public.clone()];
        want.sort();
        assert_eq!(listed_ids(list).await, want, "the list rule filters");
        let view = |id: &str| format!("/api/collections/posts/records/{id}");
        assert_eq!(
            app.call("GET", &view(&mine), Some(auth), None).await.status(),
            200
        );
        assert_envelope(app.call("GET", &view(&bobs), Some(auth), None).await, 404).await;
        assert_envelope(app.call("DELETE", &view(&bobs), Some(auth), None).await, 404).await;
        // updateRule is null: superusers only.
        let update = app
            .call("PATCH", &view(&mine), Some(auth), Some(json!({"title": "x"})))
            .await;
        assert_envelope(update, 403).await;
    }
    // The bare form the SDKs send works too.
    let bare = key.trim_start_matches("Bearer ");
    let list = app
        .call("GET", "/api/collections/posts/records", Some(bare), None)
        .await;
    assert_eq!(listed_ids(list).await.len(), 2);
    // Superusers see bob's (positive control for the 404 being the rule).
    let view = format!("/api/collections/posts/records/{bobs}");
    assert_eq!(app.call("GET", &view, Some(&admin), None).await.status(), 200);
    // A made-up key is a 401, not a guest.
    let fake = bearer("cairn_sk_0000000000000000000000000000000000000000000000");
    let resp = app
        .call("GET", "/api/collections/posts/records", Some(&fake), None)
        .await;
    assert_envelope(resp, 401).await;
    let guest = app
        .call("GET", "/api/collections/posts/records", None, None)
        .await;
    assert_eq!(
        guest.status(),
        200,
        "guests see public posts (the 401 is the key's)"
    );
}
#[tokio::test]
async fn expiry_revocation_and_changes_apply_from_the_next_request() {
    let app = spawn_app().await;
    let (admin, alice_id, _) = setup(&app).await;
    let list = "/api/collections/posts/records";
    // Expiry.
    let soon = chrono_in(Duration::from_secs(2));
    let expiring = bearer(&user_key(&app, &admin, &alice_id, json!({"expires": soon})).await);
    assert_eq!(app.call("GET", list, Some(&expiring), None).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert_envelope(app.call("GET", list, Some(&expiring), None).await, 401).await;

    // Revocation.
    let (id, secret) = create_key(
        &app,
        &admin,
        json!({"name": "r", "collection": "users", "record": alice_id}),
    )
    .await;
    let key = bearer(&secret);
    assert_eq!(app.call("GET", list, Some(&key), None).await.status(), 200);
    let revoked = app
        .call("DELETE", &format!("/api/keys/{id}"), Some(&admin), None)
        .await;
    assert_eq!(revoked.status(), 204);
    assert_envelope(app.call("GET", list, Some(&key), None).await, 401).await;

    // A change of scopes.
    let (id, secret) = create_key(
        &app,
        &admin,
        json!({"name": "c", "collection": "users", "record": alice_id}),
    )
    .await;
    let key = bearer(&secret);
    assert_eq!(app.call("GET", list, Some(&key), None).await.status(), 200);
    let narrowed = app
        .call(
            "PATCH",
            &format!("/api/keys/{id}"),
            Some(&admin),
            Some(json!({"scopes": [{"collection": "posts", "actions": ["view"]}]})),
        )
        .await;
    assert_eq!(narrowed.status(), 200);
    assert_envelope(app.call("GET", list, Some(&key), None).await, 403).await;

    // The bound record deleted.
    let (bob_id, _) = app.sign_up("bob@example.com", "password123").await;
    let bobs = bearer(&user_key(&app, &admin, &bob_id, json!({})).await);
    assert_eq!(app.call("GET", list, Some(&bobs), None).await.status(), 200);
    let gone = app
        .call(
            "DELETE",
            &format!("/api/collections/users/records/{bob_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(gone.status(), 204);
    assert_envelope(app.call("GET", list, Some(&bobs), None).await, 401).await;
    // A new account that takes bob's id (a create may choose it) is not
    // the account the key was made for.
    let again = app
        .call(
            "POST",
            "/api/collections/users/records",
            None,
            Some(json!({"id": bob_id, "email": "mallory@example.com",
                        "password": "password123", "passwordConfirm": "password123"})),
        )
        .await;
    assert_eq!(again.status(), 200, "the id is free again");
    assert_envelope(app.call("GET", list, Some(&bobs), None).await, 401).await;
    let session = app.sign_in("users", "mallory@example.com", "password123").await;
    let mallory = json(session).await["token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.call("GET", list, Some(&mallory), None).await.status(),
        200,
        "the account itself works"
    );
    let gone_again = app
        .call(
            "DELETE",
            &format!("/api/collections/users/records/{bob_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(gone_again.status(), 204);
    // The deleted account's key went with it; the others stay, bound.
    let keys = json(app.call("GET", "/api/keys", Some(&admin), None).await).await;
    let keys = keys.as_array().unwrap();
    assert!(!keys.is_empty());
    assert!(keys.iter().all(|k| k["recordId"] != bob_id.as_str()), "{keys:?}");
    assert!(keys.iter().all(|k| k["bound"] == true), "{keys:?}");

    // The bound record's collection deleted.
    app.post_ok(
        &admin,
        "/api/collections",
        json!({"name": "robots", "type": "auth", "fields": []}),
    )
    .await;
    let robot = app
        .post_ok(
            &admin,
            "/api/collections/robots/records",
            json!({"email": "r2@example.com", "password": "password123", "passwordConfirm": "password123"}),
        )
        .await;
    let robot_key = bearer(
        &create_key(
            &app,
            &admin,
            json!({"name": "robot", "collection": "robots", "record": robot["id"]}),
        )
        .await
        .1,
    );
    assert_eq!(app.call("GET", list, Some(&robot_key), None).await.status(), 200);
    let dropped = app
        .call("DELETE", "/api/collections/robots", Some(&admin), None)
        .await;
    assert_eq!(dropped.status(), 204);
    assert_envelope(app.call("GET", list, Some(&robot_key), None).await, 401).await;
    // A key whose collection is gone is kept, and listed as unbound.
    let keys = json(app.call("GET", "/api/keys", Some(&admin), None).await).await;
    for k in keys.as_array().unwrap() {
        let lost = k["recordId"] == robot["id"];
        assert_eq!(k["bound"], !lost, "{k}");
    }
    assert!(
        keys.as_array().unwrap().iter().any(|k| k["bound"] == false),
        "{keys}"
    );
}

/// A datetime `after` from now, in PocketBase's form.
fn chrono_in(after: Duration) -> String {
    let t = std::time::SystemTime::now() + after;
    let secs = t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    // Days since the epoch to a civil date (Howard Hinnant's algorithm).
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.000Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[tokio::test]
async fn the_allowlist_reads_the_client_address_as_the_edge_resolves_it() {
    let app = spawn_app().await;
    let (admin, alice_id, _) = setup(&app).await;
    let list = "/api/collections/posts/records";
    let local = bearer(&user_key(&app, &admin, &alice_id, json!({"allowedIps": ["127.0.0.1"]})).await);
    let private = bearer(&user_key(&app, &admin, &alice_id, json!({"allowedIps": ["10.0.0.0/8"]})).await);
    assert_eq!(app.call("GET", list, Some(&local), None).await.status(), 200);
    let refused = assert_envelope(app.call("GET", list, Some(&private), None).await, 403).await;
    assert!(
        refused["message"].as_str().unwrap().contains("address"),
        "{refused}"
    );

    // Through a trusted proxy (loopback, by default) the forwarded address counts.
    let via = |key: &str| {
        app.client
            .get(app.url(list))
            .header("authorization", key)
            .header("x-forwarded-for", "10.1.2.3")
            .send()
    };
    assert_eq!(via(&private).await.unwrap().status(), 200);
    assert_eq!(via(&local).await.unwrap().status(), 403);
    // From a peer that is not a trusted proxy, the header is ignored.
    app.change_settings(|s| s.trusted_proxy.networks = vec![]).await;
    assert_eq!(via(&private).await.unwrap().status(), 403);
    assert_eq!(via(&local).await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_key_never_mints_a_credential() {
    let app = spawn_app().await;
    let (admin, alice_id, alice) = setup(&app).await;
    let key = bearer(&user_key(&app, &admin, &alice_id, json!({})).await);
    let root_key = bearer(
        &create_key(
            &app,
            &admin,
            json!({"name": "root", "collection": "_superusers", "record": "root@example.com"}),
        )
        .await
        .1,
    );
    let u = "/api/collections/users";
    let cases: Vec<(&str, String, Value, &String)> = vec![
        ("POST", format!("{u}/auth-refresh"), json!({}), &key),
        (
            "POST",
            format!("{u}/impersonate/{alice_id}"),
            json!({}),
            &root_key,
        ),
        (
            "POST",
            format!("{u}/auth-with-password"),
            json!({"identity": "alice@example.com", "password": "password123"}),
            &key,
        ),
        (
            "POST",
            format!("{u}/auth-with-oauth2"),
            json!({"provider": "x", "code": "y"}),
            &key,
        ),
        (
            "POST",
            format!("{u}/request-otp"),
            json!({"email": "alice@example.com"}),
            &key,
        ),
        (
            "POST",
            format!("{u}/auth-with-otp"),
            json!({"otpId": "x", "password": "y"}),
            &key,
        ),
        (
            "POST",
            format!("{u}/request-email-change"),
            json!({"newEmail": "a2@example.com"}),
            &key,
        ),
        (
            "POST",
            format!("{u}/request-password-reset"),
            json!({"email": "alice@example.com"}),
            &key,
        ),
        (
            "POST",
            format!("{u}/request-verification"),
            json!({"email": "alice@example.com"}),
            &key,
        ),
        (
            "POST",
            "/api/sessions/refresh".into(),
            json!({"refreshToken": "x"}),
            &key,
        ),
        ("GET", "/api/sessions".into(), Value::Null, &key),
        ("POST", "/api/sessions/logout".into(), json!({}), &key),
        (
            "GET",
            format!("{u}/records/{alice_id}/sessions"),
            Value::Null,
            &root_key,
        ),
        (
            "DELETE",
            format!("{u}/records/{alice_id}/sessions/nosuchsession"),
            Value::Null,
            &root_key,
        ),
        ("POST", "/api/files/token".into(), json!({}), &key),
        ("POST", "/api/files/token".into(), json!({}), &root_key),
    ];
    for (method, path, body, credential) in &cases {
        let body = (!body.is_null()).then(|| body.clone());
        let resp = app.call(method, path, Some(credential), body).await;
        let refused = assert_envelope(resp, 403).await;
        assert!(
            refused["message"].as_str().unwrap().contains("API keys"),
            "{method} {path}: {refused}"
        );
    }
    // Positive controls: the same requests with a token (or none) work.
    let refreshed = app
        .call("POST", &format!("{u}/auth-refresh"), Some(&alice), None)
        .await;
    assert_eq!(refreshed.status(), 200);
    let token = app.call("POST", "/api/files/token", Some(&alice), None).await;
    assert_eq!(token.status(), 200);
    let impersonated = app
        .call(
            "POST",
            &format!("{u}/impersonate/{alice_id}"),
            Some(&admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(impersonated.status(), 200);
    assert_eq!(
        app.sign_in("users", "alice@example.com", "password123")
            .await
            .status(),
        200
    );
    let sessions = app.call("GET", "/api/sessions", Some(&alice), None).await;
    assert_eq!(sessions.status(), 200);
    // A superuser key with scopes cannot reach superuser-only routes.
    let scoped_root = bearer(
        &create_key(
            &app,
            &admin,
            json!({"name": "s", "collection": "_superusers", "record": "root@example.com",
                   "scopes": [{"collection": "posts", "actions": ["list"]}]}),
        )
        .await
        .1,
    );
    assert_envelope(
        app.call("GET", "/api/collections", Some(&scoped_root), None)
            .await,
        403,
    )
    .await;
    assert_eq!(
        app.call("GET", "/api/collections", Some(&root_key), None)
            .await
            .status(),
        200
    );
    let posts = app
        .call("GET", "/api/collections/posts/records", Some(&scoped_root), None)
        .await;
    assert_eq!(posts.status(), 200);
}
