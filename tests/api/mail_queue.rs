//! Mail on the durable job queue: a message the API answered for is sent
//! even if the mail server is down for a while, and even if the server is
//! killed between its answer and the SMTP conversation.

use std::time::Duration;

use serde_json::json;
use tokio::net::TcpListener;

use crate::{
    helpers::{json, run_cairn, spawn_app_with, spawn_serve},
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

    // The job fails and is retried while nothing listens.
    let mut retried = None;
    for _ in 0..100 {
        let jobs = mail_jobs(&app.state).await;
        if let Some(j) = jobs.iter().find(|j| j.attempts >= 2) {
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
    let data_arg = data.to_str().unwrap();
    let (code, _, err) = run_cairn(
        &[
            "superuser",
            "upsert",
            "root@example.com",
            "pass-word-1",
            "--dir",
            data_arg,
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let mut server = spawn_serve(&data, &[]).await;
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    let auth = json(
        client
            .post(format!("{base}/api/collections/_superusers/auth-with-password"))
            .json(&json!({"identity": "root@example.com", "password": "pass-word-1"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let token = auth["token"].as_str().unwrap().to_owned();
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
