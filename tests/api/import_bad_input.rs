//! `cairn import pocketbase` on sources it must refuse: each a clear
//! message naming the problem, a non-zero exit, and nothing left where
//! the data folder would have been (nor the hidden folder it is built
//! in). The same folder undamaged imports, as the control.
//!
//! Needs PocketBase (`POCKETBASE_BIN`) to make a real `pb_data`; skipped,
//! saying so, without it.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use serde_json::json;

use crate::{
    differential::{required_pocketbase, start_pocketbase},
    helpers::run_cairn,
};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A stopped PocketBase's `pb_data` with a record that has a file.
async fn pocketbase_folder(bin: &PathBuf, dir: &Path) -> PathBuf {
    let (mut child, pb) = start_pocketbase(bin, dir).await;
    pb.admin(
        "POST",
        "/api/collections",
        json!({"name": "docs", "fields": [{"name": "file", "type": "file", "maxSelect": 1}]}),
    )
    .await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("hello.txt"),
    );
    let resp = pb
        .client
        .post(format!("{}/api/collections/docs/records", pb.base))
        .header("authorization", &pb.superuser)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-s", "TERM", &pid])
        .status()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("PocketBase stopped")
        .unwrap();
    dir.join("pb_data")
}

/// Imports `source` into `target`: (exit code, stdout, stderr).
async fn import(source: &Path, target: &Path, extra: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut args = vec![
        "import",
        "pocketbase",
        source.to_str().unwrap(),
        "--dir",
        target.to_str().unwrap(),
    ];
    args.extend(extra);
    run_cairn(&args, env).await
}

/// The import failed with `phrase` in its message and left nothing behind.
async fn refused(source: &Path, target: &Path, extra: &[&str], env: &[(&str, &str)], phrase: &str) {
    let (code, out, err) = import(source, target, extra, env).await;
    assert_ne!(code, 0, "{out}\n{err}");
    assert!(err.contains(phrase), "expected {phrase:?} in: {err}");
    assert!(!target.join("data.db").exists(), "no data folder made: {err}");
    let parent = target.parent().unwrap();
    let name = target.file_name().unwrap().to_string_lossy().into_owned();
    let staged: Vec<_> = std::fs::read_dir(parent)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&format!(".{name}.")))
        .collect();
    assert!(staged.is_empty(), "nothing half-made left: {staged:?}");
}

fn damaged(base: &Path, work: &Path, name: &str, damage: impl FnOnce(&Path)) -> PathBuf {
    let copy = work.join(name);
    copy_dir(base, &copy);
    damage(&copy);
    copy
}

fn sql(dir: &Path, statements: &str) {
    let conn = rusqlite::Connection::open(dir.join("data.db")).unwrap();
    conn.execute_batch(statements).unwrap();
}

#[tokio::test]
async fn bad_sources_are_refused_and_leave_nothing_behind() {
    let Some(bin) = required_pocketbase() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let base = pocketbase_folder(&bin, &work.join("pb")).await;
    let target = work.join("cairn_data");

    // Not a pb_data at all.
    std::fs::create_dir(work.join("empty")).unwrap();
    refused(
        &work.join("empty"),
        &target,
        &[],
        &[],
        "is not a PocketBase data folder",
    )
    .await;
    let other = work.join("other");
    std::fs::create_dir(&other).unwrap();
    sql(&other, "CREATE TABLE notes (id TEXT)");
    refused(&other, &target, &[], &[], "has no _collections table").await;

    // A layout this import does not know: newer, or older than 0.23.
    let newer = damaged(&base, work, "newer", |d| {
        sql(d, "ALTER TABLE _collections ADD COLUMN future TEXT")
    });
    refused(&newer, &target, &[], &[], "newer than this import knows").await;
    let new_type = damaged(&base, work, "new_type", |d| {
        sql(
            d,
            "UPDATE _collections SET fields = json_insert(fields, '$[#]', json('{\"name\":\"v\",\"type\":\"vector\"}')) WHERE name = 'docs'",
        )
    });
    refused(&new_type, &target, &[], &[], "a field of type \"vector\"").await;
    let older = damaged(&base, work, "older", |d| sql(d, "CREATE TABLE _admins (id TEXT)"));
    refused(&older, &target, &[], &[], "older than 0.23").await;

    // Damaged: garbage where the header is; cut off half-way.
    let garbage = damaged(&base, work, "garbage", |d| {
        let path = d.join("data.db");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[..100].fill(0x5a);
        std::fs::write(&path, bytes).unwrap();
    });
    refused(&garbage, &target, &[], &[], "is damaged").await;
    let truncated = damaged(&base, work, "truncated", |d| {
        let path = d.join("data.db");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    });
    refused(&truncated, &target, &[], &[], "is damaged").await;

    // A file a record names is gone from storage.
    let missing = damaged(&base, work, "missing", |d| {
        let storage = d.join("storage");
        let collection = std::fs::read_dir(&storage)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let record = std::fs::read_dir(collection)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        // PocketBase keeps a `.attrs` file of metadata beside each file.
        let file = (std::fs::read_dir(record).unwrap())
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "txt"))
            .unwrap();
        std::fs::remove_file(file).unwrap();
    });
    refused(&missing, &target, &[], &[], "is missing from storage").await;

    // Locked by another process that will not let go.
    let locked = damaged(&base, work, "locked", |_| {});
    let holder = rusqlite::Connection::open(locked.join("data.db")).unwrap();
    holder
        .execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT;")
        .unwrap();
    refused(&locked, &target, &[], &[], "is locked by another process").await;
    drop(holder);

    // The data folder inside the source.
    refused(&base, &base.join("cairn"), &[], &[], "overlap").await;

    // Control: the undamaged folder imports; the source copy that was
    // locked imports once the lock is gone.
    let (code, out, err) = import(&locked, &target, &[], &[]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("1 files"), "{out}");

    // A data folder that is not empty is kept unless --force replaces it.
    std::fs::write(target.join("marker"), "old").unwrap();
    let (code, _, err) = import(&base, &target, &[], &[]).await;
    assert_ne!(code, 0);
    assert!(err.contains("is not empty") && err.contains("--force"), "{err}");
    assert!(target.join("marker").exists(), "the existing folder is untouched");
    let (code, out, err) = import(&base, &target, &["--force"], &[]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!target.join("marker").exists() && target.join("data.db").exists());
}

#[tokio::test]
async fn encrypted_settings_need_the_key_pocketbase_ran_with() {
    let Some(bin) = required_pocketbase() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("pb_data");
    let key = "abcdefghijklmnopqrstuvwxyz012345";
    let status = std::process::Command::new(&bin)
        .args([
            "superuser",
            "upsert",
            "root@example.com",
            "root-pass-123",
            "--encryptionEnv",
            "PB_KEY",
            "--dir",
        ])
        .arg(&source)
        .env("PB_KEY", key)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let target = dir.path().join("cairn_data");
    refused(&source, &target, &[], &[], "--encryption-key").await;
    refused(
        &source,
        &target,
        &["--encryption-key", "zyxwvutsrqponmlkjihgfedcba543210"],
        &[],
        "does not decrypt",
    )
    .await;
    let (code, out, err) = import(&source, &target, &[], &[("PB_ENCRYPTION_KEY", key)]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("1 of them superusers"), "{out}");
}
