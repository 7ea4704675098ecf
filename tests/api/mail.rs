//! Mail over real SMTP: a few-line SMTP sink on loopback receives what
//! Cairn sends when `settings.smtp` is enabled. Also: bcrypt hashes from
//! PocketBase, and `manageRule`.

use std::time::Duration;

use serde_json::json;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
    sync::mpsc,
};

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

/// Accepts SMTP sessions on 127.0.0.1 and hands each message's DATA over.
pub(crate) async fn smtp_sink() -> (u16, mpsc::UnboundedReceiver<String>) {
    smtp_sink_on(TcpListener::bind("127.0.0.1:0").await.unwrap())
}

/// `smtp_sink` on a socket already bound (to a port chosen earlier).
pub(crate) fn smtp_sink_on(listener: TcpListener) -> (u16, mpsc::UnboundedReceiver<String>) {
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink\r\n").await.ok();
                let (mut data, mut in_data) = (String::new(), false);
                while let Ok(Some(line)) = lines.next_line().await {
                    let reply: &[u8] = if in_data {
                        if line == "." {
                            in_data = false;
                            tx.send(std::mem::take(&mut data)).ok();
                            b"250 queued\r\n"
                        } else {
                            data.push_str(&line);
                            data.push('\n');
                            continue;
                        }
                    } else if line.to_ascii_uppercase().starts_with("DATA") {
                        in_data = true;
                        b"354 go on\r\n"
                    } else if line.to_ascii_uppercase().starts_with("QUIT") {
                        write.write_all(b"221 bye\r\n").await.ok();
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    write.write_all(reply).await.ok();
                }
            });
        }
    });
    (port, rx)
}

/// Turns SMTP on, pointed at 127.0.0.1:`port`.
pub(crate) async fn use_smtp(app: &TestApp, port: u16) {
    app.change_settings(|s| {
        s.smtp.enabled = true;
        s.smtp.host = "127.0.0.1".into();
        s.smtp.port = port;
        s.meta.sender_address = "noreply@example.com".into();
    })
    .await;
}

#[tokio::test]
async fn with_smtp_enabled_mail_goes_over_smtp_not_to_the_outbox() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    app.sign_up("smtp@example.com", "pass-word-1").await;
    let (port, mut received) = smtp_sink().await;
    use_smtp(&app, port).await;

    let resp = app
        .call(
            "POST",
            "/api/collections/users/request-password-reset",
            None,
            Some(json!({"email": "smtp@example.com"})),
        )
        .await;
    assert_eq!(resp.status(), 204);
    let data = tokio::time::timeout(Duration::from_secs(10), received.recv())
        .await
        .expect("the sink got the mail in time")
        .unwrap();
    // Undo quoted-printable's soft line breaks.
    let data = data.replace("=\n", "");
    assert!(data.contains("To: smtp@example.com"), "{data}");
    assert!(data.contains("noreply@example.com"), "{data}");
    assert!(data.contains("confirm-password-reset"), "{data}");
    let page = json(app.call("GET", "/api/mail/outbox", Some(&su), None).await).await;
    assert_eq!(page["totalItems"], 0, "nothing kept in the outbox");
}

#[tokio::test]
async fn an_unreachable_smtp_server_does_not_fail_the_request() {
    let app = spawn_app().await;
    app.sign_up("down@example.com", "pass-word-1").await;
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    use_smtp(&app, port).await;
    let resp = app
        .call(
            "POST",
            "/api/collections/users/request-verification",
            None,
            Some(json!({"email": "down@example.com"})),
        )
        .await;
    assert_eq!(resp.status(), 204);
}

#[tokio::test]
async fn bcrypt_hashes_sign_in_and_are_rehashed_to_argon2id() {
    let app = spawn_app().await;
    let (id, _) = app.sign_up("old@example.com", "pass-word-1").await;
    let imported = bcrypt::hash("imported-pass-1", 4).unwrap();
    let (id2, hash) = (id.clone(), imported.clone());
    app.state
        .store
        .data
        .write(move |tx| {
            tx.execute("UPDATE users SET password = ?1 WHERE id = ?2", [&hash, &id2])?;
            Ok::<_, cairn::store::StoreError>(())
        })
        .await
        .unwrap();
    let sign_in = |password: &'static str| app.sign_in("users", "old@example.com", password);
    assert_envelope(sign_in("wrong-pass-1").await, 400).await;
    assert_eq!(sign_in("imported-pass-1").await.status(), 200);
    let stored: String = app
        .state
        .store
        .data
        .read(move |conn| {
            conn.query_row("SELECT password FROM users WHERE id = ?1", [&id], |r| r.get(0))
                .map_err(cairn::store::StoreError::from)
        })
        .await
        .unwrap();
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert_eq!(sign_in("imported-pass-1").await.status(), 200);
}

