//! `/api/backups`: who may call it (guests 401, other records 403, each
//! beside the superuser's success), bad names, uploads that are not zips,
//! that hide a path traversal or a zip bomb (all 400, nothing kept), the
//! download's file token, and one backup at a time.

use std::io::Write;

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

async fn keys(app: &TestApp, token: &str) -> Vec<String> {
    let resp = app.call("GET", "/api/backups", Some(token), None).await;
    assert_eq!(resp.status(), 200);
    json(resp)
        .await
        .as_array()
        .expect("a list")
        .iter()
        .map(|b| b["key"].as_str().expect("key").to_owned())
        .collect()
}

async fn create(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.call("POST", "/api/backups", Some(token), Some(body)).await
}

async fn upload(app: &TestApp, token: &str, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    let form = Form::new().part("file", Part::bytes(bytes).file_name(name.to_owned()));
    app.client
        .post(app.url("/api/backups/upload"))
        .header("authorization", token)
        .multipart(form)
        .send()
        .await
        .expect("upload")
}

/// A zip of these (name, content) entries, deflated.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in entries {
        zip.start_file(*name, options).expect("entry");
        zip.write_all(content).expect("write");
    }
    zip.finish().expect("finish").into_inner()
}

async fn download(app: &TestApp, key: &str, token: Option<&str>) -> reqwest::Response {
    let url = match token {
        Some(t) => format!("/api/backups/{key}?token={t}"),
        None => format!("/api/backups/{key}"),
    };
    app.get(&url).await
}

async fn file_token(app: &TestApp, token: &str) -> String {
    app.post_ok(token, "/api/files/token", json!({})).await["token"]
        .as_str()
        .expect("token")
        .to_owned()
}

#[tokio::test]
async fn only_superusers_may_use_backups() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let (_, user) = app.sign_up("someone@example.com", "password-123").await;
    for (method, path) in [
        ("GET", "/api/backups"),
        ("POST", "/api/backups"),
        ("DELETE", "/api/backups/a.zip"),
        ("POST", "/api/backups/a.zip/restore"),
    ] {
        assert_envelope(app.call(method, path, None, None).await, 401).await;
        assert_envelope(app.call(method, path, Some(&user), None).await, 403).await;
    }
    assert_envelope(upload(&app, &user, "u.zip", zip_of(&[])).await, 403).await;
    assert!(keys(&app, &root).await.is_empty(), "nothing was made");

    // The same calls by a superuser work.
    assert_eq!(create(&app, &root, json!({"name": "a.zip"})).await.status(), 204);
    assert_eq!(keys(&app, &root).await, ["a.zip"]);

    // Downloads take a superuser's file token, not a user's nor none.
    assert_envelope(download(&app, "a.zip", None).await, 403).await;
    let user_file = file_token(&app, &user).await;
    assert_envelope(download(&app, "a.zip", Some(&user_file)).await, 403).await;
    let root_file = file_token(&app, &root).await;
    let resp = download(&app, "a.zip", Some(&root_file)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/zip");
    let bytes = resp.bytes().await.expect("body");
    assert_eq!(&bytes[..2], b"PK", "a zip archive");
    assert_envelope(download(&app, "nope.zip", Some(&root_file)).await, 404).await;

    let restore_user = app
        .call("POST", "/api/backups/a.zip/restore", Some(&user), None)
        .await;
    assert_envelope(restore_user, 403).await;
    let delete = app.call("DELETE", "/api/backups/a.zip", Some(&root), None).await;
    assert_eq!(delete.status(), 204);
    assert!(keys(&app, &root).await.is_empty());
    let again = app.call("DELETE", "/api/backups/a.zip", Some(&root), None).await;
    assert_envelope(again, 400).await;
}

#[tokio::test]
async fn bad_names_are_refused_and_nothing_is_made() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let long = format!("{}.zip", "a".repeat(147));
    for (name, code) in [
        ("Bad Name.zip", "validation_match_invalid"),
        ("UP.zip", "validation_match_invalid"),
        ("../escape.zip", "validation_match_invalid"),
        ("noext", "validation_match_invalid"),
        ("a.b.zip", "validation_match_invalid"),
        ("@auto_x.zip", "validation_match_invalid"),
        (long.as_str(), "validation_length_out_of_range"),
    ] {
        let body = assert_envelope(create(&app, &root, json!({"name": name})).await, 400).await;
        assert_eq!(body["data"]["name"]["code"], code, "{name}: {body}");
    }
    assert!(keys(&app, &root).await.is_empty());
    assert!(
        !app.dir.path().join("escape.zip").exists(),
        "nothing was written outside the backups folder"
    );

    // Positive controls: the longest allowed name, and a generated one.
    let longest = format!("{}.zip", "a".repeat(146));
    assert_eq!(create(&app, &root, json!({"name": longest})).await.status(), 204);
    assert_eq!(create(&app, &root, json!({})).await.status(), 204);
    let made = keys(&app, &root).await;
    assert_eq!(made.len(), 2, "{made:?}");
    assert!(made.iter().any(|k| k.starts_with("cairn_backup_")), "{made:?}");

    let taken = assert_envelope(create(&app, &root, json!({"name": longest})).await, 400).await;
    assert_eq!(taken["data"]["name"]["code"], "validation_backup_name_exists");
}

