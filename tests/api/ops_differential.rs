//! The operations APIs (request log, crons, backups) against the real
//! PocketBase: who may call each route, the envelopes of bad input, which
//! requests end up in the log, and the shapes of what the log answers.
//! Ids, times, sizes and the jobs' ids differ by design (Cairn's jobs are
//! its own); those are compared by shape, or not at all.
//!
//! What these pin: reading the log left an entry per read in Cairn (a log
//! viewer that polls filled the log with itself; PocketBase keeps only the
//! reads that fail), `sort=@random` on the log was a 400, and a backup
//! upload whose file part has no file name (a form's empty file input)
//! was refused for its name's length rather than as a missing file, and
//! one with two file parts could not be read at all.

use std::{collections::BTreeSet, time::Duration};

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::differential::{Server, assert_alike, login, start_both, urlencode};

/// A user (not a superuser) of the `users` collection, signed in.
async fn user_token(s: &Server) -> String {
    s.admin(
        "POST",
        "/api/collections/users/records",
        json!({"email": "ops-diff@example.com", "password": "pass-word-1", "passwordConfirm": "pass-word-1"}),
    )
    .await;
    login(s, "users", "ops-diff@example.com", "pass-word-1").await
}

/// An answer with what differs by design between the servers removed:
/// the status, and the envelope of an error (a success's body is compared
/// by the caller, where it is comparable).
fn envelope(status: u16, body: &Value) -> String {
    if status < 300 {
        format!("{status}")
    } else {
        format!("{status} {body}")
    }
}

/// An error's status and its field errors' codes (for answers whose
/// message is Cairn's own wording).
fn codes(status: u16, body: &Value) -> String {
    let fields: BTreeSet<String> = body["data"]
        .as_object()
        .map(|d| {
            d.iter()
                .map(|(k, v)| format!("{k}:{}", v["code"].as_str().unwrap_or("?")))
                .collect()
        })
        .unwrap_or_default();
    format!("{status} {fields:?}")
}

/// The keys of an object, and of the objects inside it, as one sorted
/// list of dotted paths (`data.status`); `leave` keys are not listed.
fn key_paths(v: &Value, prefix: &str, leave: &[&str], out: &mut BTreeSet<String>) {
    if let Value::Object(o) = v {
        for (k, inner) in o {
            let path = format!("{prefix}{k}");
            if leave.contains(&path.as_str()) {
                continue;
            }
            key_paths(inner, &format!("{path}."), leave, out);
            out.insert(path);
        }
    }
}

