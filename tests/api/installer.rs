//! The first-run installer: the link `serve` prints, and the endpoint
//! behind it.

use serde_json::json;

use crate::helpers::{assert_envelope, json, spawn_app, spawn_serve};

#[tokio::test]
async fn installer_token_creates_the_first_superuser_once() {
    let app = spawn_app().await;
    let token = app.state.installer.issue();
    let post = |body: serde_json::Value, auth: Option<String>| {
        let mut req = app.client.post(app.url("/api/installer/superuser")).json(&body);
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        req.send()
    };
    let good =
        json!({"email": "root@example.com", "password": "s3cret-pass", "passwordConfirm": "s3cret-pass"});

    // Negative paths first: no token, a forged token, bad input.
    assert_envelope(post(good.clone(), None).await.unwrap(), 401).await;
    assert_envelope(
        post(good.clone(), Some("eyJhbGciOiJIUzI1NiJ9.e30.x".into()))
            .await
            .unwrap(),
        401,
    )
    .await;
    let body = assert_envelope(
        post(json!({"email": "nope", "password": "short"}), Some(token.clone()))
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(body["data"]["email"]["code"], "validation_is_email");
    assert_eq!(body["data"]["password"]["code"], "validation_length_out_of_range");
    let body = assert_envelope(
        post(
            json!({"email": "root@example.com", "password": "s3cret-pass", "passwordConfirm": "other-pass"}),
            Some(token.clone()),
        )
        .await
        .unwrap(),
        400,
    )
    .await;
    assert_eq!(
        body["data"]["passwordConfirm"]["code"],
        "validation_values_mismatch"
    );

    let resp = post(good.clone(), Some(format!("Bearer {token}"))).await.unwrap();
    assert_eq!(resp.status(), 200);
    let created = json(resp).await;
    assert_eq!(created["email"], "root@example.com");
    assert_eq!(created["collectionName"], "_superusers");
    assert_eq!(created["id"].as_str().unwrap().len(), 15);
    assert!(created.get("password").is_none() && created.get("tokenKey").is_none());

    // Once a superuser exists, the token is spent.
    let again =
        json!({"email": "second@example.com", "password": "s3cret-pass", "passwordConfirm": "s3cret-pass"});
    assert_envelope(post(again, Some(token)).await.unwrap(), 403).await;
}

#[tokio::test]
async fn serve_prints_the_installer_link_only_without_a_superuser() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = spawn_serve(dir.path(), &[]).await;
    let mut link = None;
    while let Some(line) = server.next_line().await {
        if let Some(pos) = line.find("/_/#/install/") {
            link = Some(line[pos + "/_/#/install/".len()..].trim().to_owned());
        }
        if line.contains("cairn superuser upsert") {
            break;
        }
    }
    let token = link.expect("the installer link is printed");
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("http://{}/api/installer/superuser", server.addr))
        .header("authorization", &token)
        .json(&json!({"email": "first@example.com", "password": "s3cret-pass", "passwordConfirm": "s3cret-pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    server.signal("TERM");
    assert_eq!(server.wait_exit(std::time::Duration::from_secs(20)).await, 0);

    // With a superuser in place, a restart prints no link.
    let mut server = spawn_serve(dir.path(), &[]).await;
    while let Some(line) = server.next_line().await {
        assert!(!line.contains("/install/"), "no installer once set up: {line}");
    }
    server.signal("TERM");
    assert_eq!(server.wait_exit(std::time::Duration::from_secs(20)).await, 0);
}
