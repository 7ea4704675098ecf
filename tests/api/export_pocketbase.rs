//! `cairn export pocketbase`, end to end through the real binaries: a
//! Cairn folder is populated over its API and exported while Cairn still
//! runs; the real PocketBase 0.40.6 serves the export and must answer
//! every recorded request exactly as Cairn did, with the tokens Cairn
//! issued; the accounts whose hash is still bcrypt sign in with their
//! password, the argon2id ones are named. Importing the export back gives
//! the same answers again. Then the refusals.
//!
//! Needs PocketBase (`POCKETBASE_BIN`); the round trip is skipped, saying
//! so, without it.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::{
    differential::{FILTERS, Server, login, required_pocketbase, seed, urlencode},
    helpers::{run_cairn, spawn_serve},
};

/// Files, a view, an OAuth2 link and provider, SMTP settings, and a third
/// user whose hash is made bcrypt (as if imported from PocketBase and not
/// signed in since). Returns the downloadable file paths.
async fn seed_more(s: &Server) -> Vec<String> {
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "docs", "listRule": "", "viewRule": "", "fields": [
            {"name": "title", "type": "text"},
            {"name": "cover", "type": "file", "maxSelect": 1, "maxSize": 1000000},
            {"name": "attachments", "type": "file", "maxSelect": 3, "maxSize": 1000000},
            {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_"},
        ]}),
    )
    .await;
    let mut files = Vec::new();
    for (id, names) in [
        ("docsaaaaaaaaaa1", vec!["cover.txt", "a.txt", "b.txt"]),
        ("docsaaaaaaaaaa2", vec!["second.txt"]),
    ] {
        let mut form = reqwest::multipart::Form::new()
            .text("id", id)
            .text("title", format!("doc {id}"))
            .text("owner", "useruuuuuuuone1");
        for (i, name) in names.iter().enumerate() {
            let field = if i == 0 { "cover" } else { "attachments" };
            let body = format!("contents of {name} in {id}").into_bytes();
            form = form.part(
                field,
                reqwest::multipart::Part::bytes(body).file_name(name.to_string()),
            );
        }
        let resp = (s.client)
            .post(format!("{}/api/collections/docs/records", s.base))
            .header("authorization", &s.superuser)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let record: Value = resp.json().await.unwrap();
        let mut stored = vec![record["cover"].as_str().unwrap().to_owned()];
        stored.extend(
            (record["attachments"].as_array().unwrap().iter()).map(|v| v.as_str().unwrap().to_owned()),
        );
        files.extend(stored.into_iter().map(|name| format!("{id}/{name}")));
    }
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "open_tasks", "type": "view", "listRule": "", "viewRule": "",
               "viewQuery": "SELECT id, title, priority FROM tasks WHERE done = false"}),
    )
    .await;
    s.admin(
        "POST",
        "/api/collections/_externalAuths/records",
        json!({"collectionRef": "_pb_users_auth_", "recordRef": "useruuuuuuuone1",
               "provider": "google", "providerId": "g-4242"}),
    )
    .await;
    s.admin(
        "PATCH",
        "/api/collections/users",
        json!({"oauth2": {"enabled": true, "providers": [
            {"name": "google", "clientId": "client-123", "clientSecret": "oauth-secret-456"}
        ]}}),
    )
    .await;
    s.admin(
        "PATCH",
        "/api/settings",
        json!({"meta": {"appName": "Leaving app"},
               "smtp": {"enabled": true, "host": "smtp.example.org", "port": 2525,
                        "username": "mailer", "password": "smtp-secret-789"}}),
    )
    .await;
    s.admin(
        "POST",
        "/api/collections/users/records",
        json!({"id": "useruuuuubcrypt", "email": "three@example.com", "password": "pass-word-3",
               "passwordConfirm": "pass-word-3", "name": "three"}),
    )
    .await;
    files
}

