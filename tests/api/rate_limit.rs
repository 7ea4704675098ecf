//! The rate-limit layer: its settings are read live, and a limited request
//! gets a 429 envelope with `Retry-After`.

use cairn::settings::RateLimitRule;
use serde_json::json;

use crate::helpers::{TestApp, assert_envelope, spawn_app};

/// The shipped defaults, with nothing excluded.
async fn defaults(app: &TestApp) {
    app.change_settings(|s| s.rate_limits = Default::default()).await;
}

#[tokio::test]
async fn rules_apply_from_the_next_request_after_a_settings_change() {
    let app = spawn_app().await;
    for _ in 0..5 {
        assert_eq!(
            app.get("/api/health").await.status(),
            200,
            "no rule covers it yet"
        );
    }

    app.change_settings(|s| {
        s.rate_limits.excluded_ips.clear();
        s.rate_limits
            .rules
            .push(RateLimitRule::new("GET /api/health", 60, 2));
    })
    .await;

    assert_eq!(app.get("/api/health").await.status(), 200);
    assert_eq!(app.get("/api/health").await.status(), 200);
    let limited = app.get("/api/health").await;
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body = assert_envelope(limited, 429).await;
    assert_eq!(body["message"], "Too Many Requests.");
    // Other paths are not covered by that rule.
    assert_eq!(app.get("/api/ready").await.status(), 200);

    // Excluding the caller's IP lifts the limit at once…
    app.change_settings(|s| s.rate_limits.excluded_ips = vec!["127.0.0.1".into()])
        .await;
    assert_eq!(app.get("/api/health").await.status(), 200);

    // …and so does switching rate limiting off.
    app.change_settings(|s| {
        s.rate_limits.excluded_ips.clear();
        s.rate_limits.enabled = false;
    })
    .await;
    assert_eq!(app.get("/api/health").await.status(), 200);
}

#[tokio::test]
async fn sign_in_is_limited_out_of_the_box_and_superusers_are_exempt() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    app.sign_up("a@example.com", "pass-word-1").await;
    defaults(&app).await;

    // `*:auth`: two sign-ins per three seconds per IP, whatever the account.
    assert_eq!(
        app.sign_in("users", "a@example.com", "pass-word-1")
            .await
            .status(),
        200
    );
    assert_eq!(
        app.sign_in("users", "nobody@example.com", "x-pass-word")
            .await
            .status(),
        400
    );
    let limited = app.sign_in("users", "a@example.com", "pass-word-1").await;
    assert!(limited.headers().contains_key("retry-after"));
    assert_envelope(limited, 429).await;
    // The same tag covers every auth collection.
    assert_envelope(
        app.sign_in("_superusers", "root@example.com", "root-pass-123")
            .await,
        429,
    )
    .await;

    // Superusers are never limited: `*:create` allows 20 per 5 s.
    for i in 0..25 {
        let user = json!({"email": format!("u{i}@example.com"), "password": "pass-word-1", "passwordConfirm": "pass-word-1"});
        let created = app
            .call("POST", "/api/collections/users/records", Some(&root), Some(user))
            .await;
        assert_eq!(created.status(), 200, "superuser create {i}");
    }
    // Guests are: sign-up is a create.
    let mut statuses = Vec::new();
    for i in 0..21 {
        let user = json!({"email": format!("g{i}@example.com"), "password": "pass-word-1", "passwordConfirm": "pass-word-1"});
        statuses.push(
            app.call("POST", "/api/collections/users/records", None, Some(user))
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 20, "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429));
}

#[tokio::test]
async fn collection_tags_outrank_wildcards_and_audiences_split_rules() {
    let app = spawn_app().await;
    let (_, user) = app.sign_up("b@example.com", "pass-word-1").await;
    let mut guests = RateLimitRule::new("users:list", 60, 1);
    guests.audience = "@guest".into();
    let mut members = RateLimitRule::new("users:list", 60, 3);
    members.audience = "@auth".into();
    app.change_settings(|s| {
        s.rate_limits.excluded_ips.clear();
        s.rate_limits.rules = vec![RateLimitRule::new("*:list", 60, 100), guests, members];
    })
    .await;

    let list = |token: Option<String>| {
        let app = &app;
        async move {
            app.call("GET", "/api/collections/users/records", token.as_deref(), None)
                .await
                .status()
                .as_u16()
        }
    };
    assert_eq!(list(None).await, 200);
    assert_eq!(list(None).await, 429, "guests get the users:list @guest rule");
    for _ in 0..3 {
        assert_eq!(list(Some(user.clone())).await, 200);
    }
    assert_eq!(
        list(Some(user.clone())).await,
        429,
        "signed-in callers get the @auth one"
    );
    // Another collection falls to the wildcard.
    assert_eq!(
        app.call("GET", "/api/collections/_superusers/records", None, None)
            .await
            .status(),
        403
    );
}

#[tokio::test]
async fn failed_sign_ins_back_off_per_identity_known_or_not() {
    let app = spawn_app().await;
    app.sign_up("c@example.com", "pass-word-1").await;

    // Rate limits are lifted for loopback here, so only the backoff acts.
    for identity in ["c@example.com", "ghost@example.com"] {
        for _ in 0..6 {
            let wrong = app.sign_in("users", identity, "wrong-pass-word").await;
            assert_envelope(wrong, 400).await;
        }
        let waiting = app.sign_in("users", identity, "pass-word-1").await;
        let retry: u64 = waiting.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=2).contains(&retry), "{retry}");
        let body = assert_envelope(waiting, 429).await;
        assert_eq!(
            body["message"],
            "Too many failed sign-in attempts. Try again later."
        );
    }
    // Another identity is unaffected, and the wait ends.
    app.sign_up("d@example.com", "pass-word-1").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        app.sign_in("users", "C@Example.com", "pass-word-1")
            .await
            .status(),
        200
    );
}
