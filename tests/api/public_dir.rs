//! The public folder: static files at `/`, as PocketBase serves
//! `pb_public`, so a site or an app and its API share one origin. A path
//! the folder lacks gets `index.html` (an app routing in the browser),
//! unless the fallback is off. Never served: anything outside the folder
//! (`..`, encoded or not), dotfiles (`.env`, `.git/`), or the site in
//! place of an unknown API path. The site's pages carry no API or
//! dashboard policy (their scripts are the site's), while the API and
//! the dashboard keep theirs.

use std::path::Path;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

/// A site: an index, a script, a page in a folder with its own index, a
/// large stylesheet, secrets beside them, and a file outside the folder.
fn site(root: &Path) -> std::path::PathBuf {
    let public = root.join("pb_public");
    for (file, text) in [
        ("index.html", "<h1>home</h1>".to_owned()),
        ("assets/app.js", "console.log('app')".to_owned()),
        ("assets/big.css", "body { color: red }\n".repeat(500)),
        ("docs/index.html", "<p>docs</p>".to_owned()),
        (".env", "SECRET=env".to_owned()),
        (".git/config", "SECRET=git".to_owned()),
        ("assets/.hidden.js", "SECRET=hidden".to_owned()),
        (".well-known/security.txt", "Contact: me".to_owned()),
        ("data.json", r#"{"a":1,"b":2}"#.to_owned()),
    ] {
        let path = public.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    std::fs::write(root.join("outside.txt"), "SECRET=outside").unwrap();
    public
}

async fn with_site(fallback: bool) -> (TestApp, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    let public = site(root.path());
    let app = spawn_app_with(|c| {
        c.public_dir = Some(public);
        c.index_fallback = fallback;
    })
    .await;
    (app, root)
}

async fn get(app: &TestApp, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let resp = app.get(path).await;
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    (status, headers, resp.text().await.unwrap())
}

fn header<'h>(headers: &'h reqwest::header::HeaderMap, name: &str) -> &'h str {
    headers.get(name).map_or("", |v| v.to_str().unwrap())
}

