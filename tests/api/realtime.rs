//! `/api/realtime`: the SSE protocol and its limits over real HTTP:
//! connect, subscription errors, slow clients, idle and lifetime limits,
//! shutdown.

use std::time::Duration;

use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpSocket,
};

use crate::{
    helpers::{assert_envelope, spawn_app, spawn_app_with},
    sse::{NoEvent, Sse, next_title, post, posts},
};

#[tokio::test]
async fn the_stream_opens_with_pb_connect_uncompressed_and_unbuffered() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(app.url("/api/realtime"))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(resp.headers()["x-accel-buffering"], "no");
    assert!(
        resp.headers().get("content-encoding").is_none(),
        "events are never compressed"
    );
    let mut sse = Sse {
        resp,
        buf: String::new(),
        client_id: String::new(),
    };
    let first = sse.next().await.unwrap();
    assert_eq!(first.name, "PB_CONNECT");
    assert!(first.id.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(app.state.realtime.len(), 1);
}

#[tokio::test]
async fn bad_subscription_requests_get_clear_errors() {
    let app = spawn_app().await;
    let sse = Sse::open(&app).await;
    let (_, alice) = app.sign_up("alice@example.com", "password123").await;
    let (_, bob) = app.sign_up("bob@example.com", "password123").await;

    let body = assert_envelope(
        app.call("POST", "/api/realtime", None, Some(json!({}))).await,
        400,
    )
    .await;
    assert_eq!(body["data"]["clientId"]["code"], "validation_required");
    let unknown = json!({"clientId": "nope", "subscriptions": []});
    let body = assert_envelope(app.call("POST", "/api/realtime", None, Some(unknown)).await, 404).await;
    assert_eq!(body["message"], "Missing or invalid client id.");
    let garbage = app
        .client
        .post(app.url("/api/realtime"))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_envelope(garbage, 400).await;

    let many: Vec<String> = (0..1001).map(|i| format!("users/*?t={i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let body = assert_envelope(sse.subscribe(&app, None, &many).await, 400).await;
    assert_eq!(
        body["data"]["subscriptions"]["code"],
        "validation_length_too_long"
    );
    assert_eq!(body["data"]["subscriptions"]["params"]["max"], 1000);
    sse.subscribe_ok(&app, None, &many[..1000]).await;

    let long = "x".repeat(2501);
    let body = assert_envelope(sse.subscribe(&app, None, &["users/*", &long]).await, 400).await;
    assert_eq!(
        body["data"]["subscriptions"]["1"]["code"],
        "validation_length_too_long"
    );
    // Unreadable options are kept, as PocketBase keeps them, and the topic
    // never delivers (realtime_topics tests that it does not).
    sse.subscribe_ok(&app, None, &["users/*?options=%7Bnot-json"])
        .await;

    // Guest to signed-in is allowed; then the auth may not change again.
    sse.subscribe_ok(&app, Some(&alice), &["users/*"]).await;
    sse.subscribe_ok(&app, Some(&alice), &["users/*"]).await;
    let body = assert_envelope(sse.subscribe(&app, Some(&bob), &["users/*"]).await, 403).await;
    assert_eq!(
        body["message"],
        "The current and the previous request authorization don't match."
    );
    assert_envelope(sse.subscribe(&app, None, &["users/*"]).await, 403).await;
}

#[tokio::test]
async fn a_client_that_falls_behind_is_disconnected_and_can_reconnect() {
    let app = spawn_app_with(|c| c.realtime.queue = 4).await;
    let admin = posts(&app).await;
    // A raw socket with a tiny receive window that never reads past the
    // headers: the server's socket buffer fills, then the client's queue.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /api/realtime HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut head = vec![0u8; 2048];
    let mut got = String::new();
    while !got.contains("\n\n") || !got.contains("data:") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut head))
            .await
            .unwrap()
            .unwrap();
        got.push_str(&String::from_utf8_lossy(&head[..n]));
    }
    let client_id = got
        .lines()
        .find_map(|l| l.strip_prefix("id:"))
        .unwrap()
        .to_owned();
    let subscribe = json!({"clientId": client_id, "subscriptions": ["posts/*"]});
    assert_eq!(
        app.call("POST", "/api/realtime", None, Some(subscribe.clone()))
            .await
            .status(),
        204
    );

    let mut fast = Sse::open(&app).await;
    fast.subscribe_ok(&app, None, &["posts/*"]).await;
    let big = "x".repeat(400 * 1024);
    let id = post(&app, &admin, "big", true, "").await;
    let path = format!("/api/collections/posts/records/{id}");
    let mut cut_off = false;
    for i in 0..60 {
        let resp = app
            .call(
                "PATCH",
                &path,
                Some(&admin),
                Some(json!({"body": big, "title": format!("v{i}")})),
            )
            .await;
        assert_eq!(resp.status(), 200, "writers are never held up by a slow client");
        // The fast client keeps up, event by event.
        let (_, title) = next_title(&mut fast).await;
        if i == 0 {
            assert_eq!(title, "big");
            assert_eq!(next_title(&mut fast).await.1, "v0");
        } else {
            assert_eq!(title, format!("v{i}"));
        }
        if app.state.realtime.client(&client_id).is_none() {
            cut_off = true;
            break;
        }
    }
    assert!(cut_off, "the slow client was never disconnected");
    let gone = app.call("POST", "/api/realtime", None, Some(subscribe)).await;
    assert_envelope(gone, 404).await;
    // It may come back as a new client.
    let again = Sse::open(&app).await;
    again.subscribe_ok(&app, None, &["posts/*"]).await;
}

