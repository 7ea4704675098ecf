//! Realtime with an API key: the `realtime` scope decides which topics it
//! may subscribe to, record rules still filter its events as its record's,
//! and a changed or revoked key's streams end.

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

/// Editing or revoking a key ends the streams it listens on (the client
/// sees the stream end, and may subscribe again with what the key is
/// now); a token's stream, and another key's, stay open (the controls).
#[tokio::test]
async fn a_changed_or_revoked_key_ends_its_streams() {
    let app = spawn_app().await;
    let (admin, alice_id, alice) = setup(&app).await;
    let body = |name: &str| json!({"name": name, "collection": "users", "record": alice_id});
    let (edited_id, edited) = create_key(&app, &admin, body("edited")).await;
    let (revoked_id, revoked) = create_key(&app, &admin, body("revoked")).await;
    let open = |secret: &str| {
        let (app, key) = (&app, bearer(secret));
        async move {
            let sse = Sse::open(app).await;
            sse.subscribe_ok(app, Some(&key), &["posts/*"]).await;
            sse
        }
    };
    let mut on_edited = open(&edited).await;
    let mut on_revoked = open(&revoked).await;
    let mut token = Sse::open(&app).await;
    token.subscribe_ok(&app, Some(&alice), &["posts/*"]).await;
    post(&app, &admin, "before", true, "").await;
    for sse in [&mut on_edited, &mut on_revoked, &mut token] {
        assert_eq!(next_title(sse).await.1, "before");
    }

    let renamed = app
        .call(
            "PATCH",
            &format!("/api/keys/{edited_id}"),
            Some(&admin),
            Some(json!({"name": "renamed"})),
        )
        .await;
    assert_eq!(renamed.status(), 200);
    assert_eq!(
        on_edited.next_within(Duration::from_secs(5)).await.unwrap_err(),
        NoEvent::Ended
    );
    // The other key's stream and the token's are still open and hear on.
    post(&app, &admin, "after the edit", true, "").await;
    assert_eq!(next_title(&mut on_revoked).await.1, "after the edit");
    assert_eq!(next_title(&mut token).await.1, "after the edit");

    let gone = app
        .call("DELETE", &format!("/api/keys/{revoked_id}"), Some(&admin), None)
        .await;
    assert_eq!(gone.status(), 204);
    assert_eq!(
        on_revoked.next_within(Duration::from_secs(5)).await.unwrap_err(),
        NoEvent::Ended
    );
    post(&app, &admin, "after", true, "").await;
    assert_eq!(next_title(&mut token).await.1, "after");
    // The edited key subscribes again as it is now; the revoked one may not.
    let mut again = open(&edited).await;
    post(&app, &admin, "again", true, "").await;
    assert_eq!(next_title(&mut again).await.1, "again");
    let refused = Sse::open(&app).await;
    assert_envelope(
        refused
            .subscribe(&app, Some(&bearer(&revoked)), &["posts/*"])
            .await,
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
    // A public post, which any guest hears (the control), the key not:
    // its keys went with the account, and its stream with them.
    post(&app, &admin, "after", true, "").await;
    assert_eq!(next_title(&mut guest).await.1, "after");
    assert_eq!(
        keyed.next_within(Duration::from_secs(5)).await.unwrap_err(),
        NoEvent::Ended
    );
}
