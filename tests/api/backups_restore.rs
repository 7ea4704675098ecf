//! Restores: a backup brings the server back to its data in-process
//! (records, collections, settings, accounts; caches rebuilt), keeping what
//! it replaced; a backup from a newer Cairn or a damaged one is refused
//! before anything changes; a backup taken under a write load restores,
//! on a fresh data folder through the CLI, to a database that passes
//! `integrity_check` and holds every write acknowledged before it began;
//! and the CLI refuses to restore under a running server.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::{
    backups_api::zip_of,
    helpers::{TestApp, assert_envelope, json, run_cairn, spawn_app, spawn_serve},
    sse::{NoEvent, Sse},
};

async fn notes(app: &TestApp, root: &str) {
    app.post_ok(
        root,
        "/api/collections",
        json!({"name": "notes", "listRule": "", "viewRule": "", "createRule": "",
               "fields": [{"name": "title", "type": "text"}]}),
    )
    .await;
}

async fn titles(app: &TestApp) -> Vec<String> {
    let resp = app.get("/api/collections/notes/records?sort=title").await;
    assert_eq!(resp.status(), 200);
    json(resp).await["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["title"].as_str().expect("title").to_owned())
        .collect()
}

async fn note(app: &TestApp, title: &str) -> String {
    let resp = app
        .call(
            "POST",
            "/api/collections/notes/records",
            None,
            Some(json!({"title": title})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    json(resp).await["id"].as_str().expect("id").to_owned()
}

async fn backup(app: &TestApp, root: &str, name: &str) {
    let resp = app
        .call("POST", "/api/backups", Some(root), Some(json!({"name": name})))
        .await;
    assert_eq!(resp.status(), 204);
}

async fn restore(app: &TestApp, root: &str, name: &str) -> reqwest::Response {
    app.call("POST", &format!("/api/backups/{name}/restore"), Some(root), None)
        .await
}

#[tokio::test]
async fn a_restore_brings_the_data_back_without_a_restart() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    notes(&app, &root).await;
    note(&app, "before").await;
    app.sign_up("early@example.com", "password-123").await;
    std::fs::create_dir_all(app.dir.path().join("storage/c/r")).expect("dir");
    std::fs::write(app.dir.path().join("storage/c/r/kept.txt"), b"kept").expect("file");
    backup(&app, &root, "b.zip").await;

    // Everything changes after the backup.
    note(&app, "after").await;
    let (_, late) = app.sign_up("late@example.com", "password-123").await;
    let admin = json!({"email": "late-admin@example.com", "password": "password-123",
                       "passwordConfirm": "password-123"});
    app.post_ok(&root, "/api/collections/_superusers/records", admin)
        .await;
    let late_admin = app
        .sign_in("_superusers", "late-admin@example.com", "password-123")
        .await;
    let late_admin = json(late_admin).await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let settings = app.call("GET", "/api/settings", Some(&late_admin), None).await;
    assert_eq!(settings.status(), 200);
    app.post_ok(
        &root,
        "/api/collections",
        json!({"name": "later", "fields": [{"name": "x", "type": "text"}]}),
    )
    .await;
    let patched = app
        .call(
            "PATCH",
            "/api/settings",
            Some(&root),
            Some(json!({"meta": {"appName": "Changed"}})),
        )
        .await;
    assert_eq!(patched.status(), 200);
    std::fs::write(app.dir.path().join("storage/c/r/new.txt"), b"new").expect("file");
    assert_eq!(titles(&app).await, ["after", "before"]);

    let mut stream = Sse::open(&app).await;
    stream.subscribe_ok(&app, None, &["notes"]).await;
    assert_eq!(restore(&app, &root, "b.zip").await.status(), 204);
    // Realtime clients are told to start over: what they followed may be gone.
    let ended = stream.next_within(Duration::from_secs(5)).await;
    assert_eq!(ended.map(|e| e.name), Err(NoEvent::Ended));

    assert_eq!(titles(&app).await, ["before"], "the records are the backup's");
    let later = app.call("GET", "/api/collections/later", Some(&root), None).await;
    assert_envelope(later, 404).await;
    let settings = json(app.call("GET", "/api/settings", Some(&root), None).await).await;
    assert_ne!(
        settings["meta"]["appName"], "Changed",
        "the settings are reloaded"
    );
    // An account made after the backup is gone, token and all.
    assert_eq!(
        app.sign_in("users", "late@example.com", "password-123")
            .await
            .status(),
        400
    );
    let me = app
        .call("POST", "/api/collections/users/auth-refresh", Some(&late), None)
        .await;
    assert_envelope(me, 401).await;
    assert_eq!(
        app.sign_in("users", "early@example.com", "password-123")
            .await
            .status(),
        200
    );
    // A superuser made after the backup is no one now, even to the caches.
    let settings = app.call("GET", "/api/settings", Some(&late_admin), None).await;
    assert_envelope(settings, 401).await;
    let storage = app.dir.path().join("storage/c/r");
    assert!(storage.join("kept.txt").exists() && !storage.join("new.txt").exists());

    // What it replaced is kept.
    let rollback = app.dir.path().join(".restore_rollback");
    assert!(rollback.join("storage/c/r/new.txt").exists());
    let conn = rusqlite::Connection::open(rollback.join("data.db")).expect("rollback db");
    let kept: i64 = conn
        .query_row("SELECT count(*) FROM notes WHERE title = 'after'", [], |r| {
            r.get(0)
        })
        .expect("query");
    assert_eq!(kept, 1);

    // And the server goes on writing.
    note(&app, "next").await;
    assert_eq!(titles(&app).await, ["before", "next"]);
}

/// The entries of a zip, as (name, bytes).
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("zip");
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).expect("entry");
            let mut out = Vec::new();
            f.read_to_end(&mut out).expect("read");
            (f.name().expect("name").into_owned(), out)
        })
        .collect()
}

