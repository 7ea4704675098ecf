//! `POST /api/batch` as PocketBase 0.40.6 runs it, compared case by case
//! with the real thing (the form of a batch is `batch_form`'s):
//! - the failure named is the first in request order: PocketBase runs
//!   the requests one by one, so request 0's field errors win over a
//!   refusal (a 403, a missing collection, a route that cannot be
//!   batched) at request 1. Cairn named the later one, whose problem it
//!   found while preparing, and a client showed the wrong request's error;
//! - rules read `@request.context` as "batch" (Cairn said "default", so a
//!   rule keeping writes out of batches let them through, and one for
//!   batches only refused them);
//! - an upsert's rules read `@request.method` as the POST or PATCH it
//!   turns into (Cairn said PUT, so a rule on the method refused an
//!   upsert that PocketBase runs, and ran one PocketBase refuses);
//! - a numeric id is its text, as in a create sent alone (Cairn dropped
//!   it for a drawn id: an upsert of id 123456789012345 made a new
//!   record every time, and an id of 5 was not refused);
//! - a multipart file part names its request's index as written
//!   (`requests.00.doc` is no request's);
//! - a URL's fragment is no part of its query (`?ok=1#x` sends ok=1;
//!   Cairn read ok as `1#x`);
//! - a request's `expand` shows the data as that request left it (Cairn
//!   expanded every answer after the commit: a relation renamed or
//!   deleted by a later request showed its end state, or nothing).
//!
//! Each case is followed by the collection's rows, so a batch that fails
//! is seen to leave nothing behind, on both servers alike; and realtime
//! subscribers hear a committed batch's every write and nothing of a
//! failed one (a rehearsed request included).

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::differential::{Server, assert_alike, start_both};

async fn setup(s: &Server) {
    s.admin(
        "PATCH",
        "/api/settings",
        json!({"batch": {"enabled": true, "maxRequests": 20, "timeout": 10}, "rateLimits": {"enabled": false}}),
    )
    .await;
    let title = json!([{"name": "title", "type": "text"}, {"name": "doc", "type": "file", "maxSelect": 2}]);
    for (name, create, update) in [
        ("bd_notes", json!(""), json!("")),
        ("bd_locked", Value::Null, Value::Null),
        // Only in batches, and never in batches.
        (
            "bd_ctx",
            json!("@request.context = 'batch'"),
            json!("@request.context != 'batch'"),
        ),
        (
            "bd_method",
            json!("@request.method = 'POST'"),
            json!("@request.method = 'PATCH'"),
        ),
        (
            "bd_put",
            json!("@request.method = 'PUT'"),
            json!("@request.method = 'PUT'"),
        ),
        ("bd_query", json!("@request.query.ok = '1'"), json!("")),
    ] {
        s.admin(
            "POST",
            "/api/collections",
            json!({"name": name, "listRule": "", "viewRule": "", "createRule": create,
                "updateRule": update, "deleteRule": "", "fields": title}),
        )
        .await;
    }
    let people = s
        .admin(
            "POST",
            "/api/collections",
            json!({"name": "bd_people", "listRule": "", "viewRule": "", "createRule": "",
                "updateRule": "", "deleteRule": "", "fields": [{"name": "name", "type": "text"}]}),
        )
        .await;
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "bd_pets", "listRule": "", "viewRule": "", "createRule": "",
        "updateRule": "", "deleteRule": "", "fields": [
            {"name": "title", "type": "text"},
            {"name": "owner", "type": "relation", "collectionId": people["id"]},
        ]}),
    )
    .await;
    for c in ["bd_ctx", "bd_method", "bd_put"] {
        s.admin(
            "POST",
            &format!("/api/collections/{c}/records"),
            json!({"id": "bdstored0000001", "title": "stored"}),
        )
        .await;
    }
}

