//! Uploads on file fields: names, types, limits, the `+`/`-` modifiers,
//! and that no file is orphaned or lost by any write, failed or not.
//! Downloads are in `file_downloads.rs`, which shares these helpers.

use std::path::PathBuf;

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, count_files, json, spawn_app};

/// A `docs` collection: `one` (single, ≤100 bytes), `many` (two, png or
/// text, extra thumb sizes), `secret` (protected), anyone may read/write.
pub(crate) async fn docs(app: &TestApp, token: &str, view_rule: &str) -> Value {
    app.post_ok(
        token,
        "/api/collections",
        json!({
            "name": "docs",
            "listRule": "", "viewRule": view_rule, "createRule": "", "updateRule": "", "deleteRule": "",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "one", "type": "file", "maxSelect": 1, "maxSize": 100},
                {"name": "many", "type": "file", "maxSelect": 2, "maxSize": 3_000_000,
                 "mimeTypes": ["image/png", "text/plain"], "thumbs": ["20x0", "10x10t"]},
                {"name": "secret", "type": "file", "maxSelect": 1, "protected": true},
            ],
        }),
    )
    .await
}

/// A fresh app, a superuser token and the `docs` collection.
pub(crate) async fn with_docs(view_rule: &str) -> (TestApp, String, Value) {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let c = docs(&app, &token, view_rule).await;
    (app, token, c)
}

pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::DynamicImage::new_rgb8(width, height);
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A multipart form of text values and files `(key, filename, bytes)`.
pub(crate) fn form(text: &[(&str, &str)], files: &[(&str, &str, Vec<u8>)]) -> Form {
    let mut form = Form::new();
    for (k, v) in text {
        form = form.text(k.to_string(), v.to_string());
    }
    for (k, name, bytes) in files {
        form = form.part(
            k.to_string(),
            Part::bytes(bytes.clone()).file_name(name.to_string()),
        );
    }
    form
}

pub(crate) async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    form: Form,
) -> reqwest::Response {
    let mut req = app
        .client
        .request(method.parse().unwrap(), app.url(path))
        .multipart(form);
    if let Some(t) = token {
        req = req.header("authorization", t);
    }
    req.send().await.unwrap()
}

pub(crate) async fn create(app: &TestApp, form: Form) -> Value {
    let resp = send(app, "POST", "/api/collections/docs/records", None, form).await;
    let status = resp.status();
    let body = json(resp).await;
    assert_eq!(status, 200, "{body}");
    body
}

pub(crate) fn record_dir(app: &TestApp, collection: &Value, id: &str) -> PathBuf {
    app.dir
        .path()
        .join("storage")
        .join(collection["id"].as_str().unwrap())
        .join(id)
}

/// The files stored for a record, sorted (thumbnail folders included).
pub(crate) fn stored(app: &TestApp, collection: &Value, id: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(record_dir(app, collection, id))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

pub(crate) fn all_stored(app: &TestApp) -> usize {
    count_files(&app.dir.path().join("storage"))
}

pub(crate) fn code<'a>(body: &'a Value, field: &str) -> &'a str {
    body["data"][field]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn hostile_names_are_sanitized_and_never_escape_the_record_folder() {
    let (app, _, c) = with_docs("").await;
    let rec = create(
        &app,
        form(
            &[],
            &[
                ("one", "../../etc/pa ss wd.TXT", b"x".to_vec()),
                ("many", "..\\..\\ÜBER ñame.png", png(2, 2)),
            ],
        ),
    )
    .await;
    let one = rec["one"].as_str().unwrap();
    assert!(
        regex::Regex::new(r"^pa_ss_wd_[a-z0-9]{10}\.TXT$")
            .unwrap()
            .is_match(one),
        "{one}"
    );
    let many = rec["many"][0].as_str().unwrap();
    assert!(
        regex::Regex::new(r"^ber_ame_[a-z0-9]{10}\.png$")
            .unwrap()
            .is_match(many),
        "{many}"
    );
    let id = rec["id"].as_str().unwrap();
    let mut want = vec![one.to_owned(), many.to_owned()];
    want.sort();
    assert_eq!(stored(&app, &c, id), want);
    assert_eq!(all_stored(&app), 2, "nothing written anywhere else");
    // Downloads cannot climb out either: encoded or not, with a thumb or not.
    std::fs::write(app.dir.path().join("storage").join("secret.txt"), "no").unwrap();
    for path in [
        format!("/api/files/docs/{id}/..%2F..%2Fsecret.txt"),
        format!("/api/files/docs/{id}/%2e%2e%2f%2e%2e%2fsecret.txt"),
        format!("/api/files/docs/..%2F{id}/{one}"),
        "/api/files/docs/..%2F..%2F/data.db".to_owned(),
        format!("/api/files/docs/{id}/{one}%2F..%2F..%2F..%2Fdata.db"),
    ] {
        assert_envelope(app.get(&path).await, 404).await;
    }
    let resp = app
        .get(&format!("/api/files/docs/{id}/{many}?thumb=..%2F..%2F1x1"))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.bytes().await.unwrap().as_ref(),
        png(2, 2).as_slice(),
        "an unknown thumb gives the original"
    );
}