async fn download(app: &TestApp, root: &str, name: &str) -> Vec<u8> {
    let token = app.post_ok(root, "/api/files/token", json!({})).await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let resp = app.get(&format!("/api/backups/{name}?token={token}")).await;
    assert_eq!(resp.status(), 200);
    resp.bytes().await.expect("bytes").to_vec()
}

async fn upload(app: &TestApp, root: &str, name: &str, bytes: Vec<u8>) {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
    );
    let resp = app
        .client
        .post(app.url("/api/backups/upload"))
        .header("authorization", root)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(resp.status(), 204);
}

#[tokio::test]
async fn refused_restores_change_nothing() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    notes(&app, &root).await;
    note(&app, "one").await;
    backup(&app, &root, "good.zip").await;
    let entries = unzip(&download(&app, &root, "good.zip").await);

    // The same backup, as a newer Cairn would have written it.
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data.db");
    let original = &entries.iter().find(|(n, _)| n == "data.db").expect("data.db").1;
    std::fs::write(&data, original).expect("write");
    rusqlite::Connection::open(&data)
        .expect("open")
        .execute(
            "INSERT INTO _migrations (file, checksum, applied) VALUES ('9999_future.sql', 'x', 'now')",
            [],
        )
        .expect("insert");
    let future_db = std::fs::read(&data).expect("read");
    // And one whose pages SQLite cannot copy into the live database.
    let other = dir.path().join("other.db");
    std::fs::write(&other, original).expect("write");
    rusqlite::Connection::open(&other)
        .expect("open")
        .execute_batch("PRAGMA journal_mode = DELETE; PRAGMA page_size = 8192; VACUUM;")
        .expect("page size");
    let other_db = std::fs::read(&other).expect("read");
    upload(&app, &root, "pages.zip", zip_of(&[("data.db", &other_db)])).await;
    upload(&app, &root, "future.zip", zip_of(&[("data.db", &future_db)])).await;
    // And a damaged one: the right name, not a database.
    upload(&app, &root, "damaged.zip", zip_of(&[("data.db", &[7u8; 8192])])).await;

    note(&app, "two").await;
    for (name, says) in [
        ("future.zip", "newer"),
        ("damaged.zip", "data.db"),
        ("pages.zip", "8192"),
    ] {
        let body = assert_envelope(restore(&app, &root, name).await, 400).await;
        let message = body["message"].as_str().unwrap_or("");
        assert!(message.contains(says), "{name}: {body}");
        assert_eq!(titles(&app).await, ["one", "two"], "{name}: nothing changed");
        assert!(
            !app.dir.path().join(".restore_rollback").exists(),
            "{name}: nothing was touched"
        );
    }
    note(&app, "three").await;

    // Positive control: the good backup restores.
    assert_eq!(restore(&app, &root, "good.zip").await.status(), 204);
    assert_eq!(titles(&app).await, ["one"]);
}

