//! A full disk: the data folder on a small tmpfs, filled to the last byte
//! by a file beside it. Writes answer 507 in the envelope and leave
//! nothing behind; reads and password sign-ins go on; once the filler is
//! removed, writes work again without a restart.
//!
//! Needs to mount a tmpfs (root, or CAP_SYS_ADMIN); where that is refused
//! the test says so and skips, since no other way gives a real ENOSPC.

use std::{io::Write, path::PathBuf};

use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::helpers::{assert_envelope, json, spawn_app_with};

/// A tmpfs of `mib` MiB, unmounted on drop.
struct SmallDisk {
    path: PathBuf,
    _holder: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(mib: u32) -> Option<Self> {
        let holder = tempfile::tempdir().ok()?;
        let path = holder.path().join("disk");
        std::fs::create_dir(&path).ok()?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(&path)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(Self {
            path,
            _holder: holder,
        })
    }

    /// Writes a filler file until the disk refuses another byte; again
    /// before each write under test, since a refused write's rollback (or a
    /// checkpoint trimming the WAL) may hand some space back.
    fn fill(&self) {
        let n = std::fs::read_dir(&self.path).unwrap().count();
        let filler = self.path.join(format!("filler-{n}"));
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let one = [0u8; 1];
        while f.write_all(&one).is_ok() {}
    }

    fn empty(&self) {
        for entry in std::fs::read_dir(&self.path).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap().to_string_lossy().starts_with("filler-") {
                std::fs::remove_file(path).unwrap();
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}

#[tokio::test]
async fn a_full_disk_refuses_writes_cleanly_and_recovers() {
    let Some(disk) = SmallDisk::mount(16) else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN), so no real full disk");
        return;
    };
    let data = disk.path.join("data");
    let app = spawn_app_with(|c| c.data_dir = data.clone()).await;
    let su = app.superuser_token().await;
    app.post_ok(
        &su,
        "/api/collections",
        json!({"name": "notes", "type": "base", "listRule": "", "viewRule": "", "createRule": "",
               "fields": [{"name": "text", "type": "text"}, {"name": "doc", "type": "file", "maxSelect": 1}]}),
    )
    .await;
    let (user_id, user_token) = app.sign_up("full@example.com", "full-pass-123").await;
    let kept = app
        .post_ok(&su, "/api/collections/notes/records", json!({"text": "before"}))
        .await;

    disk.fill();

    // Writes: the WAL may still have room for a few (its file is reused
    // after a checkpoint); the first that finds none gets a clear 507 in
    // the envelope, JSON or multipart.
    let mut acknowledged = 0;
    let refused = loop {
        disk.fill();
        let resp = app
            .call(
                "POST",
                "/api/collections/notes/records",
                None,
                Some(json!({"text": "x".repeat(4000)})),
            )
            .await;
        if resp.status() != 200 || acknowledged == 2000 {
            break resp;
        }
        acknowledged += 1;
    };
    let body = assert_envelope(refused, 507).await;
    assert!(body["message"].as_str().unwrap().contains("disk"), "{body}");
    let mut uploaded = 0;
    let refused = loop {
        disk.fill();
        let form = Form::new().part("doc", Part::bytes(vec![7u8; 300_000]).file_name("big.bin"));
        let resp = app
            .client
            .post(app.url("/api/collections/notes/records"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        if resp.status() != 200 || uploaded == 50 {
            break resp;
        }
        uploaded += 1; // space a checkpoint gave back after `fill`
    };
    assert_envelope(refused, 507).await;
    acknowledged += uploaded;

    // Reads and a password sign-in go on.
    let list = json(app.get("/api/collections/notes/records").await).await;
    assert_eq!(list["totalItems"], 1 + acknowledged, "{list}");
    let resp = app
        .get(&format!(
            "/api/collections/notes/records/{}",
            kept["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(resp.status(), 200);
    // A token already issued still signs its holder in (no write needed)…
    let resp = app
        .call(
            "GET",
            &format!("/api/collections/users/records/{user_id}"),
            Some(&user_token),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let resp = app
        .call(
            "GET",
            &format!("/api/collections/users/records/{user_id}"),
            None,
            None,
        )
        .await;
    assert_eq!(
        resp.status(),
        404,
        "positive control: without the token the rule hides it"
    );
    // …while a new sign-in opens a session row: it goes through if the
    // WAL still has a free page for it, else it is refused like any
    // write, with the same clear 507, never a 500.
    disk.fill();
    let resp = app.sign_in("users", "full@example.com", "full-pass-123").await;
    if resp.status() != 200 {
        assert_envelope(resp, 507).await;
    }

    // Space comes back: writes work, without a restart, and the refused
    // ones left nothing (no record, no file).
    disk.empty();
    app.post_ok(&su, "/api/collections/notes/records", json!({"text": "after"}))
        .await;
    let list = json(app.get("/api/collections/notes/records?perPage=1000").await).await;
    let mut texts: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].as_str().unwrap())
        .filter(|t| !t.is_empty() && !t.starts_with("xxx"))
        .collect();
    texts.sort();
    assert_eq!(texts, ["after", "before"]);
    assert_eq!(
        list["totalItems"],
        2 + acknowledged,
        "every acknowledged write, and no refused one"
    );
    let collection = json(app.call("GET", "/api/collections/notes", Some(&su), None).await).await;
    let files = data.join("storage").join(collection["id"].as_str().unwrap());
    assert_eq!(
        crate::helpers::count_files(&files),
        uploaded,
        "no file of a refused upload remains"
    );
    let check: String = rusqlite::Connection::open(data.join("data.db"))
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    app.shutdown().await;
}