#[tokio::test]
async fn idle_and_overlong_streams_are_closed() {
    let app = spawn_app_with(|c| c.realtime.idle_timeout = Duration::from_millis(300)).await;
    let mut idle = Sse::open(&app).await;
    let ended = idle.next_within(Duration::from_secs(5)).await.unwrap_err();
    assert_eq!(ended, NoEvent::Ended);
    let body = json!({"clientId": idle.client_id, "subscriptions": []});
    assert_envelope(app.call("POST", "/api/realtime", None, Some(body)).await, 404).await;

    let app = spawn_app_with(|c| c.realtime.max_lifetime = Duration::from_millis(300)).await;
    let mut old = Sse::open(&app).await;
    assert_eq!(
        old.next_within(Duration::from_secs(5)).await.unwrap_err(),
        NoEvent::Ended
    );
}

#[tokio::test]
async fn shutdown_ends_open_streams_cleanly() {
    let app = spawn_app().await;
    let mut a = Sse::open(&app).await;
    let mut b = Sse::open(&app).await;
    let reader = tokio::spawn(async move {
        (
            a.next_within(Duration::from_secs(20)).await.unwrap_err(),
            b.next_within(Duration::from_secs(20)).await.unwrap_err(),
        )
    });
    // Far below the 30 s shutdown timeout: streams do not hold it up.
    tokio::time::timeout(Duration::from_secs(10), app.shutdown())
        .await
        .expect("shutdown does not wait for event streams");
    assert_eq!(reader.await.unwrap(), (NoEvent::Ended, NoEvent::Ended));
}

#[tokio::test]
async fn the_oauth2_redirect_reaches_the_waiting_client_only() {
    let app = spawn_app().await;
    let location = |resp: &reqwest::Response| resp.headers()["location"].to_str().unwrap().to_owned();
    let failure = "../_/#/auth/oauth2-redirect-failure";

    // No state, an unknown client, a client not waiting for `@oauth2`.
    let none = app.get("/api/oauth2-redirect?code=abc").await;
    assert_eq!((none.status().as_u16(), location(&none)), (307, failure.into()));
    let unknown = app.get("/api/oauth2-redirect?state=nobody&code=abc").await;
    assert_eq!(location(&unknown), failure);
    let mut sse = Sse::open(&app).await;
    let not_waiting = app
        .get(&format!("/api/oauth2-redirect?state={}&code=abc", sse.client_id))
        .await;
    assert_eq!(location(&not_waiting), failure);
    assert_eq!(
        sse.next_within(Duration::from_millis(300)).await.err(),
        Some(NoEvent::TimedOut)
    );

    // The waiting client gets the code; the browser goes to the success page.
    sse.subscribe_ok(&app, None, &["@oauth2"]).await;
    let ok = app
        .get(&format!(
            "/api/oauth2-redirect?state={}&code=the-code",
            sse.client_id
        ))
        .await;
    assert_eq!(
        (ok.status().as_u16(), location(&ok)),
        (307, "../_/#/auth/oauth2-redirect-success".into())
    );
    let event = sse.next().await.unwrap();
    assert_eq!(event.name, "@oauth2");
    assert_eq!(
        event.data,
        json!({"state": sse.client_id, "code": "the-code", "error": ""})
    );

    // A provider's form POST with an error: passed on, and a failure page.
    let denied = app
        .client
        .post(app.url("/api/oauth2-redirect"))
        .form(&[("state", sse.client_id.as_str()), ("error", "access_denied")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        (denied.status().as_u16(), location(&denied)),
        (303, failure.into())
    );
    let event = sse.next().await.unwrap();
    assert_eq!(event.data["error"], "access_denied");
}
