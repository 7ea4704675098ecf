//! API keys changed while they are used or changed again: two changes
//! sent at once both apply, and a change to one key never refuses
//! another key's requests.

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, json, spawn_app},
    keys_api::{create_key, setup},
    keys_use::bearer,
};

async fn patch(app: &TestApp, admin: &str, id: &str, body: Value) -> u16 {
    app.call("PATCH", &format!("/api/keys/{id}"), Some(admin), Some(body))
        .await
        .status()
        .as_u16()
}

/// Two changes to different fields of one key, sent at once, both stay:
/// each reads the key in the same step that writes it.
#[tokio::test]
async fn two_changes_sent_at_once_both_apply() {
    let app = spawn_app().await;
    let (admin, alice_id, _) = setup(&app).await;
    let (id, _) = create_key(
        &app,
        &admin,
        json!({"name": "k", "collection": "users", "record": alice_id}),
    )
    .await;
    for i in 0..30 {
        let name = format!("name-{i}");
        let ip = format!("10.0.0.{i}");
        let (a, b) = tokio::join!(
            patch(&app, &admin, &id, json!({"name": name})),
            patch(&app, &admin, &id, json!({"allowedIps": [ip]})),
        );
        assert_eq!((a, b), (200, 200));
        let key = json(
            app.call("GET", &format!("/api/keys/{id}"), Some(&admin), None)
                .await,
        )
        .await;
        assert_eq!(key["name"], name, "round {i}: {key}");
        assert_eq!(key["allowedIps"], json!([ip]), "round {i}: {key}");
    }
    // The control: an unknown key is still a 404, a bad value a 400.
    assert_eq!(patch(&app, &admin, "nope", json!({"name": "x"})).await, 404);
    assert_eq!(patch(&app, &admin, "nope", json!({"name": ""})).await, 404);
    assert_eq!(patch(&app, &admin, &id, json!({"name": ""})).await, 400);
}

/// Keys used for the first time (each a read of the database) while
/// another key is changed over and over are never refused; the control:
/// revoked, they are.
#[tokio::test]
async fn changing_one_key_never_refuses_another() {
    let app = spawn_app().await;
    let (admin, alice_id, _) = setup(&app).await;
    let body = |name: &str| json!({"name": name, "collection": "users", "record": alice_id});
    let (edited, _) = create_key(&app, &admin, body("edited")).await;
    let mut used = Vec::new();
    for i in 0..12 {
        used.push(create_key(&app, &admin, body(&format!("used-{i}"))).await);
    }
    let stop = std::sync::atomic::AtomicBool::new(false);
    let edits = async {
        let mut n = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            assert_eq!(
                patch(&app, &admin, &edited, json!({"name": format!("e{n}")})).await,
                200
            );
            n += 1;
        }
        n
    };
    let list = "/api/collections/posts/records";
    let requests = async {
        let mut refused = Vec::new();
        for (i, (_, secret)) in used.iter().enumerate() {
            let key = bearer(secret);
            // A burst of first uses, each likely a read of its own, then
            // a few more from the cache.
            let burst = (0..6).map(|_| app.call("GET", list, Some(&key), None));
            for resp in futures_util::future::join_all(burst).await {
                if resp.status() != 200 {
                    refused.push((i, resp.status().as_u16()));
                }
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        refused
    };
    let (edits_made, refused) = tokio::join!(edits, requests);
    assert!(
        refused.is_empty(),
        "refused while another key changed: {refused:?}"
    );
    assert!(edits_made > 0, "the other key was changed meanwhile");
    // The control: a revoked key is refused at once.
    let (id, secret) = &used[0];
    let resp = app
        .call("DELETE", &format!("/api/keys/{id}"), Some(&admin), None)
        .await;
    assert_eq!(resp.status(), 204);
    let key = bearer(secret);
    assert_eq!(app.call("GET", list, Some(&key), None).await.status(), 401);
}
