//! Mail on the durable job queue: a message the API answered for is sent
//! even if the mail server is down for a while, and even if the server is
//! killed between its answer and the SMTP conversation.

use std::time::Duration;

use serde_json::json;
use tokio::net::TcpListener;

use crate::{
    helpers::{json, serve, spawn_app_with, spawn_serve},
    mail::{smtp_sink_on, use_smtp},
};

/// A port that was free a moment ago (nothing listens there now).
async fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn mail_jobs(state: &cairn::AppState) -> Vec<cairn::jobs::JobRow> {
    state
        .store
        .data
        .read(|c| -> Result<_, cairn::store::StoreError> {
            Ok(cairn::jobs::list(c, cairn::mail::JOB_KIND, None, 10, None)?)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn mail_waits_while_the_smtp_server_is_down_and_goes_out_when_it_is_back() {
    let app = spawn_app_with(|c| {
        c.jobs.retry_base = Duration::from_millis(100);
        c.jobs.retry_cap = Duration::from_millis(300);
        c.jobs.poll = Duration::from_millis(50);
    })
    .await;
    app.sign_up("later@example.com", "pass-word-1").await;
    let port = free_port().await;
    use_smtp(&app, port).await;
    let resp = app
        .call(
            "POST",
            "/api/collections/users/request-password-reset",
            None,
            Some(json!({"email": "later@example.com"})),
        )
        .await;
    assert_eq!(
        resp.status(),
        204,
        "the caller is not told the mail server is down"
    );

    // The job fails and is retried while nothing listens (an attempt
    // counts from its start: the second must have ended too).
    let mut retried = None;
    for _ in 0..100 {
        let jobs = mail_jobs(&app.state).await;
        let running = app.state.jobs.running_ids();
        if let Some(j) = jobs.iter().find(|j| j.attempts >= 2 && !running.contains(&j.id)) {
            retried = Some(j.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let retried = retried.expect("the mail job was tried at least twice");
    assert_eq!(retried.status, cairn::jobs::Status::Pending, "{retried:?}");
    assert!(!retried.last_error.is_empty(), "the failure is kept: {retried:?}");
    assert!(
        !retried.last_error.contains("later@example.com"),
        "the error does not name the recipient: {}",
        retried.last_error
    );

    // The mail server comes back on the same port: the message arrives.
    let (_, mut received) = smtp_sink_on(TcpListener::bind(("127.0.0.1", port)).await.unwrap());
    let data = tokio::time::timeout(Duration::from_secs(10), received.recv())
        .await
        .expect("the mail arrived once the server was back")
        .unwrap()
        .replace("=\n", "");
    assert!(data.contains("To: later@example.com"), "{data}");
    assert!(data.contains("confirm-password-reset"), "{data}");
    for _ in 0..100 {
        if mail_jobs(&app.state).await[0].status == cairn::jobs::Status::Done {
            // The metrics saw the failures and the success.
            let text = cairn::http::metrics::render(&app.state);
            assert!(
                text.contains(r#"cairn_job_attempts_total{kind="mail",outcome="done"} 1"#),
                "{text}"
            );
            assert!(
                text.contains(r#"cairn_job_attempts_total{kind="mail",outcome="retry"}"#),
                "{text}"
            );
            assert!(!text.contains(r#"outcome="dead""#), "{text}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the job was not marked done: {:?}", mail_jobs(&app.state).await);
}

/// A mail server that accepts connections and never says a word: the
/// job that talks to it stays running.
async fn silent_smtp(listener: TcpListener, connected: tokio::sync::mpsc::UnboundedSender<()>) {
    let mut held = Vec::new();
    while let Ok((socket, _)) = listener.accept().await {
        held.push(socket);
        connected.send(()).ok();
    }
}

#[tokio::test]
async fn mail_answered_for_before_a_crash_is_sent_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut server, token) = serve(&data, &[]).await;
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{base}/api/collections/users/records"))
        .json(&json!({"email": "crash@example.com", "password": "pass-word-1", "passwordConfirm": "pass-word-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);

    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let (connected, mut connections) = tokio::sync::mpsc::unbounded_channel();
    let hold = tokio::spawn(silent_smtp(silent, connected));
    let smtp = json!({"smtp": {"enabled": true, "host": "127.0.0.1", "port": port},
                      "meta": {"senderAddress": "noreply@example.com"}});
    let patched = client
        .patch(format!("{base}/api/settings"))
        .header("Authorization", &token)
        .json(&smtp)
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let resp = client
        .post(format!("{base}/api/collections/users/request-verification"))
        .json(&json!({"email": "crash@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    // The worker is in the SMTP conversation: kill the server now.
    tokio::time::timeout(Duration::from_secs(10), connections.recv())
        .await
        .expect("the worker connected to the mail server")
        .unwrap();
    server.signal("KILL");
    server.wait_exit(Duration::from_secs(10)).await;
    hold.abort();
    let _ = hold.await;

    // A working mail server on the same port, and the server back.
    let (_, mut received) = smtp_sink_on(TcpListener::bind(("127.0.0.1", port)).await.unwrap());
    let _server = spawn_serve(&data, &[]).await;
    let mail = tokio::time::timeout(Duration::from_secs(15), received.recv())
        .await
        .expect("the mail was sent after the restart")
        .unwrap()
        .replace("=\n", "");
    assert!(mail.contains("To: crash@example.com"), "{mail}");
    assert!(mail.contains("confirm-verification"), "{mail}");
    // Sent once: nothing else arrives.
    let again = tokio::time::timeout(Duration::from_secs(2), received.recv()).await;
    assert!(again.is_err(), "a second copy arrived: {again:?}");
}

/// A mail server that refuses every recipient for good (550).
async fn refusing_smtp() -> u16 {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 refuser\r\n").await.ok();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("RCPT") {
                        b"550 no such mailbox\r\n"
                    } else if upper.starts_with("QUIT") {
                        b"221 bye\r\n"
                    } else {
                        b"250 ok\r\n"
                    };
                    write.write_all(reply).await.ok();
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn superusers_see_jobs_given_up_and_try_them_again() {
    let app = spawn_app_with(|c| c.jobs.poll = Duration::from_millis(50)).await;
    app.sign_up("refused@example.com", "pass-word-1").await;
    let (_, user) = app.sign_up("someone@example.com", "pass-word-1").await;
    let su = app.superuser_token().await;
    use_smtp(&app, refusing_smtp().await).await;
    let resp = app
        .call(
            "POST",
            "/api/collections/users/request-verification",
            None,
            Some(json!({"email": "refused@example.com"})),
        )
        .await;
    assert_eq!(resp.status(), 204);

    // A permanent refusal is not retried: the job is dead at once.
    let mut summary = json!(null);
    for _ in 0..100 {
        summary = json(app.call("GET", "/api/jobs", Some(&su), None).await).await;
        if summary["dead"].as_array().is_some_and(|d| !d.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dead = &summary["dead"][0];
    assert_eq!(dead["kind"], "mail", "{summary}");
    assert_eq!(dead["attempts"], 1, "{summary}");
    assert!(dead["lastError"].as_str().unwrap().contains("550"), "{summary}");
    assert_eq!(summary["kinds"][0]["dead"], 1, "{summary}");
    let text = summary.to_string();
    assert!(
        !text.contains("refused@example.com"),
        "no recipient shown: {text}"
    );
    assert!(!text.contains("confirm-verification"), "no payload shown: {text}");
    let id = dead["id"].as_i64().unwrap();
    let retry = format!("/api/jobs/{id}/retry");

    // Negative paths: a guest, an account, no such job, not a number.
    crate::helpers::assert_envelope(app.call("GET", "/api/jobs", None, None).await, 401).await;
    crate::helpers::assert_envelope(app.call("GET", "/api/jobs", Some(&user), None).await, 403).await;
    crate::helpers::assert_envelope(app.call("POST", &retry, None, None).await, 401).await;
    crate::helpers::assert_envelope(app.call("POST", &retry, Some(&user), None).await, 403).await;
    crate::helpers::assert_envelope(
        app.call("POST", "/api/jobs/999999/retry", Some(&su), None).await,
        404,
    )
    .await;
    crate::helpers::assert_envelope(
        app.call("POST", "/api/jobs/abc/retry", Some(&su), None).await,
        400,
    )
    .await;

    // Fixed: the mail server is a working one now; the retry delivers.
    let (port, mut received) = crate::mail::smtp_sink().await;
    use_smtp(&app, port).await;
    let resp = app.call("POST", &retry, Some(&su), None).await;
    assert_eq!(resp.status(), 204);
    let mail = tokio::time::timeout(Duration::from_secs(10), received.recv())
        .await
        .expect("the retried mail arrived")
        .unwrap();
    assert!(mail.contains("To: refused@example.com"), "{mail}");
}
