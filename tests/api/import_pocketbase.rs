//! `cairn import pocketbase`, end to end through the real binaries: a
//! PocketBase 0.40 folder is populated over its API, read while
//! PocketBase still runs (and left unchanged), imported once PocketBase
//! has stopped, and the imported Cairn must answer every recorded request
//! exactly as PocketBase did, with the tokens PocketBase issued.
//!
//! Needs PocketBase (`POCKETBASE_BIN`); skipped, saying so, without it.

use std::{path::Path, time::Duration};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    differential::{FILTERS, Server, login, required_pocketbase, seed, start_pocketbase, urlencode},
    helpers::{run_cairn, spawn_serve},
};

/// A file collection with two records and three files, an OAuth2 link,
/// an OAuth2 provider with its secret, a view, SMTP settings.
async fn seed_more(pb: &Server) -> Vec<String> {
    pb.admin(
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
        let resp = pb
            .client
            .post(format!("{}/api/collections/docs/records", pb.base))
            .header("authorization", &pb.superuser)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let record: Value = resp.json().await.unwrap();
        let mut stored: Vec<String> = vec![record["cover"].as_str().unwrap().to_owned()];
        stored.extend(
            (record["attachments"].as_array().unwrap().iter()).map(|v| v.as_str().unwrap().to_owned()),
        );
        for name in stored.into_iter().filter(|n| !n.is_empty()) {
            files.push(format!("{id}/{name}"));
        }
    }
    pb.admin(
        "POST",
        "/api/collections",
        json!({"name": "open_tasks", "type": "view", "listRule": "", "viewRule": "",
               "viewQuery": "SELECT id, title, priority FROM tasks WHERE done = false"}),
    )
    .await;
    pb.admin(
        "POST",
        "/api/collections/_externalAuths/records",
        json!({"collectionRef": "_pb_users_auth_", "recordRef": "useruuuuuuuone1",
               "provider": "gitlab", "providerId": "gl-4242"}),
    )
    .await;
    pb.admin(
        "PATCH",
        "/api/collections/users",
        json!({"oauth2": {"enabled": true, "providers": [
            {"name": "google", "clientId": "client-123", "clientSecret": "oauth-secret-456"},
            {"name": "gitlab", "clientId": "client-9", "clientSecret": "gitlab-secret"}
        ]}}),
    )
    .await;
    pb.admin(
        "PATCH",
        "/api/settings",
        json!({"meta": {"appName": "Moved app"},
               "smtp": {"enabled": true, "host": "smtp.example.org", "port": 2525,
                        "username": "mailer", "password": "smtp-secret-789"}}),
    )
    .await;
    files
}

fn digest(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for name in ["data.db", "data.db-wal", "auxiliary.db"] {
        if let Ok(bytes) = std::fs::read(dir.join(name)) {
            out.push((name.to_owned(), hex::encode(Sha256::digest(&bytes))));
        }
    }
    out
}

/// The requests both servers must answer alike: (path, caller) where the
/// caller is 0 superuser, 1 guest, 2 and 3 the two users.
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
        "/api/collections/people/records/peoplecaro00003",
        "/api/collections/docs/records?sort=id&expand=owner",
        "/api/collections/docs/records/docsaaaaaaaaaa1",
        "/api/collections/open_tasks/records?sort=id",
        "/api/collections/users/records?sort=id",
        "/api/collections/_superusers/records",
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

