//! Test helpers for `/api/realtime`: an SSE connection read event by event,
//! as the SDK's EventSource reads it, and a `posts` collection whose rules
//! differ per user.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::TestApp;

/// One server-sent event.
#[derive(Debug)]
pub struct Event {
    pub id: String,
    pub name: String,
    pub data: Value,
}

/// How reading the next event ended, when no event came.
#[derive(Debug, PartialEq)]
pub enum NoEvent {
    /// The server ended the stream cleanly.
    Ended,
    TimedOut,
}

/// A realtime connection, read event by event.
pub struct Sse {
    pub resp: reqwest::Response,
    pub buf: String,
    pub client_id: String,
}

impl Sse {
    pub async fn open(app: &TestApp) -> Self {
        Self::read(app.get("/api/realtime").await).await
    }

    /// A stream opened on any server at `base` (PocketBase's too).
    pub async fn open_at(client: &reqwest::Client, base: &str) -> Self {
        Self::read(client.get(format!("{base}/api/realtime")).send().await.unwrap()).await
    }

    async fn read(resp: reqwest::Response) -> Self {
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

    pub async fn next_within(&mut self, wait: Duration) -> Result<Event, NoEvent> {
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

    pub async fn next(&mut self) -> Result<Event, NoEvent> {
        self.next_within(Duration::from_secs(5)).await
    }

    pub async fn subscribe(&self, app: &TestApp, token: Option<&str>, topics: &[&str]) -> reqwest::Response {
        let body = json!({"clientId": self.client_id, "subscriptions": topics});
        app.call("POST", "/api/realtime", token, Some(body)).await
    }

    pub async fn subscribe_ok(&self, app: &TestApp, token: Option<&str>, topics: &[&str]) {
        let resp = self.subscribe(app, token, topics).await;
        assert_eq!(resp.status(), 204, "{}", resp.text().await.unwrap());
    }
}

/// `posts`: owners see their own posts, everyone sees public ones.
pub async fn posts(app: &TestApp) -> String {
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

pub async fn post(app: &TestApp, admin: &str, title: &str, public: bool, owner: &str) -> String {
    let body = json!({"title": title, "public": public, "owner": owner});
    app.post_ok(admin, "/api/collections/posts/records", body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The next event's `(action, title)`.
pub async fn next_title(sse: &mut Sse) -> (String, String) {
    let e = sse.next().await.expect("an event");
    (
        e.data["action"].as_str().unwrap().to_owned(),
        e.data["record"]["title"].as_str().unwrap_or("").to_owned(),
    )
}