#[tokio::test]
async fn uploads_must_be_safe_zips() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    assert_eq!(
        create(&app, &root, json!({"name": "real.zip"})).await.status(),
        204
    );
    let real = download(&app, "real.zip", Some(&file_token(&app, &root).await))
        .await
        .bytes()
        .await
        .expect("body")
        .to_vec();

    // Not a zip at all.
    let body = assert_envelope(upload(&app, &root, "text.zip", b"hello".to_vec()).await, 400).await;
    assert_eq!(
        body["data"]["file"]["code"], "validation_invalid_mime_type",
        "{body}"
    );
    // A zip whose entries climb out of the folder, or are not ours.
    for entries in [
        vec![("data.db", &b"x"[..]), ("../evil.txt", &b"x"[..])],
        vec![("data.db", &b"x"[..]), ("storage/../../evil.txt", &b"x"[..])],
        vec![("data.db", &b"x"[..]), ("/etc/evil", &b"x"[..])],
        vec![("storage/c/r/a.txt", &b"x"[..])],
    ] {
        let names: Vec<_> = entries.iter().map(|(n, _)| *n).collect();
        let body = assert_envelope(upload(&app, &root, "bad.zip", zip_of(&entries)).await, 400).await;
        assert_eq!(
            body["data"]["file"]["code"], "validation_invalid_backup",
            "{names:?}: {body}"
        );
    }
    // A zip bomb: 200 MiB of zeros in a couple of hundred KiB.
    let zeros = vec![0u8; 200 << 20];
    let bomb = zip_of(&[("data.db", &zeros)]);
    assert!(bomb.len() < 1 << 20, "{}", bomb.len());
    let body = assert_envelope(upload(&app, &root, "bomb.zip", bomb).await, 400).await;
    assert_eq!(
        body["data"]["file"]["code"], "validation_invalid_backup",
        "{body}"
    );
    // A name that is not a backup name.
    let body = assert_envelope(upload(&app, &root, "Not Valid.zip", real.clone()).await, 400).await;
    assert_eq!(body["data"]["file"]["code"], "validation_match_invalid", "{body}");

    assert_eq!(keys(&app, &root).await, ["real.zip"], "nothing refused was kept");
    let leftovers: Vec<_> = std::fs::read_dir(app.dir.path().join("backups"))
        .expect("backups")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary files are left: {leftovers:?}");
    assert!(!app.dir.path().join("evil.txt").exists());

    // Positive control: a real backup uploads, under the file's own name
    // (a path in it is dropped), and only once.
    assert_eq!(
        upload(&app, &root, "../../copy.zip", real.clone()).await.status(),
        204
    );
    let mut listed = keys(&app, &root).await;
    listed.sort();
    assert_eq!(listed, ["copy.zip", "real.zip"]);
    let body = assert_envelope(upload(&app, &root, "copy.zip", real).await, 400).await;
    assert_eq!(body["data"]["file"]["code"], "validation_backup_name_exists");
}

#[tokio::test]
async fn one_backup_at_a_time() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    // Enough stored bytes (incompressible) that a backup takes a while.
    let blob_dir = app.dir.path().join("storage").join("c").join("r");
    std::fs::create_dir_all(&blob_dir).expect("dir");
    let noise: Vec<u8> = (0..(48u32 << 20))
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(blob_dir.join("blob.bin"), noise).expect("blob");

    let first = {
        let (client, url, root) = (app.client.clone(), app.url("/api/backups"), root.clone());
        tokio::spawn(async move {
            client
                .post(url)
                .header("authorization", root)
                .json(&json!({"name": "first.zip"}))
                .send()
                .await
                .expect("first")
                .status()
        })
    };
    let started = std::time::Instant::now();
    while !app.state.backups.is_running() {
        assert!(started.elapsed().as_secs() < 10, "the first backup started");
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let second = create(&app, &root, json!({"name": "second.zip"})).await;
    let body = assert_envelope(second, 400).await;
    assert!(
        body["message"].as_str().unwrap_or("").contains("already running"),
        "{body}"
    );
    let restore = app
        .call("POST", "/api/backups/first.zip/restore", Some(&root), None)
        .await;
    assert_envelope(restore, 400).await;
    let health = json(app.call("GET", "/api/health", Some(&root), None).await).await;
    assert_eq!(health["data"]["canBackup"], false, "{health}");

    assert_eq!(first.await.expect("joined"), 204);
    assert_eq!(keys(&app, &root).await, ["first.zip"]);
    let health = json(app.call("GET", "/api/health", Some(&root), None).await).await;
    assert_eq!(health["data"]["canBackup"], true, "{health}");
    // Once it is done, the next one goes.
    assert_eq!(
        create(&app, &root, json!({"name": "second.zip"})).await.status(),
        204
    );
}

