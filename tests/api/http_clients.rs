//! What any HTTP client may send (curl, `requests`, the Dart, Swift and
//! Kotlin SDKs, `fetch`, a browser form), answered as PocketBase answers
//! it, each case made on both servers: the auth scheme in any case, a
//! query key given twice, a `null` JSON body, form parts with an empty
//! file name or an `@jsonPayload` before the values it overrides,
//! downloads revalidated and resumed by date, and paths with empty or
//! dot segments. Before, Cairn answered these 401; 400; 400; a stored
//! file and a lost payload; the whole file every time; and 404. A record
//! body that cannot be read is worded as PocketBase words it.

use reqwest::{Response, header};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::differential::{Server, start_both};

/// A collection anyone may use, with a file field.
async fn seed(s: &Server, name: &str) {
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": name, "listRule": "", "viewRule": "", "createRule": "", "updateRule": "",
            "fields": [{"name": "title", "type": "text"}, {"name": "n", "type": "number"},
                {"name": "doc", "type": "file", "maxSelect": 1, "maxSize": 1000000}]}),
    )
    .await;
}

/// A `multipart/form-data` body of `(name, file name, content)` parts,
/// written out by hand so a part can have an empty file name.
fn form(parts: &[(&str, Option<&str>, &str)]) -> (String, String) {
    let mut body = String::new();
    for (name, filename, content) in parts {
        let filename = filename
            .map(|f| format!("; filename=\"{f}\""))
            .unwrap_or_default();
        body.push_str(&format!(
            "--hcboundary\r\nContent-Disposition: form-data; name=\"{name}\"{filename}\r\n\r\n{content}\r\n"
        ));
    }
    body.push_str("--hcboundary--\r\n");
    (body, "multipart/form-data; boundary=hcboundary".into())
}