/// (path, caller): 0 superuser, 1 guest, 2 and 3 the two users.
fn cases() -> Vec<(String, usize)> {
    let mut cases = Vec::new();
    for (collection, f) in FILTERS.iter().take(60) {
        cases.push((
            format!(
                "/api/collections/{collection}/records?filter={}&sort=id&perPage=100",
                urlencode(f)
            ),
            0,
        ));
    }
    for path in [
        "/api/collections/people/records?sort=-age,name",
        "/api/collections/projects/records?sort=id&expand=owner,members",
        "/api/collections/projects/records?sort=id&expand=tasks_via_project",
        "/api/collections/tasks/records?sort=id&expand=project.owner,assignee",
        "/api/collections/tasks/records/taskaaaaaaaaaa3?expand=project.members",
        "/api/collections/docs/records?sort=id&expand=owner",
        "/api/collections/docs/records/docsaaaaaaaaaa1",
        "/api/collections/open_tasks/records?sort=id",
        "/api/collections/users/records?sort=id",
        "/api/collections/_externalAuths/records",
    ] {
        cases.push((path.to_owned(), 0));
    }
    for caller in 1..=3 {
        for path in [
            "/api/collections/users/records?sort=id",
            "/api/collections/users/records/useruuuuuuuone1",
            "/api/collections/_externalAuths/records",
            "/api/collections/docs/records?sort=id",
        ] {
            cases.push((path.to_owned(), caller));
        }
    }
    cases
}

/// `pocketbase serve` on an existing folder, as it is (no superuser made).
async fn serve_pocketbase(bin: &Path, data: &Path) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(data.with_extension("pocketbase.log")).unwrap();
    let child = Command::new(bin)
        .args([
            "serve",
            "--automigrate=false",
            "--http",
            &format!("127.0.0.1:{port}"),
            "--dir",
        ])
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{base}/api/health"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return (child, base);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "PocketBase did not start on the export: {}",
        std::fs::read_to_string(data.with_extension("pocketbase.log")).unwrap_or_default()
    );
}

type Recorded = Vec<(String, usize, u16, Value)>;

/// Every recorded answer, asked again of `s`: the disagreements.
async fn compare(
    s: &Server,
    recorded: &Recorded,
    token_for: &dyn Fn(usize) -> Option<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (path, caller, status, body) in recorded {
        let (st, b) = s.call("GET", path, token_for(*caller).as_deref(), None).await;
        if st != *status || (st == 200 && &b != body) {
            out.push(format!(
                "[caller {caller}] {path}\n  before: {status} {body}\n  after:  {st} {b}"
            ));
        }
    }
    out
}

