//! The HTTP edge: error envelopes, body limits, request ids, security
//! headers, CORS and compression.

use std::time::Duration;

use futures_util::stream;
use serde_json::json;

use crate::helpers::{assert_envelope, spawn_app, spawn_app_with};

#[tokio::test]
async fn unknown_api_path_is_a_404_envelope() {
    let app = spawn_app().await;
    let body = assert_envelope(app.get("/api/no/such/thing").await, 404).await;
    assert_eq!(body["message"], "The requested resource wasn't found.");
    // A wrong method on a known path is an envelope too.
    let resp = app.client.delete(app.url("/api/health")).send().await.unwrap();
    let status = resp.status().as_u16();
    assert!(status == 404 || status == 405, "{status}");
    assert_envelope(resp, status).await;
}

#[tokio::test]
async fn malformed_json_is_a_400_envelope() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url("/api/installer/superuser"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    let body = assert_envelope(resp, 400).await;
    assert_eq!(
        body["message"],
        "An error occurred while loading the submitted data."
    );

    // The wrong content type for a JSON endpoint is reported the same way.
    let resp = app
        .client
        .post(app.url("/api/installer/superuser"))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_envelope(resp, 400).await;
}

#[tokio::test]
async fn declared_oversize_body_is_a_413_and_never_kept() {
    let app = spawn_app_with(|c| c.body_limit = 1024).await;
    let resp = app
        .client
        .post(app.url("/api/installer/superuser"))
        .header("content-type", "application/json")
        .body(vec![b' '; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["connection"], "close");
    let body = assert_envelope(resp, 413).await;
    assert_eq!(body["message"], "Request entity too large.");
}

#[tokio::test]
async fn streamed_oversize_body_without_length_is_a_413() {
    let app = spawn_app_with(|c| c.body_limit = 64 * 1024).await;
    // 16 chunks of 16 KiB, chunked transfer encoding: no Content-Length.
    let chunks = (0..16).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'x'; 16 * 1024])));
    let body = reqwest::Body::wrap_stream(stream::iter(chunks));
    let resp = tokio::time::timeout(
        Duration::from_secs(10),
        app.client
            .post(app.url("/api/installer/superuser"))
            .header("content-type", "application/json")
            .body(body)
            .send(),
    )
    .await
    .expect("the server answers instead of hanging")
    .unwrap();
    assert_envelope(resp, 413).await;

    // Under the limit, the same streamed shape reaches the handler.
    let small = stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(
        b"{\"email\":\"x\"}",
    ))]);
    let resp = app
        .client
        .post(app.url("/api/installer/superuser"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(small))
        .send()
        .await
        .unwrap();
    assert_envelope(resp, 401).await;
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(app.url("/api/health"))
        .header("x-request-id", "edge-7f3a.b_9:1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "edge-7f3a.b_9:1");

    for bad in ["has spaces", "quote\"s", &"x".repeat(200)] {
        let resp = app
            .client
            .get(app.url("/api/health"))
            .header("x-request-id", bad)
            .send()
            .await
            .unwrap();
        let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(id, bad, "a malformed inbound id is replaced");
        assert_eq!(id.len(), 20);
        assert!(id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    }

    let a = app.get("/api/nope").await.headers()["x-request-id"].clone();
    let b = app.get("/api/nope").await.headers()["x-request-id"].clone();
    assert_ne!(a, b, "errors carry ids too, a fresh one each");
}

#[tokio::test]
async fn security_headers_on_every_response() {
    let app = spawn_app().await;
    for path in ["/api/health", "/api/nope", "/_/", "/api/docs"] {
        let resp = app.get(path).await;
        let h = resp.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin", "{path}");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert!(
            h.get("strict-transport-security").is_none(),
            "no HSTS over plain http: {path}"
        );
    }
    let admin = app.get("/_/").await;
    let csp = admin.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );

    // A forwarded https claim counts only from a trusted proxy: none here,
    // then the default (loopback).
    app.change_settings(|s| s.trusted_proxy.networks = vec![]).await;
    let claim = || {
        app.client
            .get(app.url("/api/health"))
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-for", "203.0.113.9")
    };
    assert!(
        claim()
            .send()
            .await
            .unwrap()
            .headers()
            .get("strict-transport-security")
            .is_none()
    );
    app.change_settings(|s| s.trusted_proxy = Default::default())
        .await;
    let resp = claim().send().await.unwrap();
    assert_eq!(
        resp.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
}

#[tokio::test]
async fn cors_default_allows_any_origin_without_credentials() {
    let app = spawn_app().await;
    let resp = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/anything/even/unrouted"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204, "preflight answered before routing");
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h.get("access-control-allow-credentials").is_none());
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("PATCH")
    );
    assert_eq!(h["access-control-allow-headers"], "authorization,content-type");
    assert_eq!(h["x-content-type-options"], "nosniff");

    let resp = app
        .client
        .get(app.url("/api/health"))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    assert!(
        resp.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("X-Request-Id")
    );
}