async fn send(s: &Server, method: &str, path: &str, content_type: &str, body: String) -> (u16, Value) {
    let resp = s
        .client
        .request(method.parse().unwrap(), format!("{}{path}", s.base))
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_bearer_scheme_is_read_in_any_case() {
    let Some(both) = start_both().await else {
        return;
    };
    for s in [&both.pb, &both.cairn] {
        let token = &s.superuser;
        for header in [
            token.clone(),
            format!("Bearer {token}"),
            format!("bearer {token}"),
            format!("BEARER {token}"),
        ] {
            let (status, _) = s
                .call("GET", "/api/collections?perPage=1", Some(&header), None)
                .await;
            assert_eq!(status, 200, "{} {}", s.base, &header[..8]);
        }
        // Another scheme is no token.
        let other = format!("Token {token}");
        let (status, _) = s
            .call("GET", "/api/collections?perPage=1", Some(&other), None)
            .await;
        assert_eq!(status, 401, "{}", s.base);
    }
}

#[tokio::test]
async fn a_query_key_given_twice_counts_with_its_first_value() {
    let Some(both) = start_both().await else {
        return;
    };
    let mut answers = Vec::new();
    for s in [&both.pb, &both.cairn] {
        seed(s, "hc_repeat").await;
        for id in ["hcrepeat0000001", "hcrepeat0000002"] {
            s.admin(
                "POST",
                "/api/collections/hc_repeat/records",
                json!({"id": id, "title": id}),
            )
            .await;
        }
        let mut seen = Vec::new();
        for url in [
            "/api/collections/hc_repeat/records?perPage=1&perPage=5&fields=id&fields=title&sort=-id&sort=id",
            "/api/collections/hc_repeat/records?filter=id%3D%22hcrepeat0000002%22&filter=id%3D%22x%22&skipTotal=1&skipTotal=0",
            "/api/collections/hc_repeat/records/hcrepeat0000001?fields=title&fields=id&expand=a&expand=b",
        ] {
            seen.push(s.call("GET", url, None, None).await);
        }
        answers.push(seen);
    }
    let (pb, cairn) = (&answers[0], &answers[1]);
    assert_eq!(pb, cairn);
    assert_eq!(
        cairn[0],
        (
            200,
            json!({"page": 1, "perPage": 1, "totalItems": 2, "totalPages": 2, "items": [{"id": "hcrepeat0000002"}]})
        )
    );
    assert_eq!(cairn[1].1["items"][0]["id"], "hcrepeat0000002");
    assert_eq!(cairn[1].1["totalItems"], -1);
    assert_eq!(cairn[2], (200, json!({"title": "hcrepeat0000001"})));
}

#[tokio::test]
async fn a_null_json_body_is_no_fields() {
    let Some(both) = start_both().await else {
        return;
    };
    for s in [&both.pb, &both.cairn] {
        seed(s, "hc_null").await;
        let (status, created) = send(
            s,
            "POST",
            "/api/collections/hc_null/records",
            "application/json",
            "null".into(),
        )
        .await;
        assert_eq!((status, &created["title"]), (200, &json!("")), "{}", s.base);
        let path = format!(
            "/api/collections/hc_null/records/{}",
            created["id"].as_str().unwrap()
        );
        let (status, _) = send(s, "PATCH", &path, "application/json", " null ".into()).await;
        assert_eq!(status, 200, "{}", s.base);
    }
}

#[tokio::test]
async fn form_parts_are_read_as_pocketbase_reads_them() {
    let Some(both) = start_both().await else {
        return;
    };
    for s in [&both.pb, &both.cairn] {
        seed(s, "hc_form").await;
        let (body, content_type) =
            form(&[("id", None, "hcform000000001"), ("doc", Some("kept.txt"), "kept")]);
        let (status, _) = send(s, "POST", "/api/collections/hc_form/records", &content_type, body).await;
        assert_eq!(status, 200, "{}", s.base);

        // A part with an empty file name is text: here a name the record
        // does not hold, refused; it was stored as a file.
        let (body, content_type) = form(&[("doc", Some(""), "not a file")]);
        let (status, answer) = send(
            s,
            "PATCH",
            "/api/collections/hc_form/records/hcform000000001",
            &content_type,
            body,
        )
        .await;
        assert_eq!(status, 400, "{} {answer}", s.base);
        assert_eq!(
            answer["data"]["doc"]["code"], "validation_invalid_file",
            "{}",
            s.base
        );

        // `@jsonPayload` wins over a plain value of the same key, whichever
        // comes first.
        let (body, content_type) = form(&[
            ("@jsonPayload", None, r#"{"title": "payload", "n": 2}"#),
            ("title", None, "plain"),
        ]);
        let (status, created) =
            send(s, "POST", "/api/collections/hc_form/records", &content_type, body).await;
        assert_eq!(status, 200, "{} {created}", s.base);
        assert_eq!(
            (&created["title"], &created["n"]),
            (&json!("payload"), &json!(2)),
            "{}",
            s.base
        );
    }
}

#[tokio::test]
async fn an_unreadable_record_body_is_worded_as_pocketbase_words_it() {
    let Some(both) = start_both().await else {
        return;
    };
    let mut answers = Vec::new();
    for s in [&both.pb, &both.cairn] {
        seed(s, "hc_unreadable").await;
        s.admin(
            "POST",
            "/api/collections/hc_unreadable/records",
            json!({"id": "hcunread0000001"}),
        )
        .await;
        let (bad_payload, multipart) = form(&[("@jsonPayload", None, "not json")]);
        let mut seen = Vec::new();
        for (method, path) in [
            ("POST", "/api/collections/hc_unreadable/records"),
            ("PATCH", "/api/collections/hc_unreadable/records/hcunread0000001"),
        ] {
            for body in [r#"{"title":"#, "[1]", r#""text""#] {
                seen.push(send(s, method, path, "application/json", body.into()).await);
            }
            seen.push(send(s, method, path, &multipart, bad_payload.clone()).await);
        }
        answers.push(seen);
    }
    assert_eq!(answers[0], answers[1]);
    let want =
        json!({"status": 400, "message": "Something went wrong while processing your request.", "data": {}});
    assert!(
        answers[1].iter().all(|a| *a == (400, want.clone())),
        "{:?}",
        answers[1]
    );
}

async fn download(s: &Server, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut req = s.client.get(format!("{}{path}", s.base));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn downloads_are_revalidated_and_resumed_by_date() {
    let Some(both) = start_both().await else {
        return;
    };
    const LONG_AGO: &str = "Sat, 01 Jan 2000 00:00:00 GMT";
    for s in [&both.pb, &both.cairn] {
        seed(s, "hc_dates").await;
        let (body, content_type) = form(&[("id", None, "hcdates00000001"), ("doc", Some("a.txt"), "hello")]);
        let (status, record) = send(
            s,
            "POST",
            "/api/collections/hc_dates/records",
            &content_type,
            body,
        )
        .await;
        assert_eq!(status, 200, "{}", s.base);
        let path = format!(
            "/api/files/hc_dates/hcdates00000001/{}",
            record["doc"].as_str().unwrap()
        );

        let resp = download(s, &path, &[]).await;
        let modified = resp.headers()[header::LAST_MODIFIED].to_str().unwrap().to_owned();
        assert!(modified.ends_with(" GMT"), "{} {modified}", s.base);
        let status = |resp: Response| resp.status().as_u16();
        assert_eq!(
            status(download(s, &path, &[("if-modified-since", &modified)]).await),
            304
        );
        assert_eq!(
            status(download(s, &path, &[("if-modified-since", LONG_AGO)]).await),
            200
        );
        assert_eq!(
            status(download(s, &path, &[("if-unmodified-since", LONG_AGO)]).await),
            412
        );
        // A resumed download goes on only from the same file.
        let resp = download(s, &path, &[("range", "bytes=1-2"), ("if-range", &modified)]).await;
        assert_eq!(resp.status(), 206, "{}", s.base);
        assert_eq!(resp.text().await.unwrap(), "el");
        for other in [LONG_AGO, "\"another-file\""] {
            let resp = download(s, &path, &[("range", "bytes=1-2"), ("if-range", other)]).await;
            assert_eq!(resp.status(), 200, "{} {other}", s.base);
            assert_eq!(resp.text().await.unwrap(), "hello");
        }
    }
}

/// Sends `method path` as given, which an HTTP client would clean up
/// first: the status and the `Location`.
async fn raw(s: &Server, method: &str, path: &str) -> (u16, Option<String>) {
    let addr = s.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 17\r\nConnection: close\r\n\r\n{{\"title\":\"slash\"}}"
    );
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer);
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let location = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("Location: ")
                .or_else(|| l.strip_prefix("location: "))
        })
        .map(str::to_owned);
    (status, location)
}

#[tokio::test]
async fn paths_with_empty_or_dot_segments_redirect_to_their_clean_form() {
    let Some(both) = start_both().await else {
        return;
    };
    let mut answers = Vec::new();
    for s in [&both.pb, &both.cairn] {
        seed(s, "hc_paths").await;
        let mut seen = Vec::new();
        for (method, path) in [
            ("GET", "//api/health"),
            ("GET", "/api//health?a=1"),
            ("GET", "/api/./health"),
            ("GET", "/api/x/../health"),
            ("GET", "/api/health/."),
            ("GET", "/api/health//"),
            // Never to another host.
            ("GET", "//evil.example/api/health"),
            // An escaped dot is a name.
            ("GET", "/api/%2e%2e/api/health"),
            // Method and body are kept by the client, not written here.
            ("POST", "//api/collections/hc_paths/records"),
        ] {
            seen.push(raw(s, method, path).await);
        }
        let (_, list) = s
            .call("GET", "/api/collections/hc_paths/records", None, None)
            .await;
        assert_eq!(list["totalItems"], 0, "{}", s.base);
        answers.push(seen);
    }
    assert_eq!(answers[0], answers[1]);
    let redirect = |to: &str| (307, Some(to.to_owned()));
    assert_eq!(
        answers[1],
        [
            redirect("/api/health"),
            redirect("/api/health?a=1"),
            redirect("/api/health"),
            redirect("/api/health"),
            redirect("/api/health"),
            redirect("/api/health/"),
            redirect("/evil.example/api/health"),
            (404, None),
            redirect("/api/collections/hc_paths/records"),
        ]
    );
}

/// The answers on one connection to `requests`, written as they are (the
/// last one closes it): each answer's status and JSON body.
async fn on_one_connection(s: &Server, requests: &[String]) -> Vec<(u16, Value)> {
    let addr = s.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(requests.concat().as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(20), conn.read_to_end(&mut bytes))
        .await
        .expect("the server closes the connection after the last request")
        .unwrap();
    let mut rest = bytes.as_slice();
    let mut answers = Vec::new();
    while !rest.is_empty() {
        let end = rest.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let head = String::from_utf8_lossy(&rest[..end]).to_lowercase();
        rest = &rest[end..];
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_owned())
        };
        let mut body = Vec::new();
        if let Some(len) = header("content-length:") {
            let len: usize = len.parse().unwrap();
            body.extend_from_slice(&rest[..len]);
            rest = &rest[len..];
        } else if header("transfer-encoding:").as_deref() == Some("chunked") {
            loop {
                let line = rest.windows(2).position(|w| w == b"\r\n").unwrap();
                let size = usize::from_str_radix(std::str::from_utf8(&rest[..line]).unwrap(), 16).unwrap();
                rest = &rest[line + 2..];
                body.extend_from_slice(&rest[..size]);
                rest = &rest[size + 2..];
                if size == 0 {
                    break;
                }
            }
        }
        answers.push((status, serde_json::from_slice(&body).unwrap_or(Value::Null)));
    }
    answers
}

