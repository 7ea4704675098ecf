//! Graceful shutdown of the real binary: a stop signal lets in-flight
//! requests finish, refuses new connections, checkpoints the WAL and exits 0.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::spawn_serve;

#[tokio::test]
async fn sigterm_lets_an_in_flight_request_finish_then_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = spawn_serve(dir.path(), &[]).await;

    // Start a request and leave it half-sent: headers and part of the body.
    let body = br#"{"email":"a@b.co","password":"longenough1","passwordConfirm":"longenough1"}"#;
    let mut conn = TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /api/installer/superuser HTTP/1.1\r\nHost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        server.addr,
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&body[..10]).await.unwrap();
    conn.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.signal("TERM");
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The server no longer accepts connections…
    let refused = tokio::time::timeout(Duration::from_secs(2), async {
        match TcpStream::connect(server.addr).await {
            Err(_) => true,
            Ok(mut s) => {
                // Accepted by the kernel backlog at most; never answered.
                let _ = s.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n").await;
                let mut buf = [0u8; 1];
                matches!(s.read(&mut buf).await, Ok(0) | Err(_))
            }
        }
    })
    .await
    .unwrap_or(true);
    assert!(refused, "no new requests are served after the signal");

    // …but the in-flight request completes with a real answer.
    conn.write_all(&body[10..]).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(10), conn.read_to_string(&mut response))
        .await
        .expect("the in-flight request is answered")
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(response.contains("\"status\":401"), "{response}");

    assert_eq!(server.wait_exit(Duration::from_secs(20)).await, 0, "exit code 0");
    let wal = dir.path().join("data.db-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "the WAL is checkpointed into data.db");
}

#[tokio::test]
async fn a_second_signal_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = spawn_serve(dir.path(), &["--shutdown-timeout", "60"]).await;
    // An in-flight request that will never complete on its own.
    let mut conn = TcpStream::connect(server.addr).await.unwrap();
    conn.write_all(b"POST /api/installer/superuser HTTP/1.1\r\nHost: x\r\ncontent-length: 100\r\n\r\n{")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.signal("TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.signal("INT");
    let code = server.wait_exit(Duration::from_secs(5)).await;
    assert_ne!(code, 0, "the forced exit is not reported as clean");
}

#[tokio::test]
async fn in_process_shutdown_waits_for_the_app() {
    let app = crate::helpers::spawn_app().await;
    let addr = app.addr;
    assert_eq!(app.get("/api/health").await.status(), 200);
    let dir = app.shutdown().await;
    assert!(TcpStream::connect(addr).await.is_err(), "listener closed");
    let wal = std::fs::metadata(dir.path().join("data.db-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert_eq!(wal, 0);
}