async fn upload(s: &Server, form: Form) -> (u16, Value) {
    let resp = s
        .client
        .post(format!("{}/api/backups/upload", s.base))
        .header("authorization", &s.superuser)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn ops_routes_answer_callers_and_bad_input_as_pocketbase_does() {
    let Some(both) = start_both().await else {
        return;
    };
    let mut answers = [Vec::new(), Vec::new()];
    for (i, s) in [&both.pb, &both.cairn].into_iter().enumerate() {
        let user = user_token(s).await;
        let out = &mut answers[i];
        let routes = [
            ("GET", "/api/logs"),
            ("GET", "/api/logs/stats"),
            ("GET", "/api/logs/abc"),
            ("GET", "/api/crons"),
            ("POST", "/api/crons/nope"),
            ("GET", "/api/backups"),
            ("POST", "/api/backups"),
            ("POST", "/api/backups/upload"),
            ("GET", "/api/backups/nope.zip"),
            ("DELETE", "/api/backups/nope.zip"),
            ("POST", "/api/backups/nope.zip/restore"),
        ];
        // Guests and users are refused alike, on every route.
        for (caller, token) in [("guest", None), ("user", Some(user.as_str()))] {
            for (method, path) in routes {
                let (status, body) = s.call(method, path, token, None).await;
                out.push(format!("{caller} {method} {path}: {}", envelope(status, &body)));
            }
        }
        // The superuser: each route's answer to what is not there.
        for (method, path) in [
            ("GET", "/api/logs/abc"),
            ("GET", "/api/logs/%20"),
            ("POST", "/api/crons/nope"),
            ("GET", "/api/crons"),
            ("GET", "/api/backups"),
            ("POST", "/api/backups/nope.zip/restore"),
            // A download takes a file token, never the auth header.
            ("GET", "/api/backups/nope.zip"),
            ("GET", "/api/backups/nope.zip?token=bad"),
        ] {
            let (status, body) = s.call(method, path, Some(&s.superuser), None).await;
            out.push(format!("superuser {method} {path}: {}", envelope(status, &body)));
        }
        // PocketBase's message names the path on disk; Cairn's does not.
        let (status, body) = s
            .call("DELETE", "/api/backups/nope.zip", Some(&s.superuser), None)
            .await;
        out.push(format!("delete missing: {}", codes(status, &body)));
        // Backup names.
        for name in [
            json!("ops_a.zip"),
            json!("UP.zip"),
            json!("a.tar"),
            json!("../x.zip"),
            json!("a b.zip"),
            json!("a.b.zip"),
            json!(format!("{}.zip", "x".repeat(150))),
            json!(5),
        ] {
            let (status, body) = s
                .call(
                    "POST",
                    "/api/backups",
                    Some(&s.superuser),
                    Some(json!({"name": name})),
                )
                .await;
            out.push(format!("create {name}: {}", envelope(status, &body)));
        }
        let (status, body) = s
            .call("POST", "/api/backups", Some(&s.superuser), Some(json!("x")))
            .await;
        out.push(format!("create from a string: {}", envelope(status, &body)));
        // The same name again: the code is PocketBase's, the words Cairn's.
        let (status, body) = s
            .call(
                "POST",
                "/api/backups",
                Some(&s.superuser),
                Some(json!({"name": "ops_a.zip"})),
            )
            .await;
        out.push(format!("create a duplicate: {}", codes(status, &body)));
        // The backup is there, and downloads with a superuser's file
        // token only (a user's is refused).
        let list = s.call("GET", "/api/backups", Some(&s.superuser), None).await.1;
        let keys: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["key"].as_str().unwrap())
            .collect();
        out.push(format!("listed: {keys:?}"));
        for (caller, token) in [("superuser", &s.superuser), ("user", &user)] {
            let (_, file) = s.call("POST", "/api/files/token", Some(token), None).await;
            let path = format!("/api/backups/ops_a.zip?token={}", file["token"].as_str().unwrap());
            let resp = s.client.get(format!("{}{path}", s.base)).send().await.unwrap();
            let kind = resp.headers().get("content-type").cloned();
            out.push(format!(
                "download by a {caller}'s file token: {} {kind:?}",
                resp.status().as_u16()
            ));
        }
        // Uploads that carry no usable file.
        let not_zip = Form::new().part("file", Part::bytes(b"not a zip".to_vec()).file_name("up.zip"));
        let (status, body) = upload(s, not_zip).await;
        out.push(format!("upload not a zip: {}", codes(status, &body)));
        let elsewhere = Form::new().part("other", Part::bytes(b"PK".to_vec()).file_name("up.zip"));
        let (status, body) = upload(s, elsewhere).await;
        out.push(format!("upload under another name: {}", envelope(status, &body)));
        let empty_input = Form::new().part("file", Part::bytes(Vec::new()).file_name(""));
        let (status, body) = upload(s, empty_input).await;
        out.push(format!("upload an empty file input: {}", envelope(status, &body)));
        // Two files: the first is the one looked at.
        let two = Form::new()
            .part("file", Part::bytes(b"not a zip".to_vec()).file_name("two1.zip"))
            .part("file", Part::bytes(b"not a zip".to_vec()).file_name("two2.zip"));
        let (status, body) = upload(s, two).await;
        out.push(format!("upload two files: {}", codes(status, &body)));
        let text = Form::new().text("file", "abc");
        let (status, body) = upload(s, text).await;
        out.push(format!("upload a text field: {}", envelope(status, &body)));
        // Clean up: the list is empty again.
        let (status, body) = s
            .call("DELETE", "/api/backups/ops_a.zip", Some(&s.superuser), None)
            .await;
        out.push(format!("delete: {}", envelope(status, &body)));
        let (_, list) = s.call("GET", "/api/backups", Some(&s.superuser), None).await;
        out.push(format!("left: {list}"));
    }
    let [pb, cairn] = answers;
    assert_alike(&pb, &cairn);
}