#[tokio::test]
async fn a_backup_under_load_restores_every_acknowledged_write() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    notes(&app, &root).await;
    // Stored bytes that take the backup a while to copy, so the load runs
    // through all of it.
    let blob = app.dir.path().join("storage/c/r");
    std::fs::create_dir_all(&blob).expect("dir");
    let noise: Vec<u8> = (0..(24u32 << 20))
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(blob.join("blob.bin"), &noise).expect("blob");

    // (id, sent, acknowledged) of every write the server answered.
    let acked: Arc<Mutex<Vec<(String, Instant, Instant)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (client, url, acked, stop) = (
            app.client.clone(),
            app.url("/api/collections/notes/records"),
            acked.clone(),
            stop.clone(),
        );
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let resp = client
                    .post(&url)
                    .json(&json!({"title": format!("w{w}-{i}")}))
                    .send()
                    .await
                    .expect("write");
                assert_eq!(resp.status(), 200);
                let id = resp.json::<Value>().await.expect("json")["id"]
                    .as_str()
                    .expect("id")
                    .to_owned();
                acked.lock().expect("lock").push((id, sent, Instant::now()));
                i += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let began = Instant::now();
    backup(&app, &root, "load.zip").await;
    let ended = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.expect("writer");
    }
    let acked = acked.lock().expect("lock").clone();

    // The longest a write waited while the backup ran, against before it.
    let latency = |from: Instant, to: Instant| {
        acked
            .iter()
            .filter(|(_, sent, done)| *done >= from && *sent <= to)
            .map(|(_, sent, done)| *done - *sent)
            .max()
            .unwrap_or_default()
    };
    let during = acked
        .iter()
        .filter(|(_, s, d)| *s >= began && *d <= ended)
        .count();
    let start = acked.first().map_or(began, |a| a.1);
    eprintln!(
        "backup took {:?}; writes answered during it: {during}; longest write during it: {:?}; before it: {:?}",
        ended - began,
        latency(began, ended),
        latency(start, began - Duration::from_millis(1)),
    );
    assert!(during > 0, "writes went on while the backup ran");
    assert!(
        latency(began, ended) < Duration::from_secs(2),
        "no write waited long"
    );

    // Restore it on a fresh data folder, through the CLI.
    let zip = download(&app, &root, "load.zip").await;
    let fresh = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(fresh.path().join("backups")).expect("dir");
    std::fs::write(fresh.path().join("backups/load.zip"), zip).expect("zip");
    let dir = fresh.path().to_str().expect("utf-8");
    let (code, out, err) = run_cairn(&["backup", "restore", "load.zip", "--dir", dir], &[]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains("extracted"), "progress is shown: {err}");

    let conn = rusqlite::Connection::open(fresh.path().join("data.db")).expect("restored db");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("check");
    assert_eq!(check, "ok");
    let before: Vec<&String> = acked
        .iter()
        .filter(|(_, _, done)| *done < began)
        .map(|(id, _, _)| id)
        .collect();
    assert!(
        before.len() > 10,
        "the load wrote before the backup: {}",
        before.len()
    );
    let mut stmt = conn
        .prepare("SELECT count(*) FROM notes WHERE id = ?1")
        .expect("stmt");
    let missing: Vec<_> = before
        .iter()
        .filter(|id| stmt.query_row([id.as_str()], |r| r.get::<_, i64>(0)).expect("q") != 1)
        .collect();
    assert!(missing.is_empty(), "acknowledged writes lost: {missing:?}");
    let restored_blob = std::fs::read(fresh.path().join("storage/c/r/blob.bin")).expect("blob");
    assert!(restored_blob == noise, "stored files come back byte for byte");
}

#[tokio::test]
async fn the_cli_makes_lists_and_restores_backups_but_not_under_a_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let d = data.to_str().expect("utf-8");
    let (code, _, err) = run_cairn(&["backup", "create", "Bad Name.zip", "--dir", d], &[]).await;
    assert_ne!(code, 0);
    assert!(err.contains("invalid backup name"), "{err}");
    let (code, out, err) = run_cairn(&["backup", "create", "cli.zip", "--dir", d], &[]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("archiving data.db"), "progress is shown: {err}");
    let (code, out, _) = run_cairn(&["backup", "list", "--dir", d], &[]).await;
    assert_eq!(code, 0);
    assert!(out.contains("cli.zip"), "{out}");

    let mut server = spawn_serve(&data, &[]).await;
    let (code, _, err) = run_cairn(&["backup", "restore", "cli.zip", "--dir", d], &[]).await;
    assert_ne!(code, 0);
    assert!(err.contains("server is running"), "{err}");
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(20)).await, 0);

    // Positive control: with the server stopped, it restores.
    let (code, out, err) = run_cairn(&["backup", "restore", "cli.zip", "--dir", d], &[]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(data.join(".restore_rollback/data.db").exists());
}

#[tokio::test]
async fn scheduled_backups_keep_only_the_newest_few() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    backup(&app, &root, "by_hand.zip").await;
    let state = &app.state;
    let mut made = Vec::new();
    for _ in 0..3 {
        let name = state
            .backups
            .create_scheduled(&state.store, &state.storage, 2)
            .await
            .expect("scheduled backup");
        made.push(name.to_string());
        // Names carry the second they were made in.
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let resp = app.call("GET", "/api/backups", Some(&root), None).await;
    let mut keys: Vec<String> = json(resp)
        .await
        .as_array()
        .expect("list")
        .iter()
        .map(|b| b["key"].as_str().expect("key").to_owned())
        .collect();
    keys.sort();
    let mut want = vec!["by_hand.zip".to_owned(), made[1].clone(), made[2].clone()];
    want.sort();
    assert_eq!(
        keys, want,
        "the oldest scheduled one went, the hand-made one stayed"
    );
    assert!(made.iter().all(|k| k.starts_with("@auto_")), "{made:?}");
    // A scheduled backup restores like any other, by its key.
    let resp = restore(&app, &root, &made[2]).await;
    assert_eq!(resp.status(), 204);
}
