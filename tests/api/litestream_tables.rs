//! Litestream, replicating a data folder, adds `_litestream_seq` and
//! `_litestream_lock` to each database it follows (it may even get there
//! before Cairn's first start has made any table). Cairn starts on such a
//! folder, never shows those tables as collections nor removes them, and
//! its shutdown leaves `data.db` complete once Litestream is gone.

use std::{path::Path, process::Stdio, time::Duration};

use serde_json::{Value, json};

use crate::helpers::{run_cairn, spawn_serve};

const LITESTREAM_TABLES: &str =
    "CREATE TABLE IF NOT EXISTS _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER);
     CREATE TABLE IF NOT EXISTS _litestream_lock (id INTEGER);";

fn add_litestream_tables(dir: &Path) {
    let conn = rusqlite::Connection::open(dir.join("data.db")).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
    conn.execute_batch(LITESTREAM_TABLES).unwrap();
}

/// The tables of `data.db` alone: opened as immutable, its WAL unread.
fn tables(dir: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open_with_flags(
        format!("file:{}?immutable=1", dir.join("data.db").display()),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    )
    .unwrap();
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

async fn superuser_token(base: &str) -> String {
    let client = reqwest::Client::new();
    let body: Value = client
        .post(format!("{base}/api/collections/_superusers/auth-with-password"))
        .json(&json!({"identity": "ls@example.com", "password": "litestream-pass-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["token"].as_str().expect("signed in").to_owned()
}

async fn collection_names(base: &str, token: &str) -> Vec<String> {
    let body: Value = reqwest::Client::new()
        .get(format!("{base}/api/collections?perPage=500"))
        .header("Authorization", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Litestream got to `data.db` first: only its tables are there. The
/// folder is new to Cairn, which makes its own beside them.
#[tokio::test]
async fn a_database_with_only_litestreams_tables_is_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    add_litestream_tables(dir.path());
    let mut server = spawn_serve(dir.path(), &[]).await;
    let health = reqwest::get(format!("http://{}/api/health", server.addr))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(30)).await, 0);
    let found = tables(dir.path());
    for want in [
        "_litestream_seq",
        "_litestream_lock",
        "_migrations",
        "_collections",
    ] {
        assert!(found.iter().any(|t| t == want), "{want} missing from {found:?}");
    }
}

/// The control: Litestream's tables beside a foreign one do not make a
/// database Cairn's.
#[tokio::test]
async fn litestreams_tables_do_not_make_a_foreign_database_cairns() {
    let dir = tempfile::tempdir().unwrap();
    add_litestream_tables(dir.path());
    let conn = rusqlite::Connection::open(dir.path().join("data.db")).unwrap();
    conn.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY);")
        .unwrap();
    drop(conn);
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(crate::helpers::cairn_bin())
            .args(["serve", "--http", "127.0.0.1:0", "--dir"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("refused at once")
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not Cairn's"), "{err}");
}

/// On a folder that Litestream followed: its tables are no collection, an
/// import that deletes the collections it does not name leaves them, and
/// after a shutdown (no `TRUNCATE` then, see `store::checkpoint`) with
/// Litestream gone, `data.db` alone is complete.
#[tokio::test]
async fn litestreams_tables_are_no_collections_and_outlive_an_import() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, _, err) = run_cairn(
        &[
            "superuser",
            "upsert",
            "ls@example.com",
            "litestream-pass-1",
            "--dir",
            d,
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    add_litestream_tables(dir.path());

    let mut server = spawn_serve(dir.path(), &[]).await;
    let base = format!("http://{}", server.addr);
    let token = superuser_token(&base).await;
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{base}/api/collections"))
        .header("Authorization", &token)
        .json(&json!({"name": "notes", "type": "base", "fields": [{"name": "title", "type": "text"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);

    let names = collection_names(&base, &token).await;
    // Positive control: the list holds system collections and ours.
    assert!(names.iter().any(|n| n == "_superusers"), "{names:?}");
    assert!(names.iter().any(|n| n == "notes"), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("_litestream")), "{names:?}");
    let by_name = client
        .get(format!("{base}/api/collections/_litestream_seq"))
        .header("Authorization", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(by_name.status(), 404);

    // The admin UI's export is this list; importing it back with
    // deleteMissing removes the collections it lacks (the control: notes)
    // and nothing else.
    let mut export: Vec<Value> = {
        let body: Value = client
            .get(format!("{base}/api/collections?perPage=500"))
            .header("Authorization", &token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["items"].as_array().unwrap().clone()
    };
    export.retain(|c| c["name"] != "notes");
    let imported = client
        .put(format!("{base}/api/collections/import"))
        .header("Authorization", &token)
        .json(&json!({"collections": export, "deleteMissing": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(imported.status(), 204, "{:?}", imported.text().await);
    let names = collection_names(&base, &token).await;
    assert!(!names.iter().any(|n| n == "notes"), "{names:?}");

    let late = client
        .post(format!("{base}/api/collections"))
        .header("Authorization", &token)
        .json(&json!({"name": "late", "type": "base", "fields": [{"name": "title", "type": "text"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 200);

    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(30)).await, 0);
    // data.db alone, without its WAL, holds the last writes.
    let found = tables(dir.path());
    assert!(found.iter().any(|t| t == "late"), "{found:?}");
    assert!(found.iter().any(|t| t == "_litestream_seq"), "{found:?}");
    assert!(found.iter().any(|t| t == "_litestream_lock"), "{found:?}");
    assert!(!found.iter().any(|t| t == "notes"), "{found:?}");
}
