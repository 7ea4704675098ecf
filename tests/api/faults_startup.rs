//! Bad data folders at start: each is refused with the file's name and
//! what to do, a non-zero exit, and not one byte of the folder changed
//! (compared file by file before and after).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::Duration,
};

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::{run_cairn, serve_log_path, spawn_serve};

/// Every file under `dir` with its contents.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(
                    path.strip_prefix(dir).unwrap().to_owned(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    files
}

/// Runs `cairn serve` on `dir` (as `user` when given, through setpriv),
/// expecting it to refuse: its standard error, after checking the exit
/// code and that the folder is untouched. A server that does start is
/// stopped by the timeout and fails the test.
async fn refused(dir: &Path, as_nobody: bool) -> String {
    let before = snapshot(dir);
    let bin = crate::helpers::cairn_bin();
    let dir_arg = dir.to_str().unwrap();
    let serve = [
        bin.to_str().unwrap(),
        "serve",
        "--http",
        "127.0.0.1:0",
        "--dir",
        dir_arg,
    ];
    let out = tokio::time::timeout(Duration::from_secs(20), async {
        let mut cmd = if as_nobody {
            let mut c = tokio::process::Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .args(serve);
            c
        } else {
            let mut c = tokio::process::Command::new(serve[0]);
            c.args(&serve[1..]);
            c
        };
        cmd.kill_on_drop(true).output().await.unwrap()
    })
    .await
    .expect("cairn serve refused the folder instead of serving it");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "exit code; stderr: {stderr}");
    assert!(
        before == snapshot(dir),
        "the refused folder was changed: {:?} → {:?}",
        before.keys().collect::<Vec<_>>(),
        snapshot(dir).keys().collect::<Vec<_>>()
    );
    stderr
}

/// A data folder that a real server wrote (with a record naming a file),
/// then closed cleanly on TERM.
async fn real_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let (code, _, err) = run_cairn(
        &[
            "superuser",
            "upsert",
            "root@example.com",
            "pass1234567",
            "--dir",
            path,
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let mut server = spawn_serve(dir.path(), &[]).await;
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    let signed: Value = client
        .post(format!("{base}/api/collections/_superusers/auth-with-password"))
        .json(&json!({"identity": "root@example.com", "password": "pass1234567"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let su = signed["token"].as_str().unwrap().to_owned();
    let resp = client
        .post(format!("{base}/api/collections"))
        .header("Authorization", &su)
        .json(&json!({"name": "docs", "type": "base", "fields": [{"name": "doc", "type": "file", "maxSelect": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let form = Form::new().part("doc", Part::bytes(b"hello".to_vec()).file_name("a.txt"));
    let resp = client
        .post(format!("{base}/api/collections/docs/records"))
        .header("Authorization", &su)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(30)).await, 0);
    std::fs::remove_file(serve_log_path(dir.path())).ok();
    dir
}

#[tokio::test]
async fn a_damaged_database_is_named_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let noise: Vec<u8> = (0..64 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.path().join("data.db"), noise).unwrap();
    let err = refused(dir.path(), false).await;
    assert!(err.contains("data.db") && err.contains("damaged"), "{err}");
    assert!(err.contains("backup"), "says what to do: {err}");
}

#[tokio::test]
async fn a_database_that_is_not_cairns_is_not_adopted() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("data.db")).unwrap();
    conn.execute_batch(
        "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5);",
    )
    .unwrap();
    drop(conn);
    let err = refused(dir.path(), false).await;
    assert!(err.contains("data.db") && err.contains("not Cairn's"), "{err}");

    // PocketBase's own data.db gets the way in from PocketBase named.
    let pb = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(pb.path().join("data.db")).unwrap();
    conn.execute_batch(
        "CREATE TABLE _migrations (file TEXT PRIMARY KEY, applied INTEGER);
         CREATE TABLE _collections (id TEXT PRIMARY KEY); CREATE TABLE _params (id TEXT PRIMARY KEY);",
    )
    .unwrap();
    drop(conn);
    let err = refused(pb.path(), false).await;
    assert!(err.contains("cairn import pocketbase"), "{err}");
}

#[tokio::test]
async fn a_database_from_a_newer_cairn_is_refused() {
    let dir = real_folder().await;
    let conn = rusqlite::Connection::open(dir.path().join("data.db")).unwrap();
    conn.execute(
        "INSERT INTO _migrations (file, checksum, applied) VALUES ('9999_from_the_future.sql', 'x', 'now')",
        [],
    )
    .unwrap();
    drop(conn);
    let err = refused(dir.path(), false).await;
    assert!(err.contains("data.db") && err.contains("newer version"), "{err}");

    // Positive control: the same folder without the stranger serves.
    let conn = rusqlite::Connection::open(dir.path().join("data.db")).unwrap();
    conn.execute(
        "DELETE FROM _migrations WHERE file = '9999_from_the_future.sql'",
        [],
    )
    .unwrap();
    drop(conn);
    let mut server = spawn_serve(dir.path(), &[]).await;
    let health = reqwest::get(format!("http://{}/api/health", server.addr))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(30)).await, 0);
}

#[tokio::test]
async fn a_missing_storage_folder_is_named_when_records_name_files() {
    let dir = real_folder().await;
    std::fs::rename(dir.path().join("storage"), dir.path().join("storage.moved")).unwrap();
    let err = refused(dir.path(), false).await;
    assert!(err.contains("storage") && err.contains("\"docs\""), "{err}");

    // Positive control: an empty storage folder is the documented way to
    // start without the files.
    std::fs::create_dir(dir.path().join("storage")).unwrap();
    let mut server = spawn_serve(dir.path(), &[]).await;
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(30)).await, 0);
}