#[tokio::test]
async fn a_pocketbase_folder_moves_over_and_answers_alike() {
    let Some(bin) = required_pocketbase() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pb_data = dir.path().join("pb_data");
    let (mut child, pb) = start_pocketbase(&bin, dir.path()).await;
    let users = seed(&pb).await;
    let files = seed_more(&pb).await;
    let token_for = |caller: usize| match caller {
        0 => Some(pb.superuser.clone()),
        1 => None,
        n => Some(users[n - 2].clone()),
    };

    // What PocketBase answers, recorded.
    let mut recorded = Vec::new();
    for (path, caller) in cases() {
        let (status, body) = pb.call("GET", &path, token_for(caller).as_deref(), None).await;
        assert!(status < 500, "{path}: {status}");
        recorded.push((path, caller, status, body));
    }
    let mut downloads = Vec::new();
    for path in &files {
        let url = format!("/api/files/docs/{path}");
        let bytes = pb.client.get(format!("{}{url}", pb.base)).send().await.unwrap();
        assert_eq!(bytes.status(), 200, "{url}");
        let kind = bytes.headers()["content-type"].clone();
        downloads.push((url, kind, bytes.bytes().await.unwrap()));
    }
    assert_eq!(downloads.len(), 4);

    // Read while PocketBase runs: it works and changes nothing.
    let before = digest(&pb_data);
    let live = dir.path().join("from_live");
    let (code, out, err) = run_cairn(
        &[
            "import",
            "pocketbase",
            pb_data.to_str().unwrap(),
            "--dir",
            live.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{out}\n{err}");
    // Everything, though PocketBase's latest writes may sit in its WAL.
    assert!(out.contains(" 21 records"), "{out}");
    assert_eq!(digest(&pb_data), before, "the source was not changed");

    // Stop PocketBase the way an operator would, then move.
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-s", "TERM", &pid])
        .status()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("PocketBase stopped")
        .unwrap();
    let target = dir.path().join("cairn_data");
    let (code, out, err) = run_cairn(
        &[
            "import",
            "pocketbase",
            pb_data.to_str().unwrap(),
            "--dir",
            target.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{out}\n{err}");
    // 6 collections of the seed, docs and the view, _superusers and _externalAuths.
    assert!(out.contains("Imported 8 collections"), "{out}");
    // people 5, projects 4, tasks 6, users 2, docs 2, a superuser, a link.
    assert!(
        out.contains("21 records (3 accounts, 1 of them superusers; 1 OAuth2 links), 4 files"),
        "{out}"
    );
    assert!(
        out.contains("Not carried:")
            && out.contains("request logs (auxiliary.db; pass --logs to carry them)"),
        "{out}"
    );
    // With --logs, PocketBase's request log comes too, entry for entry.
    let with_logs = dir.path().join("with_logs");
    let (code, out_logs, err) = run_cairn(
        &[
            "import",
            "pocketbase",
            pb_data.to_str().unwrap(),
            "--dir",
            with_logs.to_str().unwrap(),
            "--logs",
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{out_logs}\n{err}");
    let count = |db: &std::path::Path| -> i64 {
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap()
            .query_row("SELECT count(*) FROM _logs", [], |r| r.get(0))
            .unwrap()
    };
    let pb_logs = count(&pb_data.join("auxiliary.db"));
    assert!(pb_logs > 0, "PocketBase logged the seeding requests");
    assert_eq!(count(&with_logs.join("auxiliary.db")), pb_logs);
    // Entry for entry: the same times, levels, messages and data (the ids
    // are Cairn's own, read from its time-ordered key).
    let entries = |db: &std::path::Path| -> Vec<(String, i64, String, String)> {
        let conn =
            rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let mut stmt = conn
            .prepare("SELECT created, level, message, json(data) FROM _logs ORDER BY created, level, message, data")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(
        entries(&with_logs.join("auxiliary.db")),
        entries(&pb_data.join("auxiliary.db"))
    );
    assert!(
        out_logs.contains(&format!("Carried {pb_logs} request log entries.")),
        "{out_logs}"
    );
    assert!(!out_logs.contains("pass --logs"), "{out_logs}");
    // Every provider PocketBase 0.40 offers moves, GitLab's included.
    assert!(!out.contains("OAuth2 provider"), "{out}");
    assert!(
        !out.contains("no record names"),
        "every stored file is carried: {out}"
    );

    let mut serve = spawn_serve(&target, &[]).await;
    let cairn = Server {
        base: format!("http://{}", serve.addr),
        client: reqwest::Client::new(),
        superuser: pb.superuser.clone(),
    };

    // Every answer as PocketBase gave it, timestamps included, asked with
    // the tokens PocketBase issued.
    let mut disagreements = Vec::new();
    for (path, caller, status, body) in &recorded {
        let (s, b) = cairn.call("GET", path, token_for(*caller).as_deref(), None).await;
        // Error wording is not part of the move (the differential suite
        // compares only statuses there too); answers are compared whole.
        let same = s == *status && (s != 200 || &b == body);
        if !same {
            disagreements.push(format!(
                "[caller {caller}] {path}\n  pocketbase: {status} {body}\n  cairn:      {s} {b}"
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} disagree:\n{}",
        disagreements.len(),
        recorded.len(),
        disagreements.join("\n")
    );
    for (url, kind, bytes) in &downloads {
        let resp = cairn
            .client
            .get(format!("{}{url}", cairn.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        assert_eq!(&resp.headers()["content-type"], kind, "{url}");
        assert_eq!(&resp.bytes().await.unwrap(), bytes, "{url}");
    }

    // PocketBase's token refreshes on Cairn: the user stays signed in.
    let (status, body) = cairn
        .call(
            "POST",
            "/api/collections/users/auth-refresh",
            Some(&users[0]),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["record"]["id"], "useruuuuuuuone1");
    // Control: a token signed with another key is refused.
    let forged = format!("{}x", &users[0][..users[0].len() - 1]);
    let (status, _) = cairn
        .call("POST", "/api/collections/users/auth-refresh", Some(&forged), None)
        .await;
    assert_eq!(status, 401);

    // The old passwords sign in; bcrypt becomes argon2id, which signs in too.
    for (collection, email, password) in [
        ("users", "one@example.com", "pass-word-1"),
        ("users", "two@example.com", "pass-word-1"),
        ("_superusers", "root@example.com", "root-pass-123"),
    ] {
        login(&cairn, collection, email, password).await;
    }
    let (status, _) = cairn
        .call(
            "POST",
            "/api/collections/users/auth-with-password",
            None,
            Some(json!({"identity": "one@example.com", "password": "not-the-password"})),
        )
        .await;
    assert_eq!(status, 400);

    // Settings and the OAuth2 provider's secret came along.
    let (status, settings) = cairn
        .call("GET", "/api/settings", Some(&pb.superuser), None)
        .await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["meta"]["appName"], "Moved app");
    assert_eq!(settings["smtp"]["host"], "smtp.example.org");
    assert_eq!(settings["smtp"]["port"], 2525);
    serve.signal("TERM");
    serve.wait_exit(Duration::from_secs(20)).await;
    let conn = rusqlite::Connection::open(target.join("data.db")).unwrap();
    let (smtp_password, hash): (String, String) = conn
        .query_row(
            "SELECT json_extract(p.value, '$.smtp.password'), u.password FROM _params p, users u
             WHERE p.id = 'settings' AND u.id = 'useruuuuuuuone1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(smtp_password, "smtp-secret-789");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let secrets: (String, String, String) = conn
        .query_row(
            "SELECT json_extract(options, '$.oauth2.providers[0].clientSecret'),
                    json_extract(options, '$.oauth2.providers[1].name'),
                    json_extract(options, '$.oauth2.providers[1].clientSecret')
             FROM _collections WHERE name = 'users'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        secrets,
        ("oauth-secret-456".into(), "gitlab".into(), "gitlab-secret".into())
    );
}
