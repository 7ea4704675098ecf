//! Slow and hostile clients are bounded: headers trickled byte by byte,
//! idle keep-alive connections, a client that never reads its answer, and
//! more connections than the server will hold. Each against the real
//! binary with short limits, and a normal request beside it as the
//! positive control.

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{ServeProcess, spawn_serve};

async fn health(server: &ServeProcess) -> u16 {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let resp = client
        .get(format!("http://{}/api/health", server.addr))
        .send()
        .await
        .unwrap();
    resp.status().as_u16()
}

/// Reads until the server closes the connection; how long that took.
async fn closed_within(conn: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(limit, async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
    .map(|()| start.elapsed())
}

#[tokio::test]
async fn trickled_headers_and_idle_connections_are_closed_at_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_serve(dir.path(), &["--header-timeout", "2"]).await;

    // A slowloris: a byte of headers every half second, never finishing.
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    let trickle = async {
        for b in b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa" {
            if slow.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    };
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(8), trickle).await.ok();
    let closed = closed_within(&mut slow, Duration::from_secs(8)).await;
    assert!(closed.is_some(), "a trickling client is cut off");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "within the header timeout, not at leisure"
    );

    // An idle keep-alive connection, after one answered request.
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    idle.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let waited = closed_within(&mut idle, Duration::from_secs(8)).await;
    assert!(
        waited.is_some_and(|w| w >= Duration::from_millis(1500)),
        "{waited:?}"
    );

    // Positive control: a normal client is served all along.
    assert_eq!(health(&server).await, 200);
}

#[tokio::test]
async fn connections_past_the_cap_wait_and_are_served_when_one_closes() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_serve(dir.path(), &["--max-connections", "3"]).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(server.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A fourth connection is taken by the kernel's backlog, not served.
    let mut waiting = TcpStream::connect(server.addr).await.unwrap();
    waiting
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    let early = tokio::time::timeout(Duration::from_secs(1), waiting.read_to_string(&mut answer)).await;
    assert!(early.is_err(), "served past the cap: {answer}");
    // One closes: the waiting one is served.
    drop(held.pop());
    tokio::time::timeout(Duration::from_secs(5), waiting.read_to_string(&mut answer))
        .await
        .expect("served once a connection closed")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_client_that_never_reads_its_answer_is_dropped_at_the_write_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_serve(dir.path(), &["--write-timeout", "2"]).await;
    // The OpenAPI reference page and document are small; ask for the
    // document many times over one connection (pipelined) and never read:
    // the answers fill the socket buffers, then the writes stall.
    let mut conn = TcpStream::connect(server.addr).await.unwrap();
    let request = b"GET /api/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n".repeat(2000);
    let _ = tokio::time::timeout(Duration::from_secs(5), conn.write_all(&request)).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    // By now the server gave up on it: reading drains what was buffered,
    // then meets the end, instead of blocking on answers still to come.
    let mut total = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => total += n,
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the stalled connection was still open after {total} bytes"
    );
    assert_eq!(health(&server).await, 200);
}

/// Sends `head` and then `body` in `pieces` equal parts, `gap` apart;
/// stops sending if the server closes. What the server answered, if it
/// did, and when the connection ended (from the first body byte).
async fn paced_body(server: &ServeProcess, body: &[u8], pieces: usize, gap: Duration) -> (String, Duration) {
    let mut conn = TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /api/collections/users/auth-with-password HTTP/1.1\r\nHost: x\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let (mut rd, mut wr) = conn.into_split();
    let size = body.len().div_ceil(pieces);
    let send = async {
        for piece in body.chunks(size) {
            if wr.write_all(piece).await.is_err() {
                return;
            }
            tokio::time::sleep(gap).await;
        }
        std::future::pending::<()>().await;
    };
    let mut answer = Vec::new();
    let read = rd.read_to_end(&mut answer);
    tokio::select! {
        () = send => unreachable!(),
        _ = tokio::time::timeout(Duration::from_secs(30), read) => {}
    }
    (String::from_utf8_lossy(&answer).into_owned(), started.elapsed())
}

#[tokio::test]
async fn a_body_trickled_to_hold_the_connection_is_cut_but_a_slow_upload_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_serve(dir.path(), &["--header-timeout", "1"]).await;
    let json = br#"{"identity":"nobody@example.com","password":"wrong-password"}"#;

    // Trickled: 60 bytes, one every 200 ms, would take 12 s. The body has
    // a second to start and earns 2 ms per byte: it is cut at about 1.1 s.
    let mut trickled = b" ".repeat(60 - json.len().min(60));
    trickled.extend_from_slice(json);
    let (answer, ended) = paced_body(&server, &trickled, trickled.len(), Duration::from_millis(200)).await;
    assert!(
        ended < Duration::from_secs(4),
        "cut off near its allowance, not after {ended:?}: {answer}"
    );
    assert!(
        !answer.contains("Failed to authenticate"),
        "the body was never read whole, so it was never judged: {answer}"
    );

    // Positive control: 24 KiB over 3 s (8 KiB/s, far above 500 B/s) is
    // slower than the allowance alone but earns its time, and gets the
    // answer its body deserves.
    let mut slow = b" ".repeat(24 * 1024);
    slow.extend_from_slice(json);
    let (answer, ended) = paced_body(&server, &slow, 12, Duration::from_millis(250)).await;
    assert!(ended >= Duration::from_millis(2500), "{ended:?}");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("Failed to authenticate"), "{answer}");
}
