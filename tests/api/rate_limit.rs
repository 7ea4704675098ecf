//! The rate-limit layer: its settings are read live, and a limited request
//! gets a 429 envelope with `Retry-After`.

use cairn::settings::RateLimitRule;

use crate::helpers::{assert_envelope, spawn_app};

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

    let mut settings = (*app.state.settings.get()).clone();
    settings
        .rate_limits
        .rules
        .push(RateLimitRule::new("GET /api/health", 60, 2));
    app.state
        .settings
        .replace(&app.state.store.data, settings.clone())
        .await
        .unwrap();

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
    settings.rate_limits.excluded_ips = vec!["127.0.0.1".into()];
    app.state
        .settings
        .replace(&app.state.store.data, settings.clone())
        .await
        .unwrap();
    assert_eq!(app.get("/api/health").await.status(), 200);

    // …and so does switching rate limiting off.
    settings.rate_limits.excluded_ips.clear();
    assert_eq!(app.get("/api/health").await.status(), 200);
    settings.rate_limits.enabled = false;
    app.state
        .settings
        .replace(&app.state.store.data, settings)
        .await
        .unwrap();
    assert_eq!(app.get("/api/health").await.status(), 200);
}