/// The log's entries for the requests marked `opsmark`, oldest first,
/// once `want` of them are written (both servers write the log in the
/// background; PocketBase in batches, seconds apart).
async fn marked_entries(s: &Server, want: usize) -> Vec<Value> {
    let path = format!(
        "/api/logs?perPage=100&sort=created&filter={}",
        urlencode("data.url ~ 'opsmark'")
    );
    for _ in 0..100 {
        let (status, page) = s.call("GET", &path, Some(&s.superuser), None).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap().clone();
        if items.len() >= want {
            // Anything written after the last awaited one shows up too.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let (_, page) = s.call("GET", &path, Some(&s.superuser), None).await;
            return page["items"].as_array().unwrap().clone();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{}: fewer than {want} marked log entries", s.base);
}

#[tokio::test]
async fn reading_the_log_is_logged_only_when_it_fails_and_its_shapes_match() {
    let Some(both) = start_both().await else {
        return;
    };
    let mut answers = [Vec::new(), Vec::new()];
    for (i, s) in [&both.pb, &both.cairn].into_iter().enumerate() {
        let user = user_token(s).await;
        let out = &mut answers[i];
        let su = Some(s.superuser.as_str());
        // A request that is logged, whose entry the reads below name.
        s.call("GET", "/api/health?opsmark=0", None, None).await;
        let control = marked_entries(s, 1).await;
        let id = control[0]["id"].as_str().unwrap().to_owned();
        // Reads of the log: successes leave no entry, failures do.
        for (path, token) in [
            ("/api/logs?opsmark=1".to_owned(), su),
            ("/api/logs/stats?opsmark=2".to_owned(), su),
            (format!("/api/logs/{id}?opsmark=3"), su),
            ("/api/logs?opsmark=4&sort=@random".to_owned(), su),
            (
                format!("/api/logs?opsmark=5&filter={}", urlencode("nope = 1")),
                su,
            ),
            ("/api/logs/nope?opsmark=6".to_owned(), su),
            ("/api/logs?opsmark=7".to_owned(), Some(user.as_str())),
            ("/api/logs/stats?opsmark=8".to_owned(), None),
            ("/api/health?opsmark=9".to_owned(), None),
        ] {
            let (status, _) = s.call("GET", &path, token, None).await;
            out.push(format!("{}: {status}", path.replace(&id, "{id}")));
        }
        let entries = marked_entries(s, 6).await;
        for e in &entries {
            let mut keys = BTreeSet::new();
            // `requestId` is Cairn's addition; `details` is written by
            // each server its own way (PocketBase: null, text or an
            // object). The message has the URL percent-decoded, where
            // `data.url` has it as sent.
            key_paths(e, "", &["data.requestId", "data.details"], &mut keys);
            out.push(format!(
                "entry {} {} {} {}: {keys:?}",
                e["message"], e["data"]["url"], e["level"], e["data"]["status"]
            ));
        }
        // The same entries through the list's envelope, stats and fields.
        let marked = urlencode("data.url ~ 'opsmark'");
        let (_, page) = s
            .call("GET", &format!("/api/logs?perPage=2&filter={marked}"), su, None)
            .await;
        out.push(format!(
            "page: {} {} {} {} {}",
            page["page"],
            page["perPage"],
            page["totalItems"],
            page["totalPages"],
            page["items"].as_array().map_or(0, Vec::len)
        ));
        let (_, page) = s
            .call("GET", &format!("/api/logs?skipTotal=1&filter={marked}"), su, None)
            .await;
        out.push(format!(
            "skipTotal: {} {}",
            page["totalItems"], page["totalPages"]
        ));
        let (_, page) = s
            .call(
                "GET",
                &format!("/api/logs?fields=id,data.status,data.url&sort=-data.status&filter={marked}"),
                su,
                None,
            )
            .await;
        let mut keys = BTreeSet::new();
        key_paths(&page["items"][0], "", &[], &mut keys);
        out.push(format!("fields: {keys:?} {}", page["items"][0]["data"]["status"]));
        let (_, stats) = s
            .call("GET", &format!("/api/logs/stats?filter={marked}"), su, None)
            .await;
        let hours = stats.as_array().unwrap();
        let total: i64 = hours.iter().map(|h| h["total"].as_i64().unwrap()).sum();
        let shapes: BTreeSet<String> = hours
            .iter()
            .map(|h| {
                let date = h["date"].as_str().unwrap();
                let hourly = date.len() == 24 && date.ends_with(":00:00.000Z");
                let mut keys = BTreeSet::new();
                key_paths(h, "", &[], &mut keys);
                format!("{keys:?} hourly={hourly}")
            })
            .collect();
        out.push(format!("stats: {total} {shapes:?}"));
        // Which sorts and filters the log takes (statuses; the words of a
        // refusal are Cairn's own).
        for sort in [
            "id",
            "-created",
            "level",
            "-message",
            "data.status",
            "-data.url",
            "@rowid",
            "-@rowid",
            "@random",
            "+level",
            " level ",
            "nope",
            "rowid",
            "@nope",
            "level,",
            "level,,id",
        ] {
            let path = format!("/api/logs?perPage=1&sort={}", urlencode(sort));
            let (status, _) = s.call("GET", &path, su, None).await;
            out.push(format!("sort {sort:?}: {status}"));
        }
        for filter in [
            "level > 0",
            "data.status >= 400 && message ~ 'GET'",
            "data.nope = 1",
            "created > '2020-01-01' && id != ''",
            "nope = 1",
            "level = ",
            "(level = 1",
            "level == 1",
            "data.a-b = 1",
            "@request.auth.id = ''",
            "@collection.users.id != ''",
        ] {
            for route in ["/api/logs", "/api/logs/stats"] {
                let path = format!("{route}?filter={}", urlencode(filter));
                let (status, _) = s.call("GET", &path, su, None).await;
                out.push(format!("{route} filter {filter:?}: {status}"));
            }
        }
    }
    let [pb, cairn] = answers;
    assert_alike(&pb, &cairn);
}
