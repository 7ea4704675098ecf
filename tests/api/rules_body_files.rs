//! Uploads in a rule's `@request.body`: a file field reads as the whole
//! list of names the record will hold, however the files were sent (the
//! plain key, `files+`, `+files`), as PocketBase's rules see them.
//! Before, uploads were not in the body at all, so
//! `@request.body.files:length = 0` let any upload through. Each rule is
//! run against PocketBase and Cairn alike, with both outcomes seen.

use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::{
    differential::{Server, start_both},
    helpers::spawn_app,
};

/// The record each collection starts with.
const ID: &str = "doc000000000001";

/// A collection name never used before in this run: PocketBase removes a
/// deleted collection's files in the background, and a collection made
/// again under the same name (so with the same id) raced that removal.
fn fresh_name() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    format!("docs{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// A new collection whose create and update rules are `rule`, with the
/// record `ID` holding one file; the collection's name.
async fn docs(s: &Server, rule: &str) -> String {
    let name = fresh_name();
    let fields = json!([
        {"name": "title", "type": "text"},
        {"name": "files", "type": "file", "maxSelect": 5, "maxSize": 100000},
        {"name": "cover", "type": "file", "maxSelect": 1},
    ]);
    let body = json!({"name": name, "createRule": rule, "updateRule": rule, "fields": fields});
    s.admin("POST", "/api/collections", body).await;
    let seed = Write {
        method: "POST",
        text: &[("id", ID)],
        files: &[("files", "kept.txt")],
    };
    let (status, body) = seed.send(s, &name, Some(&s.superuser)).await;
    assert_eq!(status, 200, "{}: seeding under {rule}: {body}", s.base);
    name
}

/// A multipart write: `text` keys, and one small text file per
/// `(key, file name)` in `files`.
struct Write {
    method: &'static str,
    text: &'static [(&'static str, &'static str)],
    files: &'static [(&'static str, &'static str)],
}

impl Write {
    /// Sends it to `collection` (an update to its record `ID`); the
    /// status and the body of the answer.
    async fn send(&self, s: &Server, collection: &str, token: Option<&str>) -> (u16, String) {
        let mut form = Form::new().text("title", "t");
        for (k, v) in self.text {
            form = form.text(*k, *v);
        }
        for (k, name) in self.files {
            let part = Part::bytes(b"hello there".to_vec())
                .file_name(*name)
                .mime_str("text/plain")
                .unwrap();
            form = form.part(*k, part);
        }
        let path = match self.method {
            "POST" => format!("/api/collections/{collection}/records"),
            _ => format!("/api/collections/{collection}/records/{ID}"),
        };
        let mut req = s
            .client
            .request(self.method.parse().unwrap(), format!("{}{path}", s.base))
            .multipart(form);
        if let Some(t) = token {
            req = req.header("authorization", t);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }
}

const CASES: &[(&str, Write)] = &[
    (
        "create, nothing",
        Write {
            method: "POST",
            text: &[],
            files: &[],
        },
    ),
    (
        "create, one file",
        Write {
            method: "POST",
            text: &[],
            files: &[("files", "a.txt")],
        },
    ),
    (
        "create, two files of one name",
        Write {
            method: "POST",
            text: &[],
            files: &[("files", "a.txt"), ("files", "a.txt")],
        },
    ),
    (
        "create, files+",
        Write {
            method: "POST",
            text: &[],
            files: &[("files+", "a.txt")],
        },
    ),
    (
        "create, a cover",
        Write {
            method: "POST",
            text: &[],
            files: &[("cover", "c.txt")],
        },
    ),
    (
        "update, nothing",
        Write {
            method: "PATCH",
            text: &[],
            files: &[],
        },
    ),
    (
        "update, files+ one more",
        Write {
            method: "PATCH",
            text: &[],
            files: &[("files+", "b.txt")],
        },
    ),
    (
        "update, +files one more",
        Write {
            method: "PATCH",
            text: &[],
            files: &[("+files", "b.txt")],
        },
    ),
    (
        "update, files replaced by one",
        Write {
            method: "PATCH",
            text: &[],
            files: &[("files", "b.txt")],
        },
    ),
    (
        "update, files replaced by two",
        Write {
            method: "PATCH",
            text: &[],
            files: &[("files", "b.txt"), ("files", "c.txt")],
        },
    ),
];

const RULES: &[&str] = &[
    "@request.body.files:length = 0",
    "@request.body.files:length <= 1",
    "@request.body.files != ''",
    "@request.body.files:isset = false",
    "@request.body.files:each ~ '.txt'",
    "@request.body.files:length = 2",
    "@request.body.cover = ''",
];

#[tokio::test]
async fn uploads_are_in_the_body_a_rule_reads() {
    let Some(both) = start_both().await else {
        return;
    };
    let mut differ = Vec::new();
    for rule in RULES {
        let mut seen = Vec::new();
        for (label, write) in CASES {
            let mut answers = Vec::new();
            for s in [&both.pb, &both.cairn] {
                // A fresh record for each case: an update changes it.
                let collection = docs(s, rule).await;
                answers.push(write.send(s, &collection, None).await.0);
            }
            if answers[0] != answers[1] {
                differ.push(format!(
                    "{rule} | {label}: PocketBase {}, Cairn {}",
                    answers[0], answers[1]
                ));
            }
            seen.push(answers[0]);
        }
        // Every rule both lets a write through and stops one.
        assert!(
            seen.contains(&200) && seen.iter().any(|s| *s != 200),
            "{rule}: {seen:?}"
        );
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

#[tokio::test]
async fn an_upload_cannot_pass_a_rule_that_forbids_files() {
    let app = spawn_app().await;
    let s = &Server::of(&app).await;
    let collection = docs(s, "@request.body.files:length = 0").await;
    for files in [
        &[("files", "a.txt")][..],
        &[("files+", "a.txt")],
        &[("+files", "a.txt")],
    ] {
        let write = Write {
            method: "POST",
            text: &[],
            files,
        };
        assert_eq!(write.send(s, &collection, None).await.0, 400, "{files:?}");
    }
    // Nothing was stored by the refused writes; the control goes through.
    let path = format!("/api/collections/{collection}/records");
    let (_, list) = s.call("GET", &path, Some(&s.superuser), None).await;
    assert_eq!(list["totalItems"], json!(1), "{list}");
    let write = Write {
        method: "POST",
        text: &[],
        files: &[],
    };
    assert_eq!(write.send(s, &collection, None).await.0, 200);
}