/// Records compared whole, but for the times they were written.
fn comparable(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(o) => {
                o.remove("created");
                o.remove("updated");
                o.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

fn create(c: &str, body: Value) -> Value {
    json!({"method": "POST", "url": format!("/api/collections/{c}/records"), "body": body})
}

fn upsert(c: &str, body: Value) -> Value {
    json!({"method": "PUT", "url": format!("/api/collections/{c}/records"), "body": body})
}

fn patch(c: &str, id: &str, body: Value) -> Value {
    json!({"method": "PATCH", "url": format!("/api/collections/{c}/records/{id}"), "body": body})
}

/// The batches, each sent by a guest, then the rows of the collections
/// it wrote to.
fn batches() -> Vec<(Vec<&'static str>, Value)> {
    let bad_id = create("bd_notes", json!({"id": "short"}));
    vec![
        // First failure in order: field errors at 0, a refusal after.
        (
            vec!["bd_notes", "bd_locked"],
            json!([bad_id, create("bd_locked", json!({"title": "x"}))]),
        ),
        (
            vec!["bd_notes"],
            json!([
                create("bd_notes", json!({"id": "bdorder00000001"})),
                create("bd_notes", json!({"id": "bdorder00000001"})),
                create("bd_locked", json!({"title": "x"})),
            ]),
        ),
        (
            vec!["bd_notes"],
            json!([
                patch("bd_notes", "bdmissing000001", json!({})),
                create("bd_locked", json!({}))
            ]),
        ),
        (vec!["bd_notes"], json!([bad_id, create("bd_nope", json!({}))])),
        (
            vec!["bd_notes"],
            json!([bad_id, {"method": "GET", "url": "/api/collections/bd_notes/records"}]),
        ),
        (
            vec!["bd_notes"],
            json!([bad_id, {"method": "POST", "url": "/api/collections/bd_notes/records?fields=title:excerpt(x)", "body": {}}]),
        ),
        // The positive control: all well, the refusal at the end still fails it.
        (
            vec!["bd_notes"],
            json!([
                create("bd_notes", json!({"id": "bdorder00000002"})),
                create("bd_locked", json!({}))
            ]),
        ),
        (
            vec!["bd_notes"],
            json!([create(
                "bd_notes",
                json!({"id": "bdorder00000003", "title": "kept"})
            )]),
        ),
        // @request.context is "batch": creates only in batches, updates never.
        (
            vec!["bd_ctx"],
            json!([create(
                "bd_ctx",
                json!({"id": "bdctx0000000001", "title": "in batch"})
            )]),
        ),
        (
            vec!["bd_ctx"],
            json!([patch("bd_ctx", "bdstored0000001", json!({"title": "changed"}))]),
        ),
        (
            vec!["bd_ctx"],
            json!([upsert(
                "bd_ctx",
                json!({"id": "bdstored0000001", "title": "upserted"})
            )]),
        ),
        // An upsert is a POST or a PATCH to the rules.
        (
            vec!["bd_method"],
            json!([
                upsert("bd_method", json!({"id": "bdstored0000001", "title": "updated"})),
                upsert("bd_method", json!({"id": "bdmethod0000001", "title": "created"})),
                upsert(
                    "bd_method",
                    json!({"id": "bdmethod0000001", "title": "then updated"})
                ),
            ]),
        ),
        (
            vec!["bd_put"],
            json!([upsert("bd_put", json!({"id": "bdstored0000001", "title": "put"}))]),
        ),
        (
            vec!["bd_put"],
            json!([upsert("bd_put", json!({"id": "bdput0000000001", "title": "put"}))]),
        ),
        // A fragment is no part of the query.
        (
            vec!["bd_query"],
            json!([
                {"method": "POST", "url": "/api/collections/bd_query/records?ok=1#x", "body": {"id": "bdquery00000001"}},
                {"method": "POST", "url": "/api/collections/bd_query/records?ok=1&ok=2#", "body": {"id": "bdquery00000002"}},
            ]),
        ),
        (
            vec!["bd_query"],
            json!([{"method": "POST", "url": "/api/collections/bd_query/records?ok=2#ok=1", "body": {"id": "bdquery00000003"}}]),
        ),
        // A request's expansions show the data as it left it, not as
        // the requests after it did.
        (
            vec!["bd_pets"],
            json!([
                create("bd_people", json!({"id": "bdperson0000001", "name": "old"})),
                {"method": "POST", "url": "/api/collections/bd_pets/records?expand=owner&fields=id,owner,expand.owner.name",
                    "body": {"id": "bdpet0000000001", "owner": "bdperson0000001"}},
                patch("bd_people", "bdperson0000001", json!({"name": "new"})),
                {"method": "PATCH", "url": "/api/collections/bd_pets/records/bdpet0000000001?expand=owner",
                    "body": {"title": "renamed"}},
                {"method": "DELETE", "url": "/api/collections/bd_people/records/bdperson0000001"},
            ]),
        ),
        // Ids that are numbers or bools are their text.
        (
            vec!["bd_notes"],
            json!([upsert(
                "bd_notes",
                json!({"id": 123456789012345_u64, "title": "one"})
            )]),
        ),
        (
            vec!["bd_notes"],
            json!([upsert(
                "bd_notes",
                json!({"id": 123456789012345_u64, "title": "the same one"})
            )]),
        ),
        (vec!["bd_notes"], json!([upsert("bd_notes", json!({"id": 5}))])),
        (vec!["bd_notes"], json!([create("bd_notes", json!({"id": true}))])),
        (vec!["bd_notes"], json!([create("bd_notes", json!({"id": 1.5}))])),
    ]
}

async fn rows(s: &Server, c: &str) -> Value {
    let (_, list) = s
        .call(
            "GET",
            &format!("/api/collections/{c}/records?sort=id&perPage=100&fields=id,title,doc"),
            Some(&s.superuser),
            None,
        )
        .await;
    list["items"].clone()
}

async fn run(s: &Server) -> Vec<String> {
    let mut out = Vec::new();
    for (touched, requests) in batches() {
        let (status, body) = s
            .call("POST", "/api/batch", None, Some(json!({"requests": requests})))
            .await;
        let mut after = Vec::new();
        for c in touched {
            after.push(rows(s, c).await);
        }
        out.push(format!(
            "{requests}\n    {status} {}\n    rows after: {}",
            comparable(body),
            Value::Array(after)
        ));
    }
    // Outside a batch, the context is not "batch": the create is refused
    // and the update goes through.
    for (method, path, body) in [
        (
            "POST",
            "/api/collections/bd_ctx/records",
            json!({"id": "bdctx0000000002"}),
        ),
        (
            "PATCH",
            "/api/collections/bd_ctx/records/bdstored0000001",
            json!({"title": "alone"}),
        ),
    ] {
        let (status, body) = s.call(method, path, None, Some(body)).await;
        out.push(format!("{method} {path}\n    {status} {}", comparable(body)));
    }
    // A request's own Authorization header is no sign-in: the batch's
    // caller writes every request. A guest's batch naming a superuser's
    // token is refused; a superuser's naming none goes through.
    for (caller, header) in [(None, s.superuser.as_str()), (Some(s.superuser.as_str()), "")] {
        let requests = json!([{
            "method": "POST",
            "url": "/api/collections/bd_locked/records",
            "headers": {"Authorization": header},
            "body": {"id": format!("bdheader000000{}", caller.is_some() as u8), "title": "by header"},
        }]);
        let (status, body) = s
            .call("POST", "/api/batch", caller, Some(json!({"requests": requests})))
            .await;
        let written = rows(s, "bd_locked").await;
        if caller.is_some() {
            assert_eq!(status, 200, "the control goes through: {body}");
        }
        let by = if caller.is_some() { "superuser" } else { "guest" };
        out.push(format!(
            "{by}'s batch, a header of {}: {status} {}\n    rows after: {written}",
            if header.is_empty() {
                "none"
            } else {
                "a superuser's"
            },
            comparable(body)["data"]
        ));
    }
    // A file part's index is the request's as written.
    let keys = [
        "requests.0.doc",
        "requests.00.doc",
        "requests.+0.doc",
        "requests.1.doc",
    ];
    for (n, key) in keys.into_iter().enumerate() {
        let id = format!("bdfile00000000{n}");
        let payload = json!({"requests": [create("bd_notes", json!({"id": id}))]});
        let form = Form::new()
            .text("@jsonPayload", payload.to_string())
            .part(key, Part::bytes(b"hello".to_vec()).file_name("hello.txt"));
        let resp = s
            .client
            .post(format!("{}/api/batch", s.base))
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let files = body[0]["body"]["doc"].as_array().map(Vec::len);
        out.push(format!("{key}: {status}, files {files:?}"));
    }
    out
}

#[tokio::test]
async fn batches_run_as_pocketbase_runs_them() {
    let Some(both) = start_both().await else {
        return;
    };
    setup(&both.pb).await;
    setup(&both.cairn).await;
    let pb = run(&both.pb).await;
    let cairn = run(&both.cairn).await;
    assert_alike(&pb, &cairn);
}

/// What a guest subscribed to `bd_notes/*` hears on `s` from a failed
/// batch (one failing while it runs, one refused while it is prepared,
/// whose earlier request is rehearsed and rolled back) and from a
/// committed one, until the committed batch's last record: only the
/// committed batch's events, every one of them.
async fn heard(s: &Server) -> Vec<String> {
    let mut sse = crate::sse::Sse::open_at(&s.client, &s.base).await;
    let (status, _) = s
        .call(
            "POST",
            "/api/realtime",
            None,
            Some(json!({"clientId": sse.client_id, "subscriptions": ["bd_notes/*"]})),
        )
        .await;
    assert_eq!(status, 204);
    let batches = [
        json!([
            create("bd_notes", json!({"id": "bdrtfail0000001"})),
            create("bd_notes", json!({"id": "x"}))
        ]),
        json!([
            create("bd_notes", json!({"id": "bdrtfail0000002"})),
            create("bd_locked", json!({}))
        ]),
        json!([
            create("bd_notes", json!({"id": "bdrtok000000001", "title": "a"})),
            patch("bd_notes", "bdrtok000000001", json!({"title": "b"})),
            upsert("bd_notes", json!({"id": "bdrtok000000002", "title": "c"})),
            {"method": "DELETE", "url": "/api/collections/bd_notes/records/bdrtok000000002"},
            create("bd_notes", json!({"id": "bdrtok000000003", "title": "mark"})),
        ]),
    ];
    for requests in batches {
        s.call("POST", "/api/batch", None, Some(json!({"requests": requests})))
            .await;
    }
    let mut events = Vec::new();
    let mut marked = false;
    loop {
        let wait = std::time::Duration::from_millis(if marked { 300 } else { 5000 });
        let Ok(event) = sse.next_within(wait).await else {
            assert!(marked, "the mark reached the stream");
            break;
        };
        let mut data = comparable(event.data);
        marked |= data["record"]["title"] == "mark";
        if let Some(record) = data["record"].as_object_mut() {
            record.retain(|k, _| k == "id" || k == "title");
        }
        events.push(format!("{} {data}", event.name));
    }
    events.sort();
    events
}

#[tokio::test]
async fn subscribers_hear_committed_batches_only() {
    let Some(both) = start_both().await else {
        return;
    };
    setup(&both.pb).await;
    setup(&both.cairn).await;
    let pb = heard(&both.pb).await;
    let cairn = heard(&both.cairn).await;
    assert_eq!(pb.len(), 5, "{pb:?}");
    assert_alike(&pb, &cairn);
}