#[tokio::test]
async fn targets_are_read_as_sent_with_quotes_and_angle_brackets() {
    // curl, Go's http.Get, Python's urllib and PHP send `"`, `<` and `>`
    // in a query as they are; PocketBase answers them. Cairn's HTTP layer
    // refused them with an empty 400 and closed the connection.
    let Some(both) = start_both().await else {
        return;
    };
    let mut answers = Vec::new();
    for s in [&both.pb, &both.cairn] {
        seed(s, "hc_raw").await;
        for (title, n) in [("a\"b", 1), ("<x>", 2), ("plain", 3)] {
            s.admin(
                "POST",
                "/api/collections/hc_raw/records",
                json!({"title": title, "n": n}),
            )
            .await;
        }
        let body = r#"{"title":"say \"hi\" <b>","n":4}"#;
        let get = |target: &str, last: bool| {
            let close = if last { "Connection: close\r\n" } else { "" };
            format!("GET {target} HTTP/1.1\r\nHost: h\r\n{close}\r\n")
        };
        let requests = [
            // A body with quotes in it is read as sent, and the requests
            // after it on the connection are still found.
            format!(
                "POST /api/collections/hc_raw/records?fields=title HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ),
            get(
                r#"/api/collections/hc_raw/records?filter=title="<x>"||n>3&sort=n&fields=title"#,
                false,
            ),
            get(
                r#"/api/collections/hc_raw/records?filter=n<2&fields=title"#,
                false,
            ),
            get(
                r#"/api/collections/hc_raw/records?filter=title="a\"b"&fields=title"#,
                false,
            ),
            get("/api/collections/hc_raw/records/no`such<id>", false),
            get(r#"/api/health?x=<"`>"#, true),
        ];
        let seen = on_one_connection(s, &requests).await;
        let titles: Vec<_> = seen
            .iter()
            .map(|(status, body)| match body.get("items") {
                Some(items) => json!([status, items]),
                None => json!([status, body.get("title")]),
            })
            .collect();
        answers.push(titles);
    }
    assert_eq!(answers[0], answers[1], "PocketBase, then Cairn");
    assert_eq!(
        answers[1],
        [
            json!([200, "say \"hi\" <b>"]),
            json!([200, [{"title": "<x>"}, {"title": "say \"hi\" <b>"}]]),
            json!([200, [{"title": "a\"b"}]]),
            json!([200, [{"title": "a\"b"}]]),
            json!([404, null]),
            json!([200, null]),
        ]
    );
}