#[tokio::test]
async fn manage_rule_lets_its_matches_manage_other_accounts() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    let (_, manager) = app.sign_up("boss@example.com", "pass-word-1").await;
    let (other_id, other) = app.sign_up("staff@example.com", "pass-word-1").await;
    let rules = json!({
        "updateRule": "id = @request.auth.id || @request.auth.email = 'boss@example.com'",
        "manageRule": "@request.auth.email = 'boss@example.com'",
    });
    assert_eq!(
        app.call("PATCH", "/api/collections/users", Some(&su), Some(rules))
            .await
            .status(),
        200
    );
    let path = format!("/api/collections/users/records/{other_id}");

    // Without the rule's blessing, the old password is still required.
    let own = json!({"password": "new-pass-123", "passwordConfirm": "new-pass-123"});
    let body = assert_envelope(app.call("PATCH", &path, Some(&other), Some(own)).await, 400).await;
    assert_eq!(body["data"]["oldPassword"]["code"], "validation_required");

    let managed = json!({"password": "new-pass-123", "passwordConfirm": "new-pass-123", "verified": true, "email": "staff2@example.com"});
    let resp = app.call("PATCH", &path, Some(&manager), Some(managed)).await;
    assert_eq!(resp.status(), 200);
    let record = json(resp).await;
    assert_eq!(record["verified"], true);
    assert_eq!(record["email"], "staff2@example.com");
    let resp = app.sign_in("users", "staff2@example.com", "new-pass-123").await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn settings_are_for_superusers_and_never_echo_the_smtp_password() {
    let app = spawn_app().await;
    let (_, user) = app.sign_up("s@example.com", "pass-word-1").await;
    assert_envelope(app.call("GET", "/api/settings", None, None).await, 401).await;
    assert_envelope(app.call("GET", "/api/settings", Some(&user), None).await, 403).await;
    let patch = json!({"smtp": {"enabled": true}});
    assert_envelope(
        app.call("PATCH", "/api/settings", Some(&user), Some(patch)).await,
        403,
    )
    .await;

    let su = app.superuser_token().await;
    let bad = json!({"smtp": {"port": "not a port"}});
    assert_envelope(
        app.call("PATCH", "/api/settings", Some(&su), Some(bad)).await,
        400,
    )
    .await;
    let patch = json!({"smtp": {"enabled": true, "host": "127.0.0.1", "port": 2525, "password": "s3cret"}});
    let resp = app.call("PATCH", "/api/settings", Some(&su), Some(patch)).await;
    assert_eq!(resp.status(), 200);
    let shown = json(resp).await;
    assert_eq!(shown["smtp"]["port"], 2525);
    assert!(shown["smtp"].get("password").is_none(), "{shown}");
    assert_eq!(shown["meta"]["appName"], "Acme", "untouched groups stay");
    let live = app.state.settings.get();
    assert!(live.smtp.enabled);
    assert_eq!(live.smtp.password, "s3cret");
    let again = json(app.call("GET", "/api/settings", Some(&su), None).await).await;
    assert_eq!(again["smtp"]["host"], "127.0.0.1");
}

#[tokio::test]
async fn with_dev_the_outbox_is_also_printed_to_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = crate::helpers::spawn_serve(dir.path(), &["--dev"]).await;
    let client = reqwest::Client::new();
    let base = format!("http://{}/api/collections/users", server.addr);
    let user =
        json!({"email": "dev@example.com", "password": "pass-word-1", "passwordConfirm": "pass-word-1"});
    let created = client
        .post(format!("{base}/records"))
        .json(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let reset = json!({"email": "dev@example.com"});
    let resp = client
        .post(format!("{base}/request-password-reset"))
        .json(&reset)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let printed = async {
        let mut seen = Vec::new();
        while let Some(line) = server.stdout.next_line().await.unwrap() {
            seen.push(line);
            if seen.last().is_some_and(|l| l.contains("confirm-password-reset/")) {
                return seen;
            }
        }
        panic!("the server's output ended: {seen:?}");
    };
    let seen = tokio::time::timeout(Duration::from_secs(10), printed)
        .await
        .expect("the mail was printed");
    assert!(
        seen.iter().any(|l| l.contains("mail to dev@example.com")),
        "{seen:?}"
    );
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(20)).await, 0);
}