async fn downloads_match(s: &Server, downloads: &[(String, String, Vec<u8>)]) {
    for (url, kind, bytes) in downloads {
        let resp = s.client.get(format!("{}{url}", s.base)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{} {url}", s.base);
        let got = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert_eq!(&got, kind, "{} {url}", s.base);
        assert_eq!(resp.bytes().await.unwrap().to_vec(), *bytes, "{url}");
    }
}

fn export(dir: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "export".to_owned(),
        "pocketbase".into(),
        out.to_str().unwrap().into(),
        "--dir".into(),
        dir.to_str().unwrap().into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

async fn run(args: &[String]) -> (i32, String, String) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_cairn(&args, &[]).await
}

#[tokio::test]
async fn a_cairn_folder_moves_to_pocketbase_and_back() {
    let Some(bin) = required_pocketbase() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cairn_data");
    let (code, out, err) = run_cairn(
        &[
            "superuser",
            "upsert",
            "root@example.com",
            "root-pass-123",
            "--dir",
            data.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    let mut serve = spawn_serve(&data, &[]).await;
    let mut cairn = Server {
        base: format!("http://{}", serve.addr),
        client: reqwest::Client::new(),
        superuser: String::new(),
    };
    cairn.superuser = login(&cairn, "_superusers", "root@example.com", "root-pass-123").await;
    // The test signs in faster than people do (tests/api/rate_limit.rs
    // covers the limiter).
    cairn
        .admin(
            "PATCH",
            "/api/settings",
            json!({"rateLimits": {"excludedIPs": ["127.0.0.1"]}}),
        )
        .await;
    let users = seed(&cairn).await;
    let files = seed_more(&cairn).await;
    assert_eq!(files.len(), 4);
    // As an account imported from PocketBase keeps it until it signs in.
    let hash = bcrypt::hash("pass-word-3", 4).unwrap();
    rusqlite::Connection::open(data.join("data.db"))
        .unwrap()
        .execute(
            "UPDATE users SET password = ?1 WHERE id = 'useruuuuubcrypt'",
            [&hash],
        )
        .unwrap();
    let superuser = cairn.superuser.clone();
    let token_for = move |caller: usize| match caller {
        0 => Some(superuser.clone()),
        1 => None,
        n => Some(users[n - 2].clone()),
    };

    let mut recorded = Recorded::new();
    for (path, caller) in cases() {
        let (status, body) = cairn.call("GET", &path, token_for(caller).as_deref(), None).await;
        assert!(status < 500, "{path}: {status}");
        recorded.push((path, caller, status, body));
    }
    let mut downloads = Vec::new();
    for path in &files {
        let url = format!("/api/files/docs/{path}");
        let resp = cairn
            .client
            .get(format!("{}{url}", cairn.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        let kind = resp.headers()["content-type"].to_str().unwrap().to_owned();
        downloads.push((url, kind, resp.bytes().await.unwrap().to_vec()));
    }

    // Exported while Cairn runs.
    let pb_data = dir.path().join("pb_data");
    let (code, out, err) = run(&export(&data, &pb_data, &[])).await;
    assert_eq!(code, 0, "{out}\n{err}");
    // people, projects, tasks, docs, the view, users, _superusers, _externalAuths.
    assert!(out.contains("Exported 8 collections"), "{out}");
    // people 5, projects 4, tasks 6, users 3, docs 2, a superuser, a link.
    assert!(
        out.contains("22 records (4 accounts, 1 of them superusers; 1 OAuth2 links), 4 files"),
        "{out}"
    );
    for who in [
        "users: one@example.com",
        "users: two@example.com",
        "_superusers: root@example.com",
    ] {
        assert!(out.contains(&format!("  - {who}\n")), "{who} must reset: {out}");
    }
    assert!(!out.contains("three@example.com"), "a bcrypt hash carries: {out}");
    assert!(out.contains("refresh-token sessions"), "{out}");
    assert!(out.contains("request logs (pass --logs"), "{out}");
    // With --logs, the request log goes too, entry for entry, ids and all
    // (read from Cairn's `_logs` view into PocketBase's table).
    let entries = |db: &Path| -> std::collections::BTreeSet<(String, String, i64, String, String)> {
        let conn =
            rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let mut stmt = conn
            .prepare("SELECT id, created, level, message, json(data) FROM _logs")
            .unwrap();
        stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    };
    let before = entries(&data.join("auxiliary.db"));
    let pb_logs = dir.path().join("pb_logs");
    let (code, out, err) = run(&export(&data, &pb_logs, &["--logs"])).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let exported = entries(&pb_logs.join("auxiliary.db"));
    let after = entries(&data.join("auxiliary.db"));
    assert!(
        before.len() > 10,
        "the requests above were logged: {}",
        before.len()
    );
    assert!(exported.is_superset(&before) && exported.is_subset(&after));
    assert!(
        out.contains(&format!("{} request logs in", exported.len())),
        "{out}"
    );
    serve.signal("TERM");
    serve.wait_exit(Duration::from_secs(20)).await;

    let (mut child, base) = serve_pocketbase(&bin, &pb_data).await;
    let pb = Server {
        base,
        client: reqwest::Client::new(),
        superuser: cairn.superuser.clone(),
    };
    // Every answer as Cairn gave it, asked with the tokens Cairn issued.
    let disagreements = compare(&pb, &recorded, &token_for).await;
    assert!(
        disagreements.is_empty(),
        "{} of {} disagree:\n{}",
        disagreements.len(),
        recorded.len(),
        disagreements.join("\n")
    );
    downloads_match(&pb, &downloads).await;
    // The bcrypt account signs in with its password; an argon2id one
    // cannot (the control), as the summary said.
    login(&pb, "users", "three@example.com", "pass-word-3").await;
    let (status, _) = pb
        .call(
            "POST",
            "/api/collections/users/auth-with-password",
            None,
            Some(json!({"identity": "one@example.com", "password": "pass-word-1"})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, settings) = pb.call("GET", "/api/settings", Some(&pb.superuser), None).await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["meta"]["appName"], "Leaving app");
    assert_eq!(settings["smtp"]["host"], "smtp.example.org");
    assert_eq!(settings["smtp"]["port"], 2525);
    let (status, users_collection) = pb
        .call("GET", "/api/collections/users", Some(&pb.superuser), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        users_collection["oauth2"]["providers"][0]["clientId"],
        "client-123"
    );
    // A write works on the export (PocketBase's own tables are whole).
    let (status, body) = pb
        .call(
            "POST",
            "/api/collections/people/records",
            Some(&pb.superuser),
            Some(json!({"name": "Zed"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let zed = format!("/api/collections/people/records/{}", body["id"].as_str().unwrap());
    let (status, _) = pb.call("DELETE", &zed, Some(&pb.superuser), None).await;
    assert_eq!(status, 204);
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-s", "TERM", &pid])
        .status()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .unwrap()
        .unwrap();

    // And back: the export imports into Cairn with the same answers.
    let back = dir.path().join("back");
    let (code, out, err) = run_cairn(
        &[
            "import",
            "pocketbase",
            pb_data.to_str().unwrap(),
            "--dir",
            back.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{out}\n{err}");
    let mut serve = spawn_serve(&back, &[]).await;
    let mut again = Server {
        base: format!("http://{}", serve.addr),
        client: reqwest::Client::new(),
        superuser: String::new(),
    };
    // Cairn's own tokens name their session, which does not carry (the
    // summary says so): every account signs in again, argon2id hashes
    // included, as they came back unchanged.
    again.superuser = login(&again, "_superusers", "root@example.com", "root-pass-123").await;
    let fresh = [
        login(&again, "users", "one@example.com", "pass-word-1").await,
        login(&again, "users", "two@example.com", "pass-word-1").await,
    ];
    let superuser = again.superuser.clone();
    let token_for = move |caller: usize| match caller {
        0 => Some(superuser.clone()),
        1 => None,
        n => Some(fresh[n - 2].clone()),
    };
    let disagreements = compare(&again, &recorded, &token_for).await;
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    downloads_match(&again, &downloads).await;
    login(&again, "users", "three@example.com", "pass-word-3").await;
    serve.signal("TERM");
    serve.wait_exit(Duration::from_secs(20)).await;
}

fn leftovers(parent: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(parent)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(".export-"))
        .collect()
}

#[tokio::test]
async fn bad_input_is_refused_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cairn_data");
    let (code, ..) = run_cairn(&["migrate", "up", "--dir", data.to_str().unwrap()], &[]).await;
    assert_eq!(code, 0);

    // The output is a file.
    let file = dir.path().join("a_file");
    std::fs::write(&file, b"x").unwrap();
    let (code, _, err) = run(&export(&data, &file, &[])).await;
    assert_ne!(code, 0);
    assert!(err.contains("is a file"), "{err}");

    // Not empty, without --force; then with it, replaced.
    let full = dir.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("keep.txt"), b"mine").unwrap();
    let (code, _, err) = run(&export(&data, &full, &[])).await;
    assert_ne!(code, 0);
    assert!(err.contains("is not empty") && err.contains("--force"), "{err}");
    assert!(full.join("keep.txt").is_file(), "left as it was");
    let (code, out, err) = run(&export(&data, &full, &["--force"])).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(!full.join("keep.txt").exists() && full.join("data.db").is_file());

    // Not a Cairn folder: an empty folder, and a PocketBase one.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (code, _, err) = run(&export(&empty, &dir.path().join("o1"), &[])).await;
    assert_ne!(code, 0);
    assert!(
        err.contains("not a Cairn data folder") && err.contains("no data.db"),
        "{err}"
    );
    let (code, _, err) = run(&export(&full, &dir.path().join("o2"), &[])).await;
    assert_ne!(code, 0);
    assert!(
        err.contains("not a Cairn data folder") && err.contains("import pocketbase"),
        "{err}"
    );
    // Inside the data folder itself.
    let (code, _, err) = run(&export(&data, &data.join("pb"), &[])).await;
    assert_ne!(code, 0);
    assert!(err.contains("overlap"), "{err}");

    for gone in ["o1", "o2"] {
        assert!(!dir.path().join(gone).exists(), "{gone}");
    }
    assert!(leftovers(dir.path()).is_empty(), "{:?}", leftovers(dir.path()));
}