#[tokio::test]
async fn a_folder_this_user_cannot_write_is_refused() {
    // Root writes anywhere: the check runs the server as `nobody` then.
    let root = is_root();
    if root
        && std::process::Command::new("setpriv")
            .arg("--help")
            .output()
            .is_err()
    {
        eprintln!("skipped: running as root without setpriv, so no unwritable folder can be made");
        return;
    }
    let dir = real_folder().await;
    let path = dir.path();
    // Readable and searchable for everyone (nobody must reach the files),
    // writable by the owner (root) only; a non-root owner loses write too.
    use std::os::unix::fs::PermissionsExt;
    let mode = if root { 0o755 } else { 0o555 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    let err = refused(path, root).await;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(err.contains("cannot be written by this user"), "{err}");
    assert!(err.contains("chown"), "says what to do: {err}");
}

/// Whether this process runs as root, read from /proc (no unsafe getuid).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

#[tokio::test]
async fn files_no_record_names_are_swept_after_a_restart() {
    let dir = real_folder().await;
    let storage = dir.path().join("storage");
    let collection = std::fs::read_dir(&storage)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let record = std::fs::read_dir(&collection)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let kept = std::fs::read_dir(&record)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    // What a crash leaves: an upload beside a record's named file, its
    // thumbnails, a record that never committed, a deleted collection.
    let strays = [
        record.join("stray_upload.txt"),
        record
            .join("thumbs_stray_upload.txt")
            .join("100x100_stray_upload.txt"),
        collection.join("nevercommitted1").join("a.txt"),
        storage.join("pbc_gone").join("somerecord0001").join("b.txt"),
    ];
    for stray in &strays {
        std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
        std::fs::write(stray, b"left by a crash").unwrap();
    }
    let mut server = spawn_serve(dir.path(), &[]).await;
    let gone = |p: &Path| !p.exists();
    // The folders go after their files: wait for both, not only the files.
    let folders = [collection.join("nevercommitted1"), storage.join("pbc_gone")];
    for _ in 0..100 {
        if strays.iter().chain(&folders).all(|s| gone(s)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for stray in strays.iter().chain(&folders) {
        assert!(gone(stray), "{} is still there", stray.display());
    }
    // Positive control: the file its record names stays, and downloads.
    assert!(kept.exists());
    let (collection_id, record_id, name) = (
        collection.file_name().unwrap().to_str().unwrap(),
        record.file_name().unwrap().to_str().unwrap(),
        kept.file_name().unwrap().to_str().unwrap(),
    );
    let url = format!(
        "http://{}/api/files/{collection_id}/{record_id}/{name}",
        server.addr
    );
    let body = reqwest::get(url).await.unwrap().bytes().await.unwrap();
    assert_eq!(&body[..], b"hello");
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(30)).await, 0);
}