#[tokio::test]
async fn uploads_are_checked_against_the_field_options() {
    let (app, _, _) = with_docs("").await;
    // The type comes from the bytes, not the name or the claimed type.
    let html = Part::bytes(b"<html><script>alert(1)</script></html>".to_vec())
        .file_name("cat.png")
        .mime_str("image/png")
        .unwrap();
    let resp = send(
        &app,
        "POST",
        "/api/collections/docs/records",
        None,
        Form::new().part("many", html),
    )
    .await;
    let body = assert_envelope(resp, 400).await;
    assert_eq!(code(&body, "many"), "validation_invalid_mime_type", "{body}");
    // Too large.
    let resp = send(
        &app,
        "POST",
        "/api/collections/docs/records",
        None,
        form(&[], &[("one", "big.txt", vec![b'a'; 101])]),
    )
    .await;
    let body = assert_envelope(resp, 400).await;
    assert_eq!(code(&body, "one"), "validation_file_size_limit", "{body}");
    assert_eq!(
        body["data"]["one"]["params"],
        json!({"file": "big.txt", "maxSize": 100})
    );
    // A single-file field keeps the last of several, and only that one is stored.
    let two = form(
        &[],
        &[
            ("one", "first.txt", b"1".to_vec()),
            ("one", "second.txt", b"2".to_vec()),
        ],
    );
    let rec = json(send(&app, "POST", "/api/collections/docs/records", None, two).await).await;
    assert!(rec["one"].as_str().unwrap().starts_with("second_"), "{rec}");
    assert_eq!(all_stored(&app), 1);
    // Too many, in one go or by appending.
    let three = form(
        &[],
        &[
            ("many", "a.png", png(1, 1)),
            ("many", "b.png", png(1, 1)),
            ("many", "c.png", png(1, 1)),
        ],
    );
    let body = assert_envelope(
        send(&app, "POST", "/api/collections/docs/records", None, three).await,
        400,
    )
    .await;
    assert_eq!(code(&body, "many"), "validation_too_many_files", "{body}");
    let rec = create(
        &app,
        form(&[], &[("many", "a.png", png(1, 1)), ("many", "b.png", png(1, 1))]),
    )
    .await;
    let id = rec["id"].as_str().unwrap();
    let more = form(&[], &[("many+", "c.png", png(1, 1))]);
    let body = assert_envelope(
        send(
            &app,
            "PATCH",
            &format!("/api/collections/docs/records/{id}"),
            None,
            more,
        )
        .await,
        400,
    )
    .await;
    assert_eq!(code(&body, "many"), "validation_too_many_files", "{body}");
    // A name the record does not hold is not a file.
    let resp = app
        .call(
            "PATCH",
            &format!("/api/collections/docs/records/{id}"),
            None,
            Some(json!({"many": ["other_abcdefghij.png"]})),
        )
        .await;
    let body = assert_envelope(resp, 400).await;
    assert_eq!(code(&body, "many"), "validation_invalid_file", "{body}");
    assert_eq!(
        body["data"]["many"]["params"]["invalidFiles"],
        json!(["other_abcdefghij.png"])
    );
    // Every failure above left nothing behind: only the records' three files.
    assert_eq!(all_stored(&app), 3);
}