#[tokio::test]
async fn the_public_folder_is_served_at_the_root() {
    let (app, _root) = with_site(true).await;
    let (status, headers, body) = get(&app, "/").await;
    assert_eq!((status, body.as_str()), (200, "<h1>home</h1>"));
    assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
    let (status, headers, body) = get(&app, "/assets/app.js").await;
    assert_eq!((status, body.as_str()), (200, "console.log('app')"));
    assert_eq!(header(&headers, "content-type"), "text/javascript; charset=utf-8");
    // A folder is its index, at the address with the slash.
    let (status, headers, _) = get(&app, "/docs?x=1").await;
    assert_eq!((status, header(&headers, "location")), (301, "/docs/?x=1"));
    assert_eq!(get(&app, "/docs/").await.2, "<p>docs</p>");
    assert_eq!(get(&app, "/.well-known/security.txt").await.2, "Contact: me");
    // A JSON file is the site's, not an API answer: `fields` leaves it be.
    let (status, headers, body) = get(&app, "/data.json?fields=a").await;
    assert_eq!((status, body.as_str()), (200, r#"{"a":1,"b":2}"#));
    assert_eq!(
        header(&headers, "content-type"),
        "application/json; charset=utf-8"
    );

    // Revalidation and ranges, as for stored files.
    let etag = header(&get(&app, "/assets/app.js").await.1, "etag").to_owned();
    assert!(!etag.is_empty());
    let again = app
        .client
        .get(app.url("/assets/app.js"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let part = app
        .client
        .get(app.url("/assets/app.js"))
        .header("range", "bytes=0-6")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.text().await.unwrap(), "console");
    // Text is compressed like the API's answers.
    let raw = reqwest::Client::builder().no_gzip().no_brotli().build().unwrap();
    let big = raw
        .get(app.url("/assets/big.css"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(big.headers()["content-encoding"], "gzip");
    // HEAD answers without a body; a write finds nothing.
    let head = app.client.head(app.url("/assets/app.js")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.text().await.unwrap(), "");
    let post = app.client.post(app.url("/assets/app.js")).send().await.unwrap();
    assert_eq!(post.status(), 404);
}

#[tokio::test]
async fn a_missing_path_gets_the_index_unless_the_fallback_is_off() {
    let (app, _root) = with_site(true).await;
    for path in ["/missing", "/app/route/deep", "/missing.js", "/docs/nothing"] {
        let (status, headers, body) = get(&app, path).await;
        assert_eq!((status, body.as_str()), (200, "<h1>home</h1>"), "{path}");
        assert_eq!(header(&headers, "cache-control"), "no-cache", "{path}");
    }
    let (app, _root) = with_site(false).await;
    let (status, _, body) = get(&app, "/missing").await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("\"status\":404"), "{body}");
    // The control: a file that is there is served either way.
    assert_eq!(get(&app, "/assets/app.js").await.0, 200);
}

/// `GET path` sent as written (an HTTP client resolves `..` and `%2e%2e`
/// before sending); the status and the whole answer.
async fn raw_get(app: &TestApp, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    conn.read_to_string(&mut raw).await.unwrap();
    let status = raw.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, raw)
}

#[tokio::test]
async fn nothing_outside_the_folder_or_hidden_is_served() {
    let (app, _root) = with_site(true).await;
    for path in [
        "/.env",
        "/.git/config",
        "/assets/.hidden.js",
        "/%2e%65nv",
        "/%2e%2e/outside.txt",
        "/assets/%2E%2E/%2E%2E/outside.txt",
        "/assets/..%2F..%2Foutside.txt",
        "/assets%5c..%5c..%5coutside.txt",
    ] {
        let (status, raw) = raw_get(&app, path).await;
        assert!(!raw.contains("SECRET"), "{path}: {raw}");
        // Refused outright, not answered with the index.
        assert_eq!(status, 404, "{path}: {raw}");
    }
    // Steps up as written are resolved at the edge, into the folder: a
    // redirect to a path under it (`http::middleware::clean_path`).
    for path in ["/../outside.txt", "/assets/../../outside.txt"] {
        let (status, raw) = raw_get(&app, path).await;
        assert!(!raw.contains("SECRET"), "{path}: {raw}");
        assert_eq!(status, 307, "{path}: {raw}");
        assert!(raw.contains("location: /outside.txt\r\n"), "{path}: {raw}");
        let (_, followed) = raw_get(&app, "/outside.txt").await;
        assert!(!followed.contains("SECRET"), "{followed}");
    }
    // The control: the same connection shape reads a file that is there.
    let (status, raw) = raw_get(&app, "/assets/app.js").await;
    assert_eq!(status, 200, "{raw}");
    assert!(raw.contains("console.log('app')"), "{raw}");
}

#[tokio::test]
async fn the_api_and_the_dashboard_keep_their_paths_and_policies() {
    let (app, _root) = with_site(true).await;
    // An unknown API path is the API's 404, not the site's index.
    for path in ["/api/nope", "/api/", "/api"] {
        let (status, headers, body) = get(&app, path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(body.contains("\"status\":404"), "{path}: {body}");
        assert!(!body.contains("home"), "{path}: {body}");
        assert!(
            header(&headers, "content-security-policy").contains("default-src 'none'"),
            "{path}"
        );
    }
    let (status, headers, _) = get(&app, "/api/health").await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-frame-options"), "DENY");
    let (status, headers, body) = get(&app, "/_/").await;
    assert_eq!(status, 200);
    assert!(body.contains("<!doctype html>"), "{body}");
    assert!(header(&headers, "content-security-policy").contains("script-src 'self'"));
    // The site's pages carry none of those: their scripts are the site's.
    let (_, headers, _) = get(&app, "/").await;
    assert_eq!(header(&headers, "content-security-policy"), "");
    assert_eq!(header(&headers, "cross-origin-opener-policy"), "");
    assert_eq!(header(&headers, "x-frame-options"), "SAMEORIGIN");
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
}

#[tokio::test]
async fn without_a_public_folder_the_root_leads_to_the_dashboard() {
    let app = spawn_app().await;
    let (status, headers, _) = get(&app, "/").await;
    assert_eq!((status, header(&headers, "location")), (301, "/_/"));
    let (status, _, body) = get(&app, "/index.html").await;
    assert_eq!(status, 404, "{body}");
}
