//! The command line: version, superuser management and migrations, run as
//! the real binary.

use tokio::io::AsyncBufReadExt;

use crate::helpers::{cairn_bin, run_cairn, serve_log_path, spawn_serve};

#[tokio::test]
async fn version_is_printed() {
    let (code, out, _) = run_cairn(&["--version"], &[]).await;
    assert_eq!(code, 0);
    assert_eq!(out.trim(), format!("cairn {}", env!("CARGO_PKG_VERSION")));
}

#[tokio::test]
async fn superuser_upsert_leaves_a_sign_in_ready_record() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();

    // Negative paths first.
    let (code, _, err) = run_cairn(
        &["superuser", "upsert", "not-an-email", "longenough1", "--dir", d],
        &[],
    )
    .await;
    assert_ne!(code, 0);
    assert!(err.contains("email"), "{err}");
    let (code, _, err) = run_cairn(
        &["superuser", "upsert", "root@example.com", "short", "--dir", d],
        &[],
    )
    .await;
    assert_ne!(code, 0);
    assert!(err.contains("password"), "{err}");
    let (code, _, err) = run_cairn(
        &[
            "superuser",
            "update",
            "ghost@example.com",
            "longenough1",
            "--dir",
            d,
        ],
        &[],
    )
    .await;
    assert_ne!(code, 0);
    assert!(err.contains("doesn't exist"), "{err}");

    let (code, out, err) = run_cairn(
        &[
            "superuser",
            "upsert",
            "root@example.com",
            "first-pass-1",
            "--dir",
            d,
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("root@example.com"), "{out}");

    let read = || {
        let conn = rusqlite::Connection::open(dir.path().join("data.db")).unwrap();
        conn.query_row(
            "SELECT id, password, tokenKey, verified, created FROM _superusers WHERE email = 'root@example.com'",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, String>(4)?,
                ))
            },
        )
        .unwrap()
    };
    let (id, hash, token_key, verified, created) = read();
    assert_eq!(id.len(), 15);
    assert!(id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(cairn::identity::password::verify_blocking("first-pass-1", &hash));
    assert!(!cairn::identity::password::verify_blocking("wrong-pass-1", &hash));
    assert_eq!(token_key.len(), 50);
    assert!(verified);
    assert_eq!(created.len(), "2006-01-02 15:04:05.000Z".len());

    // `create` refuses a duplicate; `upsert` changes the password and the
    // token key (revoking old tokens) but keeps the id.
    let (code, _, err) = run_cairn(
        &[
            "superuser",
            "create",
            "root@example.com",
            "other-pass-1",
            "--dir",
            d,
        ],
        &[],
    )
    .await;
    assert_ne!(code, 0);
    assert!(err.contains("unique"), "{err}");
    let (code, _, _) = run_cairn(
        &[
            "superuser",
            "upsert",
            "root@example.com",
            "second-pass-2",
            "--dir",
            d,
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0);
    let (id2, hash2, token_key2, _, _) = read();
    assert_eq!(id2, id);
    assert!(cairn::identity::password::verify_blocking(
        "second-pass-2",
        &hash2
    ));
    assert_ne!(token_key2, token_key);

    let (code, out, _) = run_cairn(&["superuser", "delete", "root@example.com", "--dir", d], &[]).await;
    assert_eq!(code, 0);
    assert!(out.contains("Deleted"), "{out}");
}

#[tokio::test]
async fn superuser_commands_work_while_the_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = spawn_serve(dir.path(), &[]).await;
    let d = dir.path().to_str().unwrap();
    let (code, _, err) = run_cairn(
        &[
            "superuser",
            "create",
            "live@example.com",
            "live-pass-1",
            "--dir",
            d,
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    // The server still serves and sees a consistent database.
    let resp = reqwest::get(format!("http://{}/api/ready", server.addr))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    server.signal("TERM");
    assert_eq!(server.wait_exit(std::time::Duration::from_secs(20)).await, 0);
}

#[tokio::test]
async fn migrate_status_and_up() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, out, err) = run_cairn(&["migrate", "up"], &[("CAIRN_DIR", d)]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("every migration is applied"), "{out}");
    assert!(dir.path().join("data.db").exists(), "CAIRN_DIR is honoured");
    let (code, out, _) = run_cairn(&["migrate", "status", "--dir", d], &[]).await;
    assert_eq!(code, 0);
    assert!(out.contains("applied  data/0001_init.sql"), "{out}");
    assert!(out.contains("applied  auxiliary/0001_init.sql"), "{out}");
    assert!(!out.contains("pending"), "{out}");
}

#[tokio::test]
async fn serve_reads_its_flags_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    // An invalid value from the environment is reported, not ignored.
    let (code, _, err) = run_cairn(&["serve"], &[("CAIRN_DIR", d), ("CAIRN_ORIGINS", "not-a-url")]).await;
    assert_ne!(code, 0);
    assert!(err.contains("--origins"), "{err}");
    let (code, _, err) = run_cairn(&["serve"], &[("CAIRN_DIR", d), ("CAIRN_HTTP", "nonsense")]).await;
    assert_ne!(code, 0);
    assert!(err.to_lowercase().contains("invalid"), "{err}");
}

