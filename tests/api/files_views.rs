//! Files of a view collection's records: a view stores nothing, so
//! `GET /api/files/{view}/{id}/{name}` serves the file the record it reads
//! holds, under the view's own rules (a protected field's file only to
//! token holders the view rule lets view the record) and field options
//! (thumbnails). Cairn answered 404 for every view file. Each download is
//! made on PocketBase and Cairn alike, and must agree.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::differential::{Server, login, start_both};

/// The stored names one server gave the seeded files.
struct Seeded {
    view: String,
    alice_note: String,
    doc: String,
    secret: String,
    unshown: String,
    bobs_doc: String,
    alice_file_token: String,
    bob_file_token: String,
}

async fn user(s: &Server, id: &str, email: &str) -> String {
    s.admin(
        "POST",
        "/api/collections/users/records",
        json!({"id": id, "email": email, "password": "pass-word-1", "passwordConfirm": "pass-word-1"}),
    )
    .await;
    let token = login(s, "users", email, "pass-word-1").await;
    let (status, body) = s.call("POST", "/api/files/token", Some(&token), None).await;
    assert_eq!(status, 200, "{}: {body}", s.base);
    body["token"].as_str().unwrap().to_owned()
}

/// A note with files, made by a superuser (the notes' own rules let no one
/// else near them); the record's stored values.
async fn note(s: &Server, collection: &str, id: &str, owner: &str) -> Value {
    let file = |name: &str, text: &str| Part::bytes(text.as_bytes().to_vec()).file_name(name.to_owned());
    let form = Form::new()
        .text("id", id.to_owned())
        .text("owner", owner.to_owned())
        .part("doc", file("doc.txt", &format!("doc of {id}")))
        .part("secret", file("secret.txt", &format!("secret of {id}")))
        .part("unshown", file("unshown.txt", "unshown"));
    let resp = s
        .client
        .post(format!("{}/api/collections/{collection}/records", s.base))
        .header("authorization", &s.superuser)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", s.base);
    resp.json().await.unwrap()
}

async fn seed(s: &Server) -> Seeded {
    let alice_file_token = user(s, "alicealicealice", "alice@example.com").await;
    let bob_file_token = user(s, "bobbobbobbobbob", "bob@example.com").await;
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "vnotes", "fields": [
            {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_"},
            {"name": "doc", "type": "file", "maxSelect": 1},
            {"name": "secret", "type": "file", "maxSelect": 2, "protected": true},
            {"name": "unshown", "type": "file", "maxSelect": 1},
        ]}),
    )
    .await;
    let mine = "owner = @request.auth.id";
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "vnotes_view", "type": "view", "listRule": mine, "viewRule": mine,
               "viewQuery": "SELECT id, owner, doc, secret AS hush FROM vnotes"}),
    )
    .await;
    // A view of the view: its file is still the note's.
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "vnotes_deeper", "type": "view", "listRule": mine, "viewRule": mine,
               "viewQuery": "SELECT id, owner, hush FROM vnotes_view"}),
    )
    .await;
    let a = note(s, "vnotes", "notealice000001", "alicealicealice").await;
    let b = note(s, "vnotes", "notebob00000001", "bobbobbobbobbob").await;
    Seeded {
        view: "vnotes_view".into(),
        alice_note: "notealice000001".into(),
        doc: a["doc"].as_str().unwrap().to_owned(),
        secret: a["secret"][0].as_str().unwrap().to_owned(),
        unshown: a["unshown"].as_str().unwrap().to_owned(),
        bobs_doc: b["doc"].as_str().unwrap().to_owned(),
        alice_file_token,
        bob_file_token,
    }
}

/// Status and body of a download of `name` of alice's note through the
/// view, with `query` (`?token=…`).
async fn download(s: &Server, seeded: &Seeded, name: &str, query: &str) -> (u16, String) {
    // `query` may name the view instead (`@vnotes_deeper?token=…`).
    let (view, query) = match query.strip_prefix('@') {
        Some(rest) => rest.split_at(rest.find('?').unwrap_or(rest.len())),
        None => (seeded.view.as_str(), query),
    };
    let url = format!("{}/api/files/{view}/{}/{name}{query}", s.base, seeded.alice_note);
    let resp = s.client.get(url).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn a_view_serves_the_files_it_shows_under_its_own_rules() {
    let Some(both) = start_both().await else {
        return;
    };
    let (pb, cairn) = (seed(&both.pb).await, seed(&both.cairn).await);
    type Case = fn(&Seeded) -> (String, String);
    let cases: &[(&str, Case)] = &[
        ("an unprotected file, to a guest", |s| {
            (s.doc.clone(), String::new())
        }),
        ("a protected file, to a guest", |s| {
            (s.secret.clone(), String::new())
        }),
        ("a protected file, to a token the view rule refuses", |s| {
            (s.secret.clone(), format!("?token={}", s.bob_file_token))
        }),
        ("a protected file, to its owner's token", |s| {
            (s.secret.clone(), format!("?token={}", s.alice_file_token))
        }),
        ("a file of the record that the view does not show", |s| {
            (s.unshown.clone(), String::new())
        }),
        ("another record's file", |s| (s.bobs_doc.clone(), String::new())),
        (
            "a protected file through a view of the view, to its owner's token",
            |s| {
                (
                    s.secret.clone(),
                    format!("@vnotes_deeper?token={}", s.alice_file_token),
                )
            },
        ),
        ("a protected file through a view of the view, to a guest", |s| {
            (s.secret.clone(), "@vnotes_deeper".to_owned())
        }),
    ];
    let mut differences = Vec::new();
    let mut cairn_statuses = Vec::new();
    for (label, case) in cases {
        let (name, query) = case(&pb);
        let want = download(&both.pb, &pb, &name, &query).await;
        let (name, query) = case(&cairn);
        let got = download(&both.cairn, &cairn, &name, &query).await;
        cairn_statuses.push(got.0);
        // A 404's envelope is the same on both; a file's bytes must be.
        if want != got {
            differences.push(format!("{label}: PocketBase {want:?}, Cairn {got:?}"));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    // What the comparison proves, said outright: the owner's token reads
    // the protected file, nobody else does.
    assert_eq!(cairn_statuses, [200, 404, 404, 200, 404, 404, 200, 404]);
}
