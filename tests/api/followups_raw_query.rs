//! A query string with raw `"`, `<` or `>` (a filter typed straight into a
//! URL, unencoded) is served as PocketBase 0.40.6 serves it: read as if it
//! had been percent-encoded. Bodies on the same keep-alive connection are
//! not touched.

use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{TestApp, spawn_app};

/// Reads one HTTP/1.1 response (head and `content-length` body).
async fn read_response(conn: &mut TcpStream) -> (u16, Value) {
    let mut data = Vec::new();
    let mut byte = [0u8; 1];
    while !data.ends_with(b"\r\n\r\n") {
        assert_eq!(
            conn.read(&mut byte).await.unwrap(),
            1,
            "connection closed: {data:?}"
        );
        data.push(byte[0]);
    }
    let head = String::from_utf8(data).unwrap();
    let status = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .unwrap_or_else(|| panic!("a content-length: {head}"));
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body).await.unwrap();
    let body = serde_json::from_slice(&body).unwrap_or_else(|_| panic!("not JSON: {head}"));
    (status, body)
}

async fn send(conn: &mut TcpStream, app: &TestApp, head: &str, body: &str) -> (u16, Value) {
    let request = format!(
        "{head}\r\nHost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        app.addr,
        body.len()
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    read_response(conn).await
}

#[tokio::test]
async fn raw_quotes_in_a_filter_are_read_as_encoded_ones() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    app.post_ok(
        &token,
        "/api/collections",
        json!({"name": "notes", "type": "base", "listRule": "", "createRule": "",
               "fields": [{"name": "title", "type": "text"}]}),
    )
    .await;
    let mut conn = TcpStream::connect(app.addr).await.unwrap();
    // A body full of what the layer rewrites in a query, on the same
    // connection as the raw queries that follow: stored byte for byte.
    let title = r#"a?b="c" <d> GET /?x="y" HTTP/1.1"#;
    let (status, created) = send(
        &mut conn,
        &app,
        "POST /api/collections/notes/records?x=\"1\" HTTP/1.1",
        &json!({"title": title}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["title"], title);
    send(
        &mut conn,
        &app,
        "POST /api/collections/notes/records HTTP/1.1",
        r#"{"title":"b"}"#,
    )
    .await;

    let (status, list) = send(
        &mut conn,
        &app,
        "GET /api/collections/notes/records?filter=title=\"b\" HTTP/1.1",
        "",
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["totalItems"], 1, "{list}");
    assert_eq!(list["items"][0]["title"], "b");
    let (status, list) = send(
        &mut conn,
        &app,
        "GET /api/collections/notes/records?filter=title>\"a\"%26%26title<\"c\" HTTP/1.1",
        "",
    )
    .await;
    assert_eq!((status, list["totalItems"].clone()), (200, json!(2)), "{list}");

    // Control: the same filter, percent-encoded, as a client should send it.
    let (status, list) = send(
        &mut conn,
        &app,
        "GET /api/collections/notes/records?filter=title=%22b%22 HTTP/1.1",
        "",
    )
    .await;
    assert_eq!((status, list["totalItems"].clone()), (200, json!(1)), "{list}");
}
