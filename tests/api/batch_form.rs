//! The form of `POST /api/batch`'s requests, checked before any runs, as
//! PocketBase checks it: a request that is not `{method, url, headers,
//! body}` of those types makes the body unreadable; a missing method or
//! URL, or a method PocketBase does not know (a lower-case `post`
//! included), is a field error under `data.requests.N`. Cairn took
//! `post` as POST and ran it, and answered the rest as a failed request
//! of the batch. Compared with PocketBase, case by case.

use serde_json::{Value, json};

use crate::differential::{Server, start_both};

/// A collection anyone may write, and batches on; its name.
async fn setup(s: &Server) -> &'static str {
    s.admin(
        "PATCH",
        "/api/settings",
        json!({"batch": {"enabled": true, "maxRequests": 10}}),
    )
    .await;
    let fields = json!([{"name": "title", "type": "text"}]);
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "notes", "listRule": "", "createRule": "", "fields": fields}),
    )
    .await;
    "notes"
}

/// The status, the whole body of an error, and for a success the titles
/// written (ids and times differ by design).
async fn send(s: &Server, requests: Value) -> (u16, Value) {
    let (status, body) = s
        .call("POST", "/api/batch", None, Some(json!({"requests": requests})))
        .await;
    if status != 200 {
        return (status, body);
    }
    let titles = body
        .as_array()
        .map(|items| items.iter().map(|i| i["body"]["title"].clone()).collect())
        .unwrap_or_default();
    (status, Value::Array(titles))
}

#[tokio::test]
async fn a_batch_request_of_the_wrong_form_is_refused_as_pocketbase_refuses_it() {
    let Some(both) = start_both().await else {
        return;
    };
    let url = format!("/api/collections/{}/records", setup(&both.pb).await);
    setup(&both.cairn).await;
    let ok = json!({"method": "POST", "url": url, "body": {"title": "ok"}});
    let cases = [
        // The positive control: a well-formed batch runs.
        json!([ok, {"method": "POST", "url": url, "headers": {"x-a": "1", "x-b": null}, "body": null}]),
        json!([ok, {"method": "post", "url": url, "body": {"title": "lower"}}]),
        json!([{"method": "Patch", "url": format!("{url}/aaaaaaaaaaaaaaa")}]),
        json!([{"method": "x"}, ok, {"url": url}, {"method": "", "url": ""}, {"method": "HEAD", "url": url}]),
        json!([{"method": null, "url": url}]),
        json!([{"method": 1, "url": url}]),
        json!([{"method": "POST", "url": 5}]),
        json!([ok, "abc"]),
        json!([{"method": "POST", "url": url, "body": [1]}]),
        json!([{"method": "POST", "url": url, "headers": "x"}]),
        json!([{"method": "POST", "url": url, "headers": {"x-a": 5}}]),
    ];
    let mut differences = Vec::new();
    for case in cases {
        let pb = send(&both.pb, case.clone()).await;
        let cairn = send(&both.cairn, case.clone()).await;
        if pb != cairn {
            differences.push(format!("{case}\n  PocketBase: {pb:?}\n  Cairn:      {cairn:?}"));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    // Only the control's two records were written: nothing of a refused
    // batch, its `ok` request included.
    let (_, list) = both
        .cairn
        .call("GET", &format!("{url}?perPage=100"), None, None)
        .await;
    assert_eq!(list["totalItems"], 2, "{list}");
}
