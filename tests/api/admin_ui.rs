//! The embedded admin UI at `/_/`.

use crate::helpers::{assert_envelope, spawn_app};

#[tokio::test]
async fn index_is_uncached_and_assets_are_versioned_and_long_cached() {
    let app = spawn_app().await;
    let resp = app.get("/_/").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-cache");
    let html = resp.text().await.unwrap();
    assert!(html.contains("Cairn") && html.contains("/api/docs"));
    let version = html
        .split("/_/js/main.js?v=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("main.js is referenced with a version");
    assert!(!version.is_empty() && version != "__VERSION__");

    // Cached for a year only under the current version: a stale or
    // missing one is revalidated, so an old page never pins new code.
    let unversioned = app.get("/_/js/main.js").await;
    assert_eq!(unversioned.status(), 200);
    assert_eq!(unversioned.headers()["cache-control"], "no-cache");
    let asset = app.get(&format!("/_/js/main.js?v={version}")).await;
    assert_eq!(asset.status(), 200);
    assert!(
        asset.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    assert!(
        asset.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=31536000")
    );
    let etag = asset.headers()["etag"].to_str().unwrap().to_owned();

    let again = app
        .client
        .get(app.url(&format!("/_/js/main.js?v={version}")))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn client_routes_fall_back_to_index_but_missing_files_404() {
    let app = spawn_app().await;
    let spa = app.get("/_/collections/posts").await;
    assert_eq!(spa.status(), 200);
    assert!(spa.text().await.unwrap().contains("<!doctype html>"));
    assert_envelope(app.get("/_/missing.js").await, 404).await;
    assert_envelope(app.get("/_/..%2FCargo.toml").await, 404).await;
    assert_envelope(app.get("/_/%2E%2E/%2E%2E/Cargo.toml").await, 404).await;

    let bare = app.get("/_").await;
    assert_eq!(bare.status(), 301);
    assert_eq!(bare.headers()["location"], "/_/");
    let root = app.get("/").await;
    assert_eq!(root.headers()["location"], "/_/");
}
