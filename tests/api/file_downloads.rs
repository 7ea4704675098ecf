//! `/api/files`: downloads (sniffed types, dispositions, ranges,
//! revalidation, HEAD), thumbnails, protected files and file tokens.

use serde_json::{Value, json};

use crate::{
    files::{create, form, png, record_dir, with_docs},
    helpers::{assert_envelope, json, spawn_app},
};

#[tokio::test]
async fn downloads_carry_safe_types_ranges_and_validators() {
    let (app, _, _) = with_docs("").await;
    let rec = create(
        &app,
        form(
            &[],
            &[
                ("one", "hello.txt", b"hello".to_vec()),
                ("many", "pic.png", png(4, 4)),
                ("secret", "page.png", b"<!doctype html><p>hi".to_vec()),
            ],
        ),
    )
    .await;
    let id = rec["id"].as_str().unwrap();
    let url = |name: &Value, q: &str| format!("/api/files/docs/{id}/{}{q}", name.as_str().unwrap());
    // HTML is never served inline, whatever its name says.
    let resp = app.get(&url(&rec["secret"], "")).await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert!(
        resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    // An image is inline unless a download is asked for.
    let resp = app.get(&url(&rec["many"][0], "")).await;
    assert_eq!(resp.headers()["content-type"], "image/png");
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline;")
    );
    let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
    let resp = app.get(&url(&rec["many"][0], "?download=1")).await;
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    // Revalidation.
    let resp = app
        .client
        .get(app.url(&url(&rec["many"][0], "")))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
    let resp = app
        .client
        .get(app.url(&url(&rec["many"][0], "")))
        .header("if-none-match", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // HEAD answers the same headers, no body.
    let resp = app
        .client
        .head(app.url(&url(&rec["one"], "")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-length"], "5");
    assert!(resp.bytes().await.unwrap().is_empty());
    // Ranges.
    let range = |r: &'static str| {
        app.client
            .get(app.url(&url(&rec["one"], "")))
            .header("range", r)
            .send()
    };
    let resp = range("bytes=1-3").await.unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.headers()["content-range"], "bytes 1-3/5");
    assert_eq!(resp.headers()["content-length"], "3");
    assert_eq!(resp.text().await.unwrap(), "ell");
    let resp = range("bytes=-2").await.unwrap();
    assert_eq!(resp.text().await.unwrap(), "lo");
    let resp = range("bytes=9-").await.unwrap();
    assert_eq!(resp.status(), 416);
    assert_eq!(resp.headers()["content-range"], "bytes */5");
    // Files of a missing record, or not in the record, are not found.
    assert_envelope(
        app.get(&format!(
            "/api/files/docs/aaaaaaaaaaaaaaa/{}",
            rec["one"].as_str().unwrap()
        ))
        .await,
        404,
    )
    .await;
    assert_envelope(
        app.get(&format!("/api/files/docs/{id}/nothere_abcdefghij.txt"))
            .await,
        404,
    )
    .await;
    assert_envelope(
        app.get(&format!("/api/files/nope/{id}/{}", rec["one"].as_str().unwrap()))
            .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn thumbnails_come_in_the_offered_sizes_and_are_kept() {
    let (app, _, c) = with_docs("").await;
    let rec = create(
        &app,
        form(
            &[],
            &[
                ("many", "pic.png", png(40, 20)),
                ("many", "note.txt", b"text".to_vec()),
            ],
        ),
    )
    .await;
    let id = rec["id"].as_str().unwrap();
    let pic = rec["many"][0].as_str().unwrap();
    let dims = |bytes: &[u8]| {
        let img = image::load_from_memory(bytes).unwrap();
        (img.width(), img.height())
    };
    for (thumb, want) in [
        ("100x100", (100, 100)),
        ("20x0", (20, 10)),
        ("10x10t", (10, 10)),
        ("30x30", (40, 20)),
        ("bad", (40, 20)),
    ] {
        let resp = app
            .get(&format!("/api/files/docs/{id}/{pic}?thumb={thumb}"))
            .await;
        assert_eq!(resp.status(), 200, "{thumb}");
        assert_eq!(resp.headers()["content-type"], "image/png");
        assert_eq!(dims(&resp.bytes().await.unwrap()), want, "{thumb}");
    }
    let thumbs = record_dir(&app, &c, id).join(format!("thumbs_{pic}"));
    assert!(thumbs.join(format!("100x100_{pic}")).is_file());
    assert!(thumbs.join(format!("20x0_{pic}")).is_file());
    assert!(
        !thumbs.join(format!("30x30_{pic}")).exists(),
        "sizes the field does not offer are not made"
    );
    // Not an image: the original.
    let note = rec["many"][1].as_str().unwrap();
    let resp = app
        .get(&format!("/api/files/docs/{id}/{note}?thumb=100x100"))
        .await;
    assert_eq!(resp.text().await.unwrap(), "text");
    // Removing the file removes its thumbnails.
    let resp = app
        .call(
            "PATCH",
            &format!("/api/collections/docs/records/{id}"),
            None,
            Some(json!({"many-": [pic]})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert!(!thumbs.exists());
}

#[tokio::test]
async fn protected_files_need_a_file_token_and_the_view_rule() {
    let (app, token, _) = with_docs("@request.auth.id != ''").await;
    let (_, user) = app.sign_up("reader@example.com", "reader-pass-1").await;
    let rec = create(
        &app,
        form(
            &[],
            &[
                ("secret", "s.txt", b"classified".to_vec()),
                ("one", "p.txt", b"public".to_vec()),
            ],
        ),
    )
    .await;
    let path = format!(
        "/api/files/docs/{}/{}",
        rec["id"].as_str().unwrap(),
        rec["secret"].as_str().unwrap()
    );
    // A guest cannot get a token, nor the file.
    assert_envelope(app.call("POST", "/api/files/token", None, None).await, 401).await;
    assert_envelope(app.get(&path).await, 404).await;
    // An auth token is not a file token, and a forged one is nothing.
    assert_envelope(app.get(&format!("{path}?token={user}")).await, 404).await;
    assert_envelope(app.get(&format!("{path}?token=abc.def.ghi")).await, 404).await;
    let file_token = app.post_ok(&user, "/api/files/token", json!({})).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let claims = file_token.split('.').nth(1).unwrap();
    assert!(!claims.is_empty());
    let resp = app.get(&format!("{path}?token={file_token}")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "classified");
    // A public field of the same record needs no token.
    let public = format!(
        "/api/files/docs/{}/{}",
        rec["id"].as_str().unwrap(),
        rec["one"].as_str().unwrap()
    );
    assert_eq!(app.get(&public).await.status(), 200);
    // A superuser's file token works too.
    let su = app.post_ok(&token, "/api/files/token", json!({})).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.get(&format!("{path}?token={su}")).await.status(), 200);
}

#[tokio::test]
async fn the_openapi_document_describes_files_and_batch() {
    let app = spawn_app().await;
    let doc = json(app.get("/api/openapi.json").await).await;
    for (path, method) in [
        ("/files/{collection}/{recordId}/{filename}", "get"),
        ("/files/token", "post"),
        ("/batch", "post"),
    ] {
        assert!(
            doc["paths"][path][method]["responses"].is_object(),
            "{path} documented"
        );
    }
}