#[tokio::test]
async fn cors_allowlist_echoes_origin_with_credentials() {
    let app = spawn_app_with(|c| {
        c.origins = cairn::config::Origins::parse("https://app.example").unwrap();
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/health"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
    };
    let ok = preflight("https://app.example").await.unwrap();
    assert_eq!(ok.status(), 204);
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://app.example");
    assert_eq!(ok.headers()["access-control-allow-credentials"], "true");

    let denied = preflight("https://evil.example").await.unwrap();
    assert!(denied.headers().get("access-control-allow-origin").is_none());
    assert_envelope(denied, 403).await;

    let resp = app
        .client
        .get(app.url("/api/health"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    assert!(resp.headers().get_all("vary").iter().any(|v| v == "Origin"));
}

#[tokio::test]
async fn large_responses_are_compressed_small_ones_are_not() {
    let app = spawn_app().await;
    // reqwest decompresses transparently when gzip is enabled; ask by hand
    // to see the wire format.
    let raw = reqwest::Client::builder().no_gzip().no_brotli().build().unwrap();
    let resp = raw
        .get(app.url("/api/openapi.json"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let wire = resp.bytes().await.unwrap();
    assert_eq!(&wire[..2], &[0x1f, 0x8b], "gzip magic");

    let resp = raw
        .get(app.url("/api/openapi.json"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-encoding"], "br");

    let small = raw
        .get(app.url("/api/health"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert!(
        small.headers().get("content-encoding").is_none(),
        "under 1 KiB stays plain"
    );

    // And the compressed document decodes to the same JSON.
    let auto = reqwest::Client::new();
    let doc: serde_json::Value = auto
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["info"]["title"], json!("Cairn"));
}

/// A client that writes its whole body before reading (Python's
/// `requests`, curl without `Expect`) still reads the 413: the server
/// reads the oversized body on and drops it instead of closing the
/// connection mid-write, which such a client reports as a broken pipe.
#[tokio::test]
async fn a_client_that_writes_all_before_reading_gets_the_413() {
    let app = spawn_app().await;
    let addr = app.addr.to_string();
    let answer = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut conn = std::net::TcpStream::connect(&addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let body = vec![b' '; 16 << 20];
        let head = format!(
            "POST /api/collections/users/records HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        conn.write_all(head.as_bytes()).unwrap();
        conn.write_all(&body).expect("the whole body is taken");
        let mut answer = String::new();
        let _ = conn.read_to_string(&mut answer);
        answer
    })
    .await
    .unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "{}",
        answer.lines().next().unwrap_or("")
    );
    assert!(answer.contains("\"status\":413"), "{answer}");
}

#[tokio::test]
async fn http2_with_prior_knowledge_passes_the_target_layer() {
    // `http::targets` reads HTTP/1.1 request lines; HTTP/2's preface is
    // not one, and must reach hyper as it came.
    let app = spawn_app().await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    for _ in 0..2 {
        let resp = h2.get(app.url("/api/health")).send().await.unwrap();
        assert_eq!(resp.version(), reqwest::Version::HTTP_2);
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.json::<serde_json::Value>().await.unwrap()["code"], 200);
    }
    // The control: the same request over HTTP/1.1 on the same server.
    let resp = app.client.get(app.url("/api/health")).send().await.unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    assert_eq!(resp.status(), 200);
}
