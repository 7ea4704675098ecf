//! Realtime with an API key: the `realtime` scope decides which topics it
//! may subscribe to, record rules still filter its events as its record's,
//! and a revoked key hears nothing more.

use std::time::Duration;

use serde_json::json;

use crate::{
    helpers::assert_envelope,
    helpers::spawn_app,
    keys_api::{create_key, setup},
    keys_use::bearer,
    sse::{NoEvent, Sse, next_title, post},
};

#[tokio::test]
async fn the_realtime_scope_decides_the_topics_and_rules_filter_the_events() {
    let app = spawn_app().await;
    let (admin, alice_id, _) = setup(&app).await;
    let (bob_id, _) = app.sign_up("bob@example.com", "password123").await;
    let key_with = |scopes: serde_json::Value| {
        let (app, admin, alice_id) = (&app, admin.clone(), alice_id.clone());
        async move {
            let body = json!({"name": "rt", "collection": "users", "record": alice_id, "scopes": scopes});
            bearer(&create_key(app, &admin, body).await.1)
        }
    };
    let listens = key_with(json!([{"collection": "posts", "actions": ["realtime"]}])).await;
    let reads_only = key_with(json!([{"collection": "posts", "actions": ["list", "view"]}])).await;
    let elsewhere = key_with(json!([{"collection": "users", "actions": ["realtime"]}])).await;
    let unscoped = key_with(json!([])).await;

    let sse = Sse::open(&app).await;
    for key in [&reads_only, &elsewhere] {
        for topic in ["posts/*", "posts/aaaaaaaaaaaaaaa", "posts"] {
            let refused = assert_envelope(sse.subscribe(&app, Some(key), &[topic]).await, 403).await;
            assert!(
                refused["message"].as_str().unwrap().contains("scopes"),
                "{refused}"
            );
        }
    }
    // Positive controls: the realtime scope, and no scopes at all.
    let mut scoped = Sse::open(&app).await;
    scoped.subscribe_ok(&app, Some(&listens), &["posts/*"]).await;
    let mut full = Sse::open(&app).await;
    full.subscribe_ok(&app, Some(&unscoped), &["posts/*", "users/*"])
        .await;
    // The topic the scoped key may not follow is refused with the rest.
    let mixed = Sse::open(&app).await;
    assert_envelope(
        mixed
            .subscribe(&app, Some(&listens), &["posts/*", "users/*"])
            .await,
        403,
    )
    .await;

    // The list rule filters events as for alice: bob's private post first,
    // then a public one; the public one arriving first proves the private
    // one was never sent.
    post(&app, &admin, "bob's secret", false, &bob_id).await;
    post(&app, &admin, "alice's", false, &alice_id).await;
    post(&app, &admin, "for everyone", true, "").await;
    for sse in [&mut scoped, &mut full] {
        assert_eq!(next_title(sse).await, ("create".into(), "alice's".into()));
        assert_eq!(next_title(sse).await, ("create".into(), "for everyone".into()));
    }
}

#[tokio::test]
async fn a_revoked_key_hears_nothing_more() {
    let app = spawn_app().await;
    let (admin, alice_id, alice) = setup(&app).await;
    let (id, secret) = create_key(
        &app,
        &admin,
        json!({"name": "rt", "collection": "users", "record": alice_id}),
    )
    .await;
    let mut keyed = Sse::open(&app).await;
    keyed
        .subscribe_ok(&app, Some(&bearer(&secret)), &["posts/*"])
        .await;
    let mut token = Sse::open(&app).await;
    token.subscribe_ok(&app, Some(&alice), &["posts/*"]).await;
    post(&app, &admin, "before", true, "").await;
    assert_eq!(next_title(&mut keyed).await.1, "before");
    assert_eq!(next_title(&mut token).await.1, "before");

    let revoked = app
        .call("DELETE", &format!("/api/keys/{id}"), Some(&admin), None)
        .await;
    assert_eq!(revoked.status(), 204);
    post(&app, &admin, "after", true, "").await;
    // The token's subscriber gets it (the event was sent), the key's not.
    assert_eq!(next_title(&mut token).await.1, "after");
    assert_eq!(
        keyed.next_within(Duration::from_millis(500)).await.unwrap_err(),
        NoEvent::TimedOut
    );
    // Nor may it subscribe again.
    let again = Sse::open(&app).await;
    assert_envelope(
        again.subscribe(&app, Some(&bearer(&secret)), &["posts/*"]).await,
        401,
    )
    .await;
}

#[tokio::test]
async fn a_key_whose_record_is_deleted_does_not_listen_on_as_a_guest() {
    let app = spawn_app().await;
    let (admin, alice_id, _) = setup(&app).await;
    let (_, secret) = create_key(
        &app,
        &admin,
        json!({"name": "rt", "collection": "users", "record": alice_id}),
    )
    .await;
    let mut keyed = Sse::open(&app).await;
    keyed
        .subscribe_ok(&app, Some(&bearer(&secret)), &["posts/*"])
        .await;
    let mut guest = Sse::open(&app).await;
    guest.subscribe_ok(&app, None, &["posts/*"]).await;
    post(&app, &admin, "before", true, "").await;
    assert_eq!(next_title(&mut keyed).await.1, "before");
    assert_eq!(next_title(&mut guest).await.1, "before");

    let gone = app
        .call(
            "DELETE",
            &format!("/api/collections/users/records/{alice_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(gone.status(), 204);
    // A public post, which any guest hears (the control), the key not.
    post(&app, &admin, "after", true, "").await;
    assert_eq!(next_title(&mut guest).await.1, "after");
    assert_eq!(
        keyed.next_within(Duration::from_millis(500)).await.unwrap_err(),
        NoEvent::TimedOut
    );
}
