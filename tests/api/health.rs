//! `/api/health`, `/api/ready` and the OpenAPI document and reference.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{assert_envelope, json, spawn_app};

#[tokio::test]
async fn health_answers_exactly_like_pocketbase() {
    let app = spawn_app().await;
    let resp = app.get("/api/health").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        json(resp).await,
        json!({"code": 200, "message": "API is healthy.", "data": {}})
    );
    let head = app.client.head(app.url("/api/health")).send().await.unwrap();
    assert_eq!(head.status(), 200);
}

#[tokio::test]
async fn ready_when_writable_and_503_while_the_write_lock_is_held() {
    let app = spawn_app().await;
    let resp = app.get("/api/ready").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(json(resp).await["code"], 200);

    // Another process takes the database's write lock and keeps it.
    let path = app.dir.path().join("data.db");
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        locked_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        conn.execute_batch("ROLLBACK").unwrap();
    });
    locked_rx.recv().unwrap();
    let started = Instant::now();
    let body = assert_envelope(app.get("/api/ready").await, 503).await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("did not accept a write"),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "readiness answers promptly"
    );
    // Liveness is unaffected.
    assert_eq!(app.get("/api/health").await.status(), 200);

    release_tx.send(()).unwrap();
    holder.join().unwrap();
    // The writer recovers once the lock is released.
    let mut ready = false;
    for _ in 0..60 {
        if app.get("/api/ready").await.status() == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(ready, "ready again after the lock is released");
}

#[tokio::test]
async fn openapi_document_and_reference_are_served() {
    let app = spawn_app().await;
    let resp = app.get("/api/openapi.json").await;
    assert_eq!(resp.status(), 200);
    let doc = json(resp).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(doc["servers"][0]["url"], "/api");
    for path in ["/health", "/ready", "/installer/superuser"] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }

    let page = app.get("/api/docs").await;
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("<rapi-doc"), "the reference UI is embedded");
    assert!(
        html.contains("loadSpec(\"/api/openapi.json\")"),
        "it loads the live document"
    );
    assert!(!html.contains("fonts.googleapis.com"), "no third-party requests");
}

#[tokio::test]
async fn the_document_describes_each_collection_and_follows_changes_live() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    app.post_ok(
        &token,
        "/api/collections",
        json!({"name": "posts", "fields": [
            {"name": "title", "type": "text", "required": true, "max": 80},
            {"name": "status", "type": "select", "values": ["draft", "live"]},
            {"name": "contact", "type": "email"},
            {"name": "published", "type": "date"},
            {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_"},
        ]}),
    )
    .await;
    // `posts` has no rules: its operations are the superuser's to see.
    let document = || app.call("GET", "/api/openapi.json", Some(&token), None);
    let doc = json(document().await).await;
    let record = &doc["components"]["schemas"]["Record_posts"];
    assert_eq!(record["properties"]["title"]["maxLength"], 80);
    assert_eq!(
        record["properties"]["status"]["enum"],
        json!(["draft", "live", ""])
    );
    assert_eq!(record["properties"]["contact"]["format"], "email");
    assert_eq!(record["properties"]["published"]["format"], "datetime");
    let create = &doc["components"]["schemas"]["Create_posts"];
    assert_eq!(create["required"], json!(["title"]));
    assert!(doc["paths"]["/collections/posts/records"]["post"].is_object());
    assert!(doc["paths"]["/collections/posts/records/{id}"]["patch"].is_object());
    assert!(
        doc["components"]["schemas"]["Record_users"]["properties"]
            .get("password")
            .is_none(),
        "hidden fields stay out"
    );

    // The very next request after a change sees it, with no restart.
    let resp = app
        .call(
            "PATCH",
            "/api/collections/posts",
            Some(&token),
            Some(json!({"name": "articles"})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let doc = json(document().await).await;
    assert!(doc["paths"].get("/collections/posts/records").is_none());
    assert!(doc["paths"]["/collections/articles/records"]["get"].is_object());
    assert!(doc["components"]["schemas"].get("Record_articles").is_some());
}