#[tokio::test]
async fn the_body_limit_grows_for_uploads_but_not_for_json() {
    let (app, _, _) = with_docs("").await;
    // 2 MB of text is over the 1 MiB JSON limit but within `many`'s 3 MB.
    let big = vec![b'a'; 2_000_000];
    let rec = create(&app, form(&[], &[("many", "big.txt", big.clone())])).await;
    let name = rec["many"][0].as_str().unwrap();
    let got = app
        .get(&format!("/api/files/docs/{}/{name}", rec["id"].as_str().unwrap()))
        .await;
    assert_eq!(got.bytes().await.unwrap().len(), big.len());
    let json_body = json!({"title": "x".repeat(2_000_000)});
    assert_envelope(
        app.call("POST", "/api/collections/docs/records", None, Some(json_body))
            .await,
        413,
    )
    .await;
    // Past every file field's capacity together (100 B + 2 × 3 MB + the
    // default 5 MB of `secret`, plus the JSON allowance), a form is refused unread.
    let huge = form(&[], &[("many", "a.txt", vec![b'a'; 13_000_000])]);
    assert_envelope(
        send(&app, "POST", "/api/collections/docs/records", None, huge).await,
        413,
    )
    .await;
}

#[tokio::test]
async fn replaced_and_deleted_files_go_after_the_commit_and_failed_writes_leave_nothing() {
    let (app, token, c) = with_docs("").await;
    // A unique title makes the second create fail inside the transaction.
    let resp = app
        .call(
            "PATCH",
            "/api/collections/docs",
            Some(&token),
            Some(json!({"indexes": ["CREATE UNIQUE INDEX idx_title ON docs (title)"]})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let rec = create(
        &app,
        form(
            &[("title", "t1")],
            &[("one", "a.txt", b"a".to_vec()), ("many", "x.png", png(1, 1))],
        ),
    )
    .await;
    let id = rec["id"].as_str().unwrap().to_owned();
    let resp = send(
        &app,
        "POST",
        "/api/collections/docs/records",
        None,
        form(&[("title", "t1")], &[("one", "b.txt", b"b".to_vec())]),
    )
    .await;
    let body = assert_envelope(resp, 400).await;
    assert_eq!(code(&body, "title"), "validation_not_unique", "{body}");
    assert_eq!(all_stored(&app), 2, "the failed create's file was removed");
    // A failed update keeps the old file and drops the new one.
    let resp = send(
        &app,
        "PATCH",
        &format!("/api/collections/docs/records/{id}"),
        None,
        form(&[("title", "")], &[("one", "c.txt", vec![b'c'; 500])]),
    )
    .await;
    assert_envelope(resp, 400).await;
    assert_eq!(stored(&app, &c, &id).len(), 2);
    // Replacing a single file removes the old one; `+` appends; `-` removes.
    let resp = send(
        &app,
        "PATCH",
        &format!("/api/collections/docs/records/{id}"),
        None,
        form(
            &[],
            &[("one", "d.txt", b"d".to_vec()), ("many+", "y.png", png(1, 1))],
        ),
    )
    .await;
    let updated = json(resp).await;
    assert_ne!(updated["one"], rec["one"]);
    assert_eq!(updated["many"].as_array().unwrap().len(), 2);
    assert_eq!(updated["many"][0], rec["many"][0]);
    let mut want = vec![
        updated["one"].as_str().unwrap().to_owned(),
        updated["many"][0].as_str().unwrap().to_owned(),
        updated["many"][1].as_str().unwrap().to_owned(),
    ];
    want.sort();
    assert_eq!(stored(&app, &c, &id), want);
    let resp = app
        .call(
            "PATCH",
            &format!("/api/collections/docs/records/{id}"),
            None,
            Some(json!({"many-": [rec["many"][0]], "one": null})),
        )
        .await;
    let updated2 = json(resp).await;
    assert_eq!(updated2["one"], "");
    assert_eq!(updated2["many"], json!([updated["many"][1]]));
    assert_eq!(
        stored(&app, &c, &id),
        vec![updated["many"][1].as_str().unwrap().to_owned()]
    );
    // Deleting the record removes its folder.
    let resp = app
        .call(
            "DELETE",
            &format!("/api/collections/docs/records/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert!(!record_dir(&app, &c, &id).exists());
    assert_eq!(all_stored(&app), 0);
}

#[tokio::test]
async fn the_sdk_form_shape_works_with_json_payload_and_files() {
    let (app, _, _) = with_docs("").await;
    let rec = create(
        &app,
        form(
            &[("@jsonPayload", r#"{"title":"from json"}"#)],
            &[("many", "a.txt", b"a".to_vec())],
        ),
    )
    .await;
    assert_eq!(rec["title"], "from json");
    // A browser's empty file input (no name, no bytes) uploads nothing.
    let empty = Form::new()
        .text("title", "t")
        .part("one", Part::bytes(Vec::new()).file_name(""));
    let blank = json(send(&app, "POST", "/api/collections/docs/records", None, empty).await).await;
    assert_eq!(blank["one"], "", "{blank}");
    // Keeping named files while adding one through the plain key.
    let id = rec["id"].as_str().unwrap();
    let keep = rec["many"][0].as_str().unwrap();
    let resp = send(
        &app,
        "PATCH",
        &format!("/api/collections/docs/records/{id}"),
        None,
        form(&[("many", keep)], &[("many", "b.txt", b"b".to_vec())]),
    )
    .await;
    let updated = json(resp).await;
    assert_eq!(updated["many"][0], keep);
    assert_eq!(updated["many"].as_array().unwrap().len(), 2, "{updated}");
}

#[tokio::test]
async fn truncating_or_deleting_a_collection_removes_its_files() {
    let (app, token, c) = with_docs("").await;
    let collection_dir = app.dir.path().join("storage").join(c["id"].as_str().unwrap());
    create(&app, form(&[], &[("one", "a.txt", b"a".to_vec())])).await;
    assert_eq!(count_files(&collection_dir), 1);
    let resp = app
        .call("DELETE", "/api/collections/docs/truncate", Some(&token), None)
        .await;
    assert_eq!(resp.status(), 204);
    assert!(!collection_dir.exists());
    create(&app, form(&[], &[("one", "b.txt", b"b".to_vec())])).await;
    assert_eq!(count_files(&collection_dir), 1);
    let resp = app
        .call("DELETE", "/api/collections/docs", Some(&token), None)
        .await;
    assert_eq!(resp.status(), 204);
    assert!(!collection_dir.exists());
}

#[tokio::test]
async fn an_import_that_deletes_a_collection_removes_its_files() {
    let (app, token, c) = with_docs("").await;
    let collection_dir = app.dir.path().join("storage").join(c["id"].as_str().unwrap());
    create(&app, form(&[], &[("one", "a.txt", b"a".to_vec())])).await;
    let listed = json(
        app.call("GET", "/api/collections?perPage=500", Some(&token), None)
            .await,
    )
    .await;
    let all: Vec<Value> = listed["items"].as_array().unwrap().clone();
    let others: Vec<Value> = all.iter().filter(|x| x["name"] != "docs").cloned().collect();
    let import = |collections: Vec<Value>| {
        let body = json!({"collections": collections, "deleteMissing": true});
        app.call("PUT", "/api/collections/import", Some(&token), Some(body))
    };
    // Control: an import that keeps `docs` keeps its files.
    assert_eq!(import(all.clone()).await.status(), 204);
    assert_eq!(count_files(&collection_dir), 1);
    // A failed import deletes nothing, files included.
    let mut broken = others.clone();
    broken.push(json!({"name": "bad name!", "type": "base"}));
    let resp = import(broken).await;
    assert_envelope(resp, 400).await;
    assert_eq!(count_files(&collection_dir), 1);
    // Only superusers import: a guest gets 401 and a user 403, and
    // nothing is removed.
    let (_, user) = app.sign_up("importer@example.com", "importer-pass-1").await;
    for (who, status) in [(None, 401), (Some(user.as_str()), 403)] {
        let body = json!({"collections": others.clone(), "deleteMissing": true});
        let resp = app.call("PUT", "/api/collections/import", who, Some(body)).await;
        assert_eq!(resp.status(), status);
        assert_eq!(count_files(&collection_dir), 1);
    }
    // The import that leaves `docs` out deletes it, and its files go too.
    assert_eq!(import(others).await.status(), 204);
    assert!(!collection_dir.exists());
}

#[tokio::test]
async fn an_account_signs_up_with_an_avatar() {
    let app = spawn_app().await;
    let signup = form(
        &[
            ("email", "pic@example.com"),
            ("password", "pic-pass-123"),
            ("passwordConfirm", "pic-pass-123"),
        ],
        &[("avatar", "Me.png", png(8, 8))],
    );
    let resp = send(&app, "POST", "/api/collections/users/records", None, signup).await;
    let user = json(resp).await;
    let avatar = user["avatar"].as_str().unwrap();
    assert!(avatar.starts_with("me") && avatar.ends_with(".png"), "{user}");
    let resp = app
        .get(&format!(
            "/api/files/users/{}/{avatar}?thumb=100x100",
            user["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(resp.status(), 200);
    // The password was hashed as for any sign-up: the account can sign in.
    let resp = app.sign_in("users", "pic@example.com", "pic-pass-123").await;
    assert_eq!(resp.status(), 200);
}