#[tokio::test]
async fn pocketbase_serve_flags_are_taken_or_refused_saying_what_to_do() {
    // A command line carried over from a PocketBase service file.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let site = dir.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("index.html"), "<p>site</p>").unwrap();
    let d = data.to_str().unwrap();
    // What Cairn will not do is refused before anything starts, each
    // refusal saying what to do instead.
    for (flags, says) in [
        (&["--hooksDir=pb_hooks"][..], "Webhooks"),
        (
            &["--migrationsDir", "pb_migrations"][..],
            "cairn import pocketbase",
        ),
        (&["--encryptionEnv=PB_KEY"][..], "unencrypted"),
        (&["--https=0.0.0.0:443"][..], "TLS proxy"),
        (
            &["example.com", "www.example.com"][..],
            "certificate for example.com",
        ),
    ] {
        let mut args = vec!["serve", "--http", "127.0.0.1:0", "--dir", d];
        args.extend(flags);
        let (code, out, err) = run_cairn(&args, &[]).await;
        assert_ne!(code, 0, "{flags:?}: {out}");
        assert!(
            err.contains("PocketBase") && err.contains(says),
            "{flags:?}: {err}"
        );
        assert!(!data.exists(), "{flags:?} made the data folder");
    }
    // A stray word is no domain: it is refused as clap refuses one.
    let (code, _, err) = run_cairn(&["serve", "--dev", "true", "--dir", d], &[]).await;
    assert_ne!(code, 0);
    assert!(
        err.contains("unexpected argument 'true'") && !err.contains("certificate"),
        "{err}"
    );
    // Its spellings of Cairn's own flags are taken, and flags that change
    // nothing here start the server with a warning.
    let site_arg = site.to_str().unwrap();
    let server = spawn_serve(
        &data,
        &[
            "--publicDir",
            site_arg,
            "--indexFallback=false",
            "--automigrate=false",
            "--queryTimeout=30",
            "--hooksWatch",
            "--hooksPool=8",
        ],
    )
    .await;
    let base = format!("http://{}", server.addr);
    let page = reqwest::get(format!("{base}/")).await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.text().await.unwrap(), "<p>site</p>");
    let routed = reqwest::get(format!("{base}/app/settings")).await.unwrap();
    assert_eq!(
        routed.status(),
        404,
        "--indexFallback=false turns the fallback off"
    );
    let log = std::fs::read_to_string(serve_log_path(&data)).unwrap();
    for flag in ["--automigrate", "--queryTimeout", "--hooksWatch", "--hooksPool"] {
        assert!(
            log.contains(&format!("{flag} is PocketBase's and is ignored")),
            "{log}"
        );
    }
    drop(server);
    // The control: a bare `--indexFallback`, as PocketBase takes it, is on.
    let server = spawn_serve(&data, &["--publicDir", site_arg, "--indexFallback"]).await;
    let routed = reqwest::get(format!("http://{}/app/settings", server.addr))
        .await
        .unwrap();
    assert_eq!(routed.status(), 200);
    assert_eq!(routed.text().await.unwrap(), "<p>site</p>");
}

#[tokio::test]
async fn serve_beside_a_pocketbase_folder_asks_for_the_import_first() {
    // Cairn's binary dropped into PocketBase's folder and started as
    // PocketBase was: an empty server there would look like lost data.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pb_data")).unwrap();
    std::fs::write(dir.path().join("pb_data/data.db"), b"").unwrap();
    let serve = |extra: &[&str]| {
        let mut cmd = tokio::process::Command::new(cairn_bin());
        cmd.args(["serve", "--http", "127.0.0.1:0"])
            .args(extra)
            .current_dir(dir.path())
            .env_remove("CAIRN_DIR")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        cmd
    };
    let out = tokio::time::timeout(std::time::Duration::from_secs(30), serve(&[]).output())
        .await
        .unwrap()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("`cairn import pocketbase ./pb_data` makes ./cairn_data"),
        "{err}"
    );
    assert!(!dir.path().join("cairn_data").exists(), "nothing was made");
    // A folder there already, but without data: the import must replace it.
    std::fs::create_dir(dir.path().join("cairn_data")).unwrap();
    let out = serve(&[]).output().await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("`cairn import pocketbase ./pb_data --force`"),
        "{err}"
    );
    std::fs::remove_dir(dir.path().join("cairn_data")).unwrap();
    // The control: a data folder given on purpose starts empty.
    let mut child = serve(&["--dir", "./cairn_data"]).spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let started = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.starts_with("Server started at") {
                return true;
            }
        }
        false
    })
    .await
    .unwrap();
    assert!(started);
    assert!(dir.path().join("cairn_data/data.db").is_file());
}