#[tokio::test]
async fn a_download_keeps_to_the_superuser_ip_allowlist() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    assert_eq!(create(&app, &root, json!({"name": "a.zip"})).await.status(), 204);
    let token = file_token(&app, &root).await;
    app.change_settings(|s| s.superuser_ips = vec!["10.9.8.7".into()])
        .await;
    assert_envelope(download(&app, "a.zip", Some(&token)).await, 403).await;
    // Positive control: from an allowed address, the same token works.
    app.change_settings(|s| s.superuser_ips = vec!["127.0.0.1".into()])
        .await;
    assert_eq!(download(&app, "a.zip", Some(&token)).await.status(), 200);
}

/// `settings.backups.cron` turns on the `__cairnAutoBackup__` job, which
/// `/api/crons` lists with that expression and runs on demand; its backups
/// are `@auto_…` and only `cronMaxKeep` of them are kept, while a backup
/// made by hand is never pruned. Blank again, the job is gone.
#[tokio::test]
async fn scheduled_backups_follow_the_settings_and_keep_cron_max_keep() {
    let app = spawn_app().await;
    let admin = app.superuser_token().await;
    let ids = |list: Value| -> Vec<(String, String)> {
        list.as_array()
            .expect("a list")
            .iter()
            .map(|j| {
                (
                    j["id"].as_str().unwrap().to_owned(),
                    j["expression"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let crons = ids(json(app.call("GET", "/api/crons", Some(&admin), None).await).await);
    assert!(
        !crons.iter().any(|(id, _)| id == "__cairnAutoBackup__"),
        "off by default: {crons:?}"
    );
    let off = app
        .call("POST", "/api/crons/__cairnAutoBackup__", Some(&admin), None)
        .await;
    assert_eq!(off.status(), 404, "an off job cannot be run");

    assert_eq!(
        create(&app, &admin, json!({"name": "by_hand.zip"}))
            .await
            .status(),
        204
    );
    let resp = app
        .call(
            "PATCH",
            "/api/settings",
            Some(&admin),
            Some(json!({"backups": {"cron": "0 3 * * *", "cronMaxKeep": 2}})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let crons = ids(json(app.call("GET", "/api/crons", Some(&admin), None).await).await);
    assert!(
        crons.contains(&("__cairnAutoBackup__".to_owned(), "0 3 * * *".to_owned())),
        "{crons:?}"
    );

    let autos = |keys: &[String]| -> Vec<String> {
        keys.iter().filter(|k| k.starts_with("@auto_")).cloned().collect()
    };
    let mut seen: Vec<String> = Vec::new();
    for round in 1..=3 {
        let run = app
            .call("POST", "/api/crons/__cairnAutoBackup__", Some(&admin), None)
            .await;
        assert_eq!(run.status(), 204);
        // The job runs in the background: wait until its backup is there
        // and the job done (names carry the second: rounds are a second
        // apart, so each makes a new name).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let now = loop {
            let now = keys(&app, &admin).await;
            let fresh = autos(&now).iter().any(|k| !seen.contains(k));
            if fresh && !app.state.backups.is_running() {
                break now;
            }
            assert!(std::time::Instant::now() < deadline, "round {round}: {now:?}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        assert!(now.contains(&"by_hand.zip".to_owned()), "never pruned: {now:?}");
        let kept = autos(&now);
        assert_eq!(kept.len(), round.min(2), "round {round}: {now:?}");
        seen.extend(kept);
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }

    let resp = app
        .call(
            "PATCH",
            "/api/settings",
            Some(&admin),
            Some(json!({"backups": {"cron": ""}})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let crons = ids(json(app.call("GET", "/api/crons", Some(&admin), None).await).await);
    assert!(
        !crons.iter().any(|(id, _)| id == "__cairnAutoBackup__"),
        "{crons:?}"
    );
}
