//! Storage start-up: the data folder's files, PRAGMAs and the migration
//! history check.

use cairn::{App, Config};

use crate::helpers::spawn_app;

#[tokio::test]
async fn first_start_creates_both_databases_in_wal_mode() {
    let app = spawn_app().await;
    for name in ["data.db", "auxiliary.db"] {
        let path = app.dir.path().join(name);
        assert!(path.exists(), "{name} created");
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal", "{name}");
        let applied: i64 = conn
            .query_row("SELECT count(*) FROM _migrations", [], |r| r.get(0))
            .unwrap();
        assert!(applied >= 1, "{name} records its migrations");
    }
    let conn = rusqlite::Connection::open(app.dir.path().join("data.db")).unwrap();
    let settings: String = conn
        .query_row("SELECT value FROM _params WHERE id = 'settings'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let settings: serde_json::Value = serde_json::from_str(&settings).unwrap();
    assert_eq!(
        settings["batch"]["maxRequests"], 50,
        "PocketBase's settings shape and defaults"
    );
    assert_eq!(settings["rateLimits"]["enabled"], true);
}

#[tokio::test]
async fn an_edited_applied_migration_stops_start_up() {
    let dir = spawn_app().await.shutdown().await;
    let conn = rusqlite::Connection::open(dir.path().join("data.db")).unwrap();
    let file: String = conn
        .query_row("SELECT file FROM _migrations ORDER BY file LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    conn.execute(
        "UPDATE _migrations SET checksum = 'edited' WHERE file = ?1",
        [&file],
    )
    .unwrap();
    drop(conn);

    let err = match App::build(Config::for_dir(dir.path())).await {
        Ok(_) => panic!("start-up must refuse a changed migration"),
        Err(err) => err.to_string(),
    };
    assert!(
        err.contains(&format!("migrations/data/{file}")),
        "names the file: {err}"
    );
    assert!(
        err.contains("changed after it was applied"),
        "says what happened: {err}"
    );
    assert!(err.contains("new migration"), "says what to do: {err}");
}

#[tokio::test]
async fn settings_changes_persist_across_restarts() {
    let app = spawn_app().await;
    app.change_settings(|s| s.meta.app_name = "Persisted".into())
        .await;
    let dir = app.shutdown().await;
    let restarted = App::build(Config::for_dir(dir.path())).await.unwrap();
    assert_eq!(restarted.state().settings.get().meta.app_name, "Persisted");
}
