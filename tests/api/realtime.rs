//! `/api/realtime`: the SSE stream and its subscriptions, over real HTTP.
//! Events are read off the wire as the SDK's EventSource reads them.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpSocket,
};

use crate::helpers::{TestApp, assert_envelope, spawn_app, spawn_app_with};

/// One server-sent event.
#[derive(Debug)]
struct Event {
    id: String,
    name: String,
    data: Value,
}

/// How reading the next event ended, when no event came.
#[derive(Debug, PartialEq)]
enum NoEvent {
    /// The server ended the stream cleanly.
    Ended,
    TimedOut,
}

/// A realtime connection, read event by event.
struct Sse {
    resp: reqwest::Response,
    buf: String,
    client_id: String,
}

impl Sse {
    async fn open(app: &TestApp) -> Self {
        let resp = app.get("/api/realtime").await;
        assert_eq!(resp.status(), 200);
        let mut sse = Self {
            resp,
            buf: String::new(),
            client_id: String::new(),
        };
        let connect = sse.next().await.expect("PB_CONNECT");
        assert_eq!(connect.name, "PB_CONNECT");
        assert_eq!(
            connect.data["clientId"],
            connect.id.as_str(),
            "the id line carries the client id"
        );
        assert_eq!(connect.id.len(), 40);
        sse.client_id = connect.id;
        sse
    }

    async fn next_within(&mut self, wait: Duration) -> Result<Event, NoEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut name, mut data) = (String::new(), String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        name = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v);
                    }
                }
                let data = serde_json::from_str(&data).unwrap_or_else(|_| panic!("data is JSON: {block:?}"));
                return Ok(Event { id, name, data });
            }
            match tokio::time::timeout_at(deadline, self.resp.chunk()).await {
                Err(_) => return Err(NoEvent::TimedOut),
                Ok(Ok(None)) => return Err(NoEvent::Ended),
                Ok(Ok(Some(bytes))) => self.buf.push_str(std::str::from_utf8(&bytes).unwrap()),
                Ok(Err(e)) => panic!("the stream broke instead of ending cleanly: {e}"),
            }
        }
    }

    async fn next(&mut self) -> Result<Event, NoEvent> {
        self.next_within(Duration::from_secs(5)).await
    }

    async fn subscribe(&self, app: &TestApp, token: Option<&str>, topics: &[&str]) -> reqwest::Response {
        let body = json!({"clientId": self.client_id, "subscriptions": topics});
        app.call("POST", "/api/realtime", token, Some(body)).await
    }

    async fn subscribe_ok(&self, app: &TestApp, token: Option<&str>, topics: &[&str]) {
        let resp = self.subscribe(app, token, topics).await;
        assert_eq!(resp.status(), 204, "{}", resp.text().await.unwrap());
    }
}

/// `posts`: owners see their own posts, everyone sees public ones.
async fn posts(app: &TestApp) -> String {
    let admin = app.superuser_token().await;
    let rule = "owner = @request.auth.id || public = true";
    app.post_ok(
        &admin,
        "/api/collections",
        json!({
            "name": "posts", "type": "base",
            "listRule": rule, "viewRule": rule, "createRule": "", "deleteRule": rule,
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "public", "type": "bool"},
                {"name": "owner", "type": "text"},
                {"name": "body", "type": "editor"}
            ]
        }),
    )
    .await;
    admin
}

