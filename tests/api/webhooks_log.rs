//! The deliveries log pages by key, not by offset: newest first, `limit`
//! (1 to 200, default 50) at a time, each page `before` the last id of the
//! one before it. Paged through, it gives every delivery once, in a stable
//! order, with none of another webhook's; deliveries that arrive while a
//! client pages show up on a fresh first page, never again on a later one
//! (as they would with page numbers over a list that grows at the top).

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, assert_envelope, json},
    webhooks_receiver::{settled, setup, webhook},
};

const WAIT: Duration = Duration::from_secs(30);

async fn page(app: &TestApp, su: &str, hook: &str, query: &str) -> Vec<Value> {
    let path = format!("/api/webhooks/{hook}/deliveries?{query}");
    let resp = app.call("GET", &path, Some(su), None).await;
    assert_eq!(resp.status(), 200, "{path}");
    json(resp).await.as_array().unwrap().clone()
}

fn ids(items: &[Value]) -> Vec<i64> {
    items.iter().map(|d| d["id"].as_i64().unwrap()).collect()
}

/// Every delivery of `hook`, `limit` at a time from `before` on, and the
/// size of each page read (the last, empty one included).
async fn page_through(
    app: &TestApp,
    su: &str,
    hook: &str,
    limit: u32,
    mut before: Option<i64>,
) -> (Vec<i64>, Vec<usize>) {
    let (mut all, mut sizes) = (Vec::new(), Vec::new());
    loop {
        let query = match before {
            Some(b) => format!("limit={limit}&before={b}"),
            None => format!("limit={limit}"),
        };
        let items = page(app, su, hook, &query).await;
        sizes.push(items.len());
        assert!(sizes.len() < 100, "paging does not end: {sizes:?}");
        let Some(last) = items.last() else {
            return (all, sizes);
        };
        before = last["id"].as_i64();
        all.extend(ids(&items));
    }
}

async fn create(app: &TestApp, su: &str, n: usize) {
    for i in 0..n {
        app.post_ok(su, "/api/collections/posts/records", json!({"n": i}))
            .await;
    }
}

#[tokio::test]
async fn paging_gives_every_delivery_once_newest_first() {
    let (app, su, rx) = setup().await;
    let body =
        |url: String| json!({"collection": "posts", "events": ["create"], "url": url, "secret": rx.secret});
    let hook = webhook(&app, &su, body(rx.url("/ok?a"))).await;
    let other = webhook(&app, &su, body(rx.url("/ok?b"))).await;
    let (id, other_id) = (hook["id"].as_str().unwrap(), other["id"].as_str().unwrap());
    create(&app, &su, 205).await;
    rx.wait_for(410, WAIT).await;
    let settle_all = || async {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let all = page(&app, &su, id, "limit=200").await;
            let all2 = page(&app, &su, id, &format!("limit=200&before={}", ids(&all)[199])).await;
            if all.iter().chain(&all2).all(|d| d["status"] == json!("done")) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "not settled");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    settle_all().await;

    // The bounds of `limit`: 50 by default, at most 200, at least 1.
    assert_eq!(page(&app, &su, id, "").await.len(), 50);
    assert_eq!(page(&app, &su, id, "limit=1000").await.len(), 200);
    assert_eq!(page(&app, &su, id, "limit=0").await.len(), 1);

    // Paged 30 at a time: every delivery once, newest first.
    let (seen, sizes) = page_through(&app, &su, id, 30, None).await;
    assert_eq!(sizes, [30, 30, 30, 30, 30, 30, 25, 0]);
    assert_eq!(seen.len(), 205);
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeat: {seen:?}"
    );
    // None of the other webhook's, which has as many of its own.
    let (theirs, _) = page_through(&app, &su, other_id, 200, None).await;
    assert_eq!(theirs.len(), 205);
    assert!(theirs.iter().all(|t| !seen.contains(t)), "pages mix webhooks");
    // Stable: paging again, with another page size, gives the same list.
    let (again, sizes) = page_through(&app, &su, id, 200, None).await;
    assert_eq!(sizes, [200, 5, 0]);
    assert_eq!(again, seen);
    // Each delivery is the record it says, oldest record first at the end.
    let last = page(&app, &su, id, &format!("limit=1&before={}", seen[203])).await;
    assert_eq!(ids(&last), [seen[204]]);
    let body: Value = serde_json::from_str(last[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["data"]["record"]["n"], json!(0));
}

#[tokio::test]
async fn deliveries_that_arrive_while_paging_are_not_seen_twice() {
    let (app, su, rx) = setup().await;
    let hook = webhook(&app, &su, rx.on_create("/ok")).await;
    let id = hook["id"].as_str().unwrap();
    create(&app, &su, 25).await;
    settled(&app, &su, id, 25, WAIT).await;
    let first = page(&app, &su, id, "limit=10").await;
    // Five new deliveries land at the top while the client reads on.
    create(&app, &su, 5).await;
    settled(&app, &su, id, 30, WAIT).await;
    let (rest, sizes) = page_through(&app, &su, id, 10, first.last().unwrap()["id"].as_i64()).await;
    assert_eq!(sizes, [10, 5, 0]);
    let mut seen = ids(&first);
    seen.extend(&rest);
    assert_eq!(seen.len(), 25);
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "{seen:?}");
    // The control: by page number (offset 10 in the grown list), the
    // second page would repeat five of the first.
    let grown = page(&app, &su, id, "limit=200").await;
    let offset_page: Vec<i64> = ids(&grown[10..20]);
    assert_eq!(offset_page.iter().filter(|i| ids(&first).contains(i)).count(), 5);
    // A fresh first page shows the new ones.
    let fresh = page(&app, &su, id, "limit=5").await;
    assert!(ids(&fresh).iter().all(|i| i > &ids(&first)[0]), "{fresh:#?}");
}

#[tokio::test]
async fn the_log_refuses_bad_paging_and_unknown_webhooks() {
    let (app, su, rx) = setup().await;
    let hook = webhook(&app, &su, rx.on_create("/ok")).await;
    let id = hook["id"].as_str().unwrap();
    for query in ["limit=-1", "limit=ten", "before=abc", "before=1.5"] {
        let path = format!("/api/webhooks/{id}/deliveries?{query}");
        assert_envelope(app.call("GET", &path, Some(&su), None).await, 400).await;
    }
    let resp = app
        .call("GET", "/api/webhooks/nosuchwebhook12/deliveries", Some(&su), None)
        .await;
    assert_envelope(resp, 404).await;
    // The control: the same webhook, well asked.
    create(&app, &su, 1).await;
    settled(&app, &su, id, 1, WAIT).await;
    assert_eq!(page(&app, &su, id, "limit=5&before=9999999").await.len(), 1);
}
