//! Routes for superusers only decide who is calling before they read
//! anything else of the request. A guest's or a user's malformed body is
//! a 401 or a 403, as PocketBase answers, not a 400 that tells them the
//! body was read; and a guest's backup upload (up to 4 GiB) is refused
//! before a byte of it is taken, not written to a temporary file first.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    differential::{Server, start_both},
    helpers::spawn_app,
};

/// Routes that take a body, with a superuser's rights only, that both
/// servers have.
const SHARED: [(&str, &str); 9] = [
    ("POST", "/api/collections"),
    ("PATCH", "/api/collections/users"),
    ("PUT", "/api/collections/import"),
    ("PATCH", "/api/settings"),
    ("POST", "/api/settings/test/email"),
    ("POST", "/api/settings/test/s3"),
    ("POST", "/api/settings/apple/generate-client-secret"),
    ("POST", "/api/backups"),
    ("POST", "/api/collections/users/impersonate/aaaaaaaaaaaaaaa"),
];

/// Cairn's own routes of the same kind.
const CAIRN_ONLY: [(&str, &str); 5] = [
    ("POST", "/api/webhooks"),
    ("PATCH", "/api/webhooks/nosuchhook"),
    ("POST", "/api/keys"),
    ("POST", "/api/collections/meta/dry-run"),
    ("POST", "/api/collections/users/rule-test"),
];

async fn send(server: &Server, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut req = server
        .client
        .request(method.parse().unwrap(), format!("{}{path}", server.base))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(t) = token {
        req = req.header("authorization", t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A signed-in user of `users`, made by the superuser.
async fn user_token(server: &Server) -> String {
    server
        .admin(
            "POST",
            "/api/collections/users/records",
            json!({"email": "plain@example.com", "password": "plain-pass-123", "passwordConfirm": "plain-pass-123"}),
        )
        .await;
    sign_in(server).await
}

/// The user `user_token` made, signed in.
async fn sign_in(server: &Server) -> String {
    let (status, out) = server
        .call(
            "POST",
            "/api/collections/users/auth-with-password",
            None,
            Some(json!({"identity": "plain@example.com", "password": "plain-pass-123"})),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    out["token"].as_str().unwrap().to_owned()
}

/// Each caller's answer to each route, with a body that is not JSON and
/// one that is JSON of the wrong shape.
async fn answers(server: &Server, routes: &[(&str, &str)]) -> Vec<String> {
    let user = user_token(server).await;
    let mut out = Vec::new();
    for (method, path) in routes {
        for body in ["{not json", "[1, 2]"] {
            for (who, token) in [("guest", None), ("user", Some(user.as_str()))] {
                let (status, answer) = send(server, method, path, token, body).await;
                out.push(format!(
                    "{who} {method} {path} {body}: {status} {}",
                    answer["message"]
                ));
            }
        }
    }
    out
}

#[tokio::test]
async fn a_malformed_body_from_a_guest_or_a_user_is_refused_for_who_they_are() {
    let Some(both) = start_both().await else {
        return;
    };
    let mut pocketbase = answers(&both.pb, &SHARED).await;
    let mut cairn = answers(&both.cairn, &SHARED).await;
    // A backup's download takes its superuser's file token in the query.
    for (server, out) in [(&both.pb, &mut pocketbase), (&both.cairn, &mut cairn)] {
        for query in ["", "?token=", "?token=not-a-token"] {
            let path = format!("/api/backups/nope.zip{query}");
            let (status, answer) = server.call("GET", &path, None, None).await;
            out.push(format!("GET {path}: {status} {}", answer["message"]));
        }
    }
    crate::differential::assert_alike(&pocketbase, &cairn);
    // The same holds on Cairn's own routes: 401 and 403, never 400.
    let user = sign_in(&both.cairn).await;
    for (method, path) in CAIRN_ONLY {
        for (token, expected) in [(None, 401), (Some(user.as_str()), 403)] {
            let (status, answer) = send(&both.cairn, method, path, token, "{not json").await;
            assert_eq!(status, expected, "{method} {path}: {answer}");
        }
        // The control: a superuser's malformed body is read, and refused
        // as malformed.
        let (status, answer) = send(
            &both.cairn,
            method,
            path,
            Some(&both.cairn.superuser),
            "{not json",
        )
        .await;
        assert_eq!(status, 400, "{method} {path}: {answer}");
    }
}

/// Sends the head of a 1 GiB backup upload and the first bytes of its
/// body, then waits up to `wait` for an answer: its status line, or
/// `None` when the server is still waiting for the body.
fn start_upload(addr: &str, token: Option<&str>, wait: Duration) -> Option<String> {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(wait)).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: {t}\r\n"));
    let head = format!(
        "POST /api/backups/upload HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {}\r\n\r\n",
        1u64 << 30
    );
    conn.write_all(head.as_bytes()).unwrap();
    let start = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.zip\"\r\nContent-Type: application/zip\r\n\r\nPK\x03\x04";
    conn.write_all(start.as_bytes()).unwrap();
    conn.write_all(&vec![0u8; 64 << 10]).unwrap();
    let mut answer = vec![0u8; 4096];
    match conn.read(&mut answer) {
        Ok(n) if n > 0 => Some(String::from_utf8_lossy(&answer[..n]).lines().next()?.to_owned()),
        _ => None,
    }
}

#[tokio::test]
async fn a_guests_backup_upload_is_refused_before_its_body_is_read() {
    let app = spawn_app().await;
    let addr = app.addr.to_string();
    let superuser = app.superuser_token().await;
    let (guest, control) = tokio::task::spawn_blocking(move || {
        (
            start_upload(&addr, None, Duration::from_secs(10)),
            // The control: a superuser's upload is being taken, so no
            // answer comes while the body is still on its way.
            start_upload(&addr, Some(&superuser), Duration::from_secs(2)),
        )
    })
    .await
    .unwrap();
    assert_eq!(guest.as_deref(), Some("HTTP/1.1 401 Unauthorized"));
    assert_eq!(control, None, "the superuser's upload is read");
}