async fn post(app: &TestApp, admin: &str, title: &str, public: bool, owner: &str) -> String {
    let body = json!({"title": title, "public": public, "owner": owner});
    app.post_ok(admin, "/api/collections/posts/records", body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The next event's `(action, title)`.
async fn next_title(sse: &mut Sse) -> (String, String) {
    let e = sse.next().await.expect("an event");
    (
        e.data["action"].as_str().unwrap().to_owned(),
        e.data["record"]["title"].as_str().unwrap_or("").to_owned(),
    )
}

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

    let many: Vec<String> = (0..1001).map(|i| format!("t{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let body = assert_envelope(sse.subscribe(&app, None, &many).await, 400).await;
    assert_eq!(
        body["data"]["subscriptions"]["code"],
        "validation_length_too_long"
    );
    assert_eq!(body["data"]["subscriptions"]["params"]["max"], 1000);
    sse.subscribe_ok(&app, None, &many[..1000]).await;

    let long = "x".repeat(2501);
    let body = assert_envelope(sse.subscribe(&app, None, &["posts/*", &long]).await, 400).await;
    assert_eq!(
        body["data"]["subscriptions"]["1"]["code"],
        "validation_length_too_long"
    );
    let bad_options = "posts/*?options=%7Bnot-json";
    let body = assert_envelope(sse.subscribe(&app, None, &[bad_options]).await, 400).await;
    assert_eq!(
        body["data"]["subscriptions"]["0"]["code"],
        "validation_invalid_topic_options"
    );

    // Guest to signed-in is allowed; then the auth may not change again.
    sse.subscribe_ok(&app, Some(&alice), &["posts/*"]).await;
    sse.subscribe_ok(&app, Some(&alice), &["posts/*"]).await;
    let body = assert_envelope(sse.subscribe(&app, Some(&bob), &["posts/*"]).await, 403).await;
    assert_eq!(
        body["message"],
        "The current and the previous request authorization don't match."
    );
    assert_envelope(sse.subscribe(&app, None, &["posts/*"]).await, 403).await;
}

#[tokio::test]
async fn each_subscriber_gets_only_the_records_its_rules_let_it_see() {
    let app = spawn_app().await;
    let admin = posts(&app).await;
    let (alice_id, alice) = app.sign_up("alice@example.com", "password123").await;
    let (_, bob) = app.sign_up("bob@example.com", "password123").await;
    let (mut a, mut b, mut guest, mut root) = (
        Sse::open(&app).await,
        Sse::open(&app).await,
        Sse::open(&app).await,
        Sse::open(&app).await,
    );
    a.subscribe_ok(&app, Some(&alice), &["posts/*"]).await;
    b.subscribe_ok(&app, Some(&bob), &["posts/*"]).await;
    guest.subscribe_ok(&app, None, &["posts/*"]).await;
    root.subscribe_ok(&app, Some(&admin), &["posts/*"]).await;

    post(&app, &admin, "alice's secret", false, &alice_id).await;
    post(&app, &admin, "for everyone", true, "").await;

    assert_eq!(
        next_title(&mut a).await,
        ("create".into(), "alice's secret".into())
    );
    assert_eq!(next_title(&mut a).await, ("create".into(), "for everyone".into()));
    assert_eq!(
        next_title(&mut root).await.1,
        "alice's secret",
        "superusers bypass rules"
    );
    // Events come in commit order, so the public post being first proves
    // the private one was never sent.
    assert_eq!(next_title(&mut b).await.1, "for everyone");
    assert_eq!(next_title(&mut guest).await.1, "for everyone");
    assert_eq!(
        b.next_within(Duration::from_millis(300)).await.unwrap_err(),
        NoEvent::TimedOut
    );

    // The event carries the record as the API shows it.
    let update = json!({"title": "alice's secret, edited"});
    let mut c = Sse::open(&app).await;
    c.subscribe_ok(&app, Some(&admin), &["posts/*"]).await;
    let id = post(&app, &admin, "x", true, "").await;
    let created = c.next().await.unwrap();
    assert_eq!(created.name, "posts/*");
    assert_eq!(created.id, c.client_id);
    assert_eq!(created.data["record"]["collectionName"], "posts");
    assert_eq!(created.data["record"]["id"], id.as_str());
    app.call(
        "PATCH",
        &format!("/api/collections/posts/records/{id}"),
        Some(&admin),
        Some(update),
    )
    .await;
    let updated = c.next().await.unwrap();
    assert_eq!(updated.data["action"], "update");
    assert_eq!(updated.data["record"]["title"], "alice's secret, edited");
}

#[tokio::test]
async fn delete_events_are_checked_against_the_record_as_it_was() {
    let app = spawn_app().await;
    let admin = posts(&app).await;
    let (alice_id, alice) = app.sign_up("alice@example.com", "password123").await;
    let (_, bob) = app.sign_up("bob@example.com", "password123").await;
    let secret = post(&app, &admin, "secret", false, &alice_id).await;
    let topic = format!("posts/{secret}");
    let (mut a, mut b) = (Sse::open(&app).await, Sse::open(&app).await);
    a.subscribe_ok(&app, Some(&alice), &[&topic, "posts/*"]).await;
    b.subscribe_ok(&app, Some(&bob), &[&topic, "posts/*"]).await;

    let resp = app
        .call(
            "DELETE",
            &format!("/api/collections/posts/records/{secret}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(resp.status(), 204);
    post(&app, &admin, "marker", true, "").await;

    let mut seen = Vec::new();
    for _ in 0..3 {
        let e = a.next().await.unwrap();
        seen.push((e.name, e.data["action"].as_str().unwrap().to_owned()));
    }
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("posts/*".to_owned(), "create".to_owned()),
            ("posts/*".to_owned(), "delete".to_owned()),
            (topic.clone(), "delete".to_owned()),
        ]
    );
    assert_eq!(next_title(&mut b).await, ("create".into(), "marker".into()));
}

#[tokio::test]
async fn topic_options_shape_and_narrow_events() {
    let app = spawn_app().await;
    let admin = posts(&app).await;
    let mut sse = Sse::open(&app).await;
    // As the SDK encodes `{query: {fields, filter}}`.
    let options =
        "%7B%22query%22%3A%7B%22fields%22%3A%22id%2Ctitle%22%2C%22filter%22%3A%22title%20~%20'keep'%22%7D%7D";
    let topic = format!("posts/*?options={options}");
    sse.subscribe_ok(&app, None, &[&topic]).await;
    post(&app, &admin, "drop me", true, "").await;
    post(&app, &admin, "keep me", true, "").await;
    let e = sse.next().await.unwrap();
    assert_eq!(e.name, topic, "the event name is the topic as subscribed");
    let record = e.data["record"].as_object().unwrap();
    assert_eq!(record["title"], "keep me");
    let mut keys: Vec<&str> = record.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["id", "title"]);
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
async fn a_subscriber_is_checked_with_its_account_as_it_is_now() {
    let app = spawn_app().await;
    let admin = app.superuser_token().await;
    app.post_ok(
        &admin,
        "/api/collections",
        json!({
            "name": "staff_news", "type": "base",
            "listRule": "@request.auth.verified = true", "createRule": "",
            "fields": [{"name": "title", "type": "text"}]
        }),
    )
    .await;
    let (alice_id, alice) = app.sign_up("alice@example.com", "password123").await;
    let mut sse = Sse::open(&app).await;
    sse.subscribe_ok(&app, Some(&alice), &["staff_news/*"]).await;
    let news = |title: &str| json!({ "title": title });
    app.post_ok(&admin, "/api/collections/staff_news/records", news("before"))
        .await;
    // Once verified, the same connection passes the rule: the broker follows
    // changes to the account it is signed in as.
    let verify = json!({"verified": true});
    let resp = app
        .call(
            "PATCH",
            &format!("/api/collections/users/records/{alice_id}"),
            Some(&admin),
            Some(verify),
        )
        .await;
    assert_eq!(resp.status(), 200);
    app.post_ok(&admin, "/api/collections/staff_news/records", news("after"))
        .await;
    assert_eq!(
        next_title(&mut sse).await.1,
        "after",
        "unverified, alice saw nothing before"
    );

    // A deleted account signs its connections out.
    let resp = app
        .call(
            "DELETE",
            &format!("/api/collections/users/records/{alice_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(resp.status(), 204);
    app.post_ok(&admin, "/api/collections/staff_news/records", news("gone"))
        .await;
    assert_eq!(
        sse.next_within(Duration::from_millis(300)).await.unwrap_err(),
        NoEvent::TimedOut
    );
}

#[tokio::test]
async fn subscribers_with_the_same_answer_share_one_rule_check() {
    let app = spawn_app().await;
    let admin = posts(&app).await;
    app.post_ok(
        &admin,
        "/api/collections",
        json!({
            "name": "notes", "type": "base", "listRule": "public = true",
            "fields": [{"name": "title", "type": "text"}, {"name": "public", "type": "bool"}]
        }),
    )
    .await;
    let (alice_id, alice) = app.sign_up("alice@example.com", "password123").await;
    let (_, bob) = app.sign_up("bob@example.com", "password123").await;
    let mut streams = Vec::new();
    for auth in [
        None,
        None,
        None,
        None,
        None,
        Some(&alice),
        Some(&alice),
        Some(&bob),
    ] {
        let sse = Sse::open(&app).await;
        sse.subscribe_ok(&app, auth.map(String::as_str), &["posts/*", "notes/*"])
            .await;
        streams.push(sse);
    }
    let before = app.state.realtime.rule_checks();
    // A rule without @request: one check for all eight subscribers.
    let note = json!({"title": "note", "public": true});
    app.post_ok(&admin, "/api/collections/notes/records", note).await;
    for sse in &mut streams {
        assert_eq!(next_title(sse).await.1, "note");
    }
    assert_eq!(app.state.realtime.rule_checks() - before, 1);
    // A rule reading @request.auth: one check per distinct account, and one
    // for all the guests.
    let before = app.state.realtime.rule_checks();
    post(&app, &admin, "alice's", false, &alice_id).await;
    for sse in &mut streams[5..7] {
        assert_eq!(next_title(sse).await.1, "alice's");
    }
    assert_eq!(app.state.realtime.rule_checks() - before, 3, "guests, alice, bob");
}
