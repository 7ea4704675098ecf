//! Webhook deliveries, checked by a receiver that verifies each request
//! with the `standardwebhooks` library (tests/webhooks/receiver.py):
//! signed and shaped as documented, retried after a failure with the same
//! `webhook-id`, nothing for a write that rolled back, in order per record,
//! and only for records that match the filter.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, json},
    webhooks_receiver::{deliveries, settled, setup, setup_with, webhook},
};

const WAIT: Duration = Duration::from_secs(20);

fn payloads(log: &[Value]) -> Vec<Value> {
    log.iter().map(|e| e["payload"].clone()).collect()
}

#[tokio::test]
async fn deliveries_are_signed_shaped_and_verified_by_the_library() {
    let (app, su, rx) = setup().await;
    let hook = webhook(
        &app,
        &su,
        json!({"collection": "posts", "events": ["create", "update", "delete"],
               "url": rx.url("/ok"), "secret": rx.secret}),
    )
    .await;
    assert_eq!(
        hook["secret"],
        json!(rx.secret),
        "the answer to a create carries the secret"
    );
    let post = app
        .post_ok(
            &su,
            "/api/collections/posts/records",
            json!({"title": "a", "n": 1, "note": "hush"}),
        )
        .await;
    let id = post["id"].as_str().unwrap();
    let path = format!("/api/collections/posts/records/{id}");
    let resp = app
        .call("PATCH", &path, Some(&su), Some(json!({"title": "b"})))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.call("DELETE", &path, Some(&su), None).await.status(), 204);

    let log = rx.wait_for(3, WAIT).await;
    for e in &log {
        assert_eq!(e["verified"], json!(true), "{e:#}");
        assert!(e["id"].as_str().unwrap().starts_with("msg_"), "{e:#}");
        assert_eq!(e["contentType"], json!("application/json"));
    }
    let p = payloads(&log);
    assert_eq!(p[0]["type"], json!("record.create"));
    assert_eq!(p[1]["type"], json!("record.update"));
    assert_eq!(p[2]["type"], json!("record.delete"));
    assert_eq!(p[0]["data"]["event"], json!("create"));
    assert_eq!(p[0]["data"]["collection"]["name"], json!("posts"));
    assert_eq!(p[0]["data"]["record"]["id"], json!(id));
    assert_eq!(p[0]["data"]["record"]["title"], json!("a"));
    assert_eq!(p[0]["data"]["record"]["collectionName"], json!("posts"));
    assert!(
        p[0]["data"]["record"].get("note").is_none(),
        "hidden field sent: {}",
        p[0]
    );
    assert!(p[0]["data"].get("previous").is_none());
    assert_eq!(p[1]["data"]["record"]["title"], json!("b"));
    assert_eq!(p[1]["data"]["previous"]["title"], json!("a"));
    assert!(p[1]["data"]["previous"].get("note").is_none());
    assert_eq!(p[2]["data"]["record"]["title"], json!("b"));
    assert!(p[0]["timestamp"].as_str().unwrap().ends_with('Z'));
    // Three messages, three ids.
    let ids: std::collections::HashSet<&str> = log.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3);

    let list = settled(&app, &su, hook["id"].as_str().unwrap(), 3, WAIT).await;
    assert!(list.iter().all(|d| d["status"] == json!("done")), "{list:#?}");
    assert_eq!(list[0]["result"]["status"], json!(200));
    assert_eq!(list[0]["type"], json!("record.delete"), "newest first");
    assert_eq!(list[2]["messageId"], log[0]["id"]);

    // The control: a webhook signing with another secret fails the same
    // library's verification, so `verified` above means something.
    let other = cairn::webhooks::sign::generate_secret();
    webhook(
        &app,
        &su,
        json!({"collection": "posts", "events": ["create"], "url": rx.url("/ok"), "secret": other}),
    )
    .await;
    app.post_ok(&su, "/api/collections/posts/records", json!({"title": "c"}))
        .await;
    let log = rx.wait_for(5, WAIT).await;
    let unverified: Vec<&Value> = log.iter().filter(|e| e["verified"] == json!(false)).collect();
    assert_eq!(unverified.len(), 1, "{log:#?}");
    assert!(
        unverified[0]["error"]
            .as_str()
            .unwrap()
            .contains("No matching signature")
    );
}

#[tokio::test]
async fn hidden_fields_only_when_asked_and_never_secrets() {
    let (app, su, rx) = setup().await;
    for (path, hidden) in [("/ok?plain", false), ("/ok?hidden", true)] {
        webhook(
            &app,
            &su,
            json!({"collection": "*", "events": ["create", "update", "delete"], "url": rx.url(path),
                   "secret": rx.secret, "includeHidden": hidden}),
        )
        .await;
    }
    let post = app
        .post_ok(
            &su,
            "/api/collections/posts/records",
            json!({"title": "a", "note": "hush"}),
        )
        .await;
    let path = format!("/api/collections/posts/records/{}", post["id"].as_str().unwrap());
    let resp = app
        .call("PATCH", &path, Some(&su), Some(json!({"note": "shh"})))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.call("DELETE", &path, Some(&su), None).await.status(), 204);
    // A sign-up: an auth record, whose password hash and tokenKey never leave.
    let user = json!({"email": "u@example.com", "password": "pass-12345", "passwordConfirm": "pass-12345"});
    let resp = app
        .call("POST", "/api/collections/users/records", None, Some(user))
        .await;
    assert_eq!(resp.status(), 200);
    let log = rx.wait_for(8, WAIT).await;
    let by = |p: &str, t: &str| -> Value {
        log.iter()
            .find(|e| {
                e["path"] == json!(p)
                    && e["payload"]["type"] == json!(t)
                    && e["payload"]["data"]["collection"]["name"] != json!("users")
            })
            .map(|e| e["payload"]["data"].clone())
            .unwrap_or_else(|| panic!("no {t} at {p}: {log:#?}"))
    };
    assert!(by("/ok?plain", "record.create")["record"].get("note").is_none());
    assert_eq!(by("/ok?hidden", "record.create")["record"]["note"], json!("hush"));
    assert_eq!(
        by("/ok?hidden", "record.update")["previous"]["note"],
        json!("hush")
    );
    assert_eq!(by("/ok?hidden", "record.update")["record"]["note"], json!("shh"));
    assert!(by("/ok?plain", "record.update")["previous"].get("note").is_none());
    assert_eq!(by("/ok?hidden", "record.delete")["record"]["note"], json!("shh"));
    assert!(by("/ok?plain", "record.delete")["record"].get("note").is_none());
    assert_eq!(by("/ok?plain", "record.delete")["record"]["title"], json!("a"));
    let users: Vec<&Value> = log
        .iter()
        .filter(|e| e["payload"]["data"]["collection"]["name"] == json!("users"))
        .collect();
    assert_eq!(users.len(), 2, "{log:#?}");
    for e in users {
        let record = &e["payload"]["data"]["record"];
        assert_eq!(record["email"], json!("u@example.com"), "{e:#}");
        assert!(
            record.get("password").is_none() && record.get("tokenKey").is_none(),
            "{e:#}"
        );
        assert!(!e["body"].as_str().unwrap().contains("argon2"), "{e:#}");
    }
}

#[tokio::test]
async fn a_failed_delivery_is_retried_with_the_same_id() {
    let (app, su, rx) = setup().await;
    let hook = webhook(&app, &su, rx.on_create("/fail/2")).await;
    app.post_ok(&su, "/api/collections/posts/records", json!({"title": "a"}))
        .await;
    let log = rx.wait_for(3, WAIT).await;
    assert!(log.iter().all(|e| e["verified"] == json!(true)), "{log:#?}");
    assert!(log.iter().all(|e| e["id"] == log[0]["id"]), "{log:#?}");
    assert_eq!(
        log[0]["body"], log[2]["body"],
        "every attempt sends the same body"
    );
    let list = settled(&app, &su, hook["id"].as_str().unwrap(), 1, WAIT).await;
    assert_eq!(list[0]["status"], json!("done"), "{list:#?}");
    assert_eq!(list[0]["attempts"], json!(3));
    // The webhook recovered: it is not failing any more.
    let h = json(
        app.call(
            "GET",
            &format!("/api/webhooks/{}", hook["id"].as_str().unwrap()),
            Some(&su),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(h["state"], json!("enabled"), "{h:#}");

    // Manual redelivery: the same message again.
    let delivery = list[0]["id"].as_i64().unwrap();
    let path = format!(
        "/api/webhooks/{}/deliveries/{delivery}/redeliver",
        hook["id"].as_str().unwrap()
    );
    assert_eq!(app.call("POST", &path, Some(&su), None).await.status(), 204);
    let log = rx.wait_for(4, WAIT).await;
    assert_eq!(log[3]["id"], log[0]["id"]);
    assert_eq!(log[3]["verified"], json!(true));
    // A delivery of another webhook is not found under this one.
    let wrong = format!("/api/webhooks/nosuchwebhook12/deliveries/{delivery}/redeliver");
    assert_eq!(app.call("POST", &wrong, Some(&su), None).await.status(), 404);
}

#[tokio::test]
async fn a_write_that_rolls_back_delivers_nothing() {
    let (app, su, rx) = setup().await;
    let hook = webhook(
        &app,
        &su,
        json!({"collection": "posts", "events": ["create", "update", "delete"], "url": rx.url("/ok"), "secret": rx.secret}),
    )
    .await;
    // A batch whose last request fails: its first create rolls back.
    let batch = json!({"requests": [
        {"method": "POST", "url": "/api/collections/posts/records", "body": {"title": "in a failed batch"}},
        {"method": "POST", "url": "/api/collections/posts/records", "body": {"id": "too-short"}}
    ]});
    let resp = app.call("POST", "/api/batch", Some(&su), Some(batch)).await;
    assert_eq!(resp.status(), 400);
    // The positive control, last: once it is delivered, anything enqueued
    // before it would have been too (the queue runs in id order).
    let batch = json!({"requests": [
        {"method": "POST", "url": "/api/collections/posts/records", "body": {"title": "committed"}}
    ]});
    let resp = app.call("POST", "/api/batch", Some(&su), Some(batch)).await;
    assert_eq!(resp.status(), 200);
    let log = rx.wait_for(1, WAIT).await;
    settled(&app, &su, hook["id"].as_str().unwrap(), 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log2 = rx.log().await;
    assert_eq!(log2.len(), 1, "{log2:#?}");
    assert_eq!(log[0]["payload"]["data"]["record"]["title"], json!("committed"));
    let jobs: i64 = app
        .state
        .store
        .data
        .read(|c| {
            c.query_row("SELECT count(*) FROM _jobs WHERE kind = 'webhook'", [], |r| {
                r.get(0)
            })
            .map_err(cairn::store::StoreError::from)
        })
        .await
        .unwrap();
    assert_eq!(jobs, 1);
}

/// A record's later deliveries wait while an earlier one fails: they are
/// committed and due long before its retry, yet arrive after it. Another
/// record's delivery (the control) is not held back.
#[tokio::test]
async fn one_records_deliveries_arrive_in_order() {
    // A failed attempt is retried 2 to 4 s later: a window no delivery
    // sent at once could fall outside of.
    let (app, su, rx) = setup_with(|c| {
        c.jobs.retry_base = Duration::from_secs(4);
        c.jobs.retry_cap = Duration::from_secs(4);
    })
    .await;
    // The first request to /fail/1 fails: record a's create.
    webhook(
        &app,
        &su,
        json!({"collection": "posts", "events": ["create", "update"], "url": rx.url("/fail/1"), "secret": rx.secret}),
    )
    .await;
    let a = app
        .post_ok(&su, "/api/collections/posts/records", json!({"n": 0}))
        .await;
    rx.wait_for(1, WAIT).await;
    let path = format!("/api/collections/posts/records/{}", a["id"].as_str().unwrap());
    for n in 1..=5 {
        let resp = app.call("PATCH", &path, Some(&su), Some(json!({"n": n}))).await;
        assert_eq!(resp.status(), 200);
    }
    // Record b's create, after every change of a.
    let b = app
        .post_ok(&su, "/api/collections/posts/records", json!({"n": 100}))
        .await;
    let committed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();

    let log = rx.wait_for(8, WAIT).await;
    let seen: Vec<i64> = log
        .iter()
        .map(|e| e["payload"]["data"]["record"]["n"].as_i64().unwrap())
        .collect();
    // a's failed create, b's (not held back), a's create again, then a's
    // changes in order.
    assert_eq!(seen, [0, 100, 0, 1, 2, 3, 4, 5], "{log:#?}");
    assert_eq!(log[1]["payload"]["data"]["record"]["id"], b["id"]);
    let at = |i: usize| log[i]["received"].as_f64().unwrap();
    let retried = at(2);
    assert!(
        retried - at(0) >= 1.9,
        "the retry came {} s after the failure",
        retried - at(0)
    );
    // The hold-back: every change of a was committed before the retry,
    // yet none was sent before it succeeded.
    assert!(
        committed < retried,
        "the changes were committed {} s late",
        committed - retried
    );
    assert!((3..8).all(|i| at(i) >= retried), "{log:#?}");
    // The control: b went out while a's create waited for its retry.
    assert!(at(1) < retried, "{log:#?}");
}

#[tokio::test]
async fn only_records_matching_the_filter_are_delivered() {
    let (app, su, rx) = setup().await;
    webhook(
        &app,
        &su,
        json!({"collection": "posts", "events": ["create", "delete"], "filter": "n > 5 && title != 'skip'",
               "url": rx.url("/ok"), "secret": rx.secret}),
    )
    .await;
    let small = app
        .post_ok(&su, "/api/collections/posts/records", json!({"n": 3}))
        .await;
    app.post_ok(
        &su,
        "/api/collections/posts/records",
        json!({"n": 9, "title": "skip"}),
    )
    .await;
    let big = app
        .post_ok(&su, "/api/collections/posts/records", json!({"n": 7}))
        .await;
    for r in [&small, &big] {
        let path = format!("/api/collections/posts/records/{}", r["id"].as_str().unwrap());
        assert_eq!(app.call("DELETE", &path, Some(&su), None).await.status(), 204);
    }
    // A last matching create: once it is in, everything before it is.
    app.post_ok(&su, "/api/collections/posts/records", json!({"n": 100}))
        .await;
    let log = rx.wait_for(3, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = if rx.log().await.len() > log.len() {
        rx.log().await
    } else {
        log
    };
    let got: Vec<(String, i64)> = log
        .iter()
        .map(|e| {
            let p = &e["payload"];
            (
                p["type"].as_str().unwrap().to_owned(),
                p["data"]["record"]["n"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec![
            ("record.create".into(), 7),
            ("record.create".into(), 100),
            ("record.delete".into(), 7),
        ],
        "{got:?}"
    );
}

#[tokio::test]
async fn sign_in_and_sign_up_events() {
    let (app, su, rx) = setup().await;
    webhook(
        &app,
        &su,
        json!({"collection": "users", "events": ["auth.signup", "auth.signin"], "url": rx.url("/ok"), "secret": rx.secret}),
    )
    .await;
    let (id, _) = app.sign_up("new@example.com", "pass-12345").await;
    // A failed sign-in is no event.
    assert_eq!(
        app.sign_in("users", "new@example.com", "wrong-pass")
            .await
            .status(),
        400
    );
    let log = rx.wait_for(2, WAIT).await;
    let types: Vec<&str> = log
        .iter()
        .map(|e| e["payload"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["auth.signup", "auth.signin"]);
    assert_eq!(log[1]["payload"]["data"]["record"]["id"], json!(id));
    assert!(log[1]["payload"]["data"]["record"].get("tokenKey").is_none());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.log().await.len(), 2);
}

#[tokio::test]
async fn account_flows_are_updates_too() {
    let (app, su, rx) = setup().await;
    let (id, _) = app.sign_up("flow@example.com", "pass-12345").await;
    webhook(
        &app,
        &su,
        json!({"collection": "users", "events": ["update"], "filter": "verified = true",
               "url": rx.url("/ok"), "secret": rx.secret}),
    )
    .await;
    let resp = app
        .call(
            "POST",
            "/api/collections/users/request-verification",
            None,
            Some(json!({"email": "flow@example.com"})),
        )
        .await;
    assert_eq!(resp.status(), 204);
    let token = crate::account::mailed_token(&app, &su, "flow@example.com").await;
    let resp = app
        .call(
            "POST",
            "/api/collections/users/confirm-verification",
            None,
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(resp.status(), 204);
    let log = rx.wait_for(1, WAIT).await;
    let data = &log[0]["payload"]["data"];
    assert_eq!(data["record"]["id"], json!(id));
    assert_eq!(data["record"]["verified"], json!(true));
    assert_eq!(data["previous"]["verified"], json!(false));
}

#[tokio::test]
async fn a_refused_delete_delivers_nothing_and_cascades_are_heard() {
    let (app, su, rx) = setup().await;
    let posts = json(app.call("GET", "/api/collections/posts", Some(&su), None).await).await;
    let posts_id = posts["id"].as_str().unwrap();
    for (name, cascade) in [("pins", false), ("comments", true)] {
        app.post_ok(
            &su,
            "/api/collections",
            json!({"name": name, "fields": [{"name": "post", "type": "relation", "required": true,
                   "collectionId": posts_id, "cascadeDelete": cascade, "maxSelect": 1}]}),
        )
        .await;
    }
    webhook(
        &app,
        &su,
        json!({"collection": "*", "events": ["delete"], "url": rx.url("/ok"), "secret": rx.secret}),
    )
    .await;
    let pinned = app
        .post_ok(&su, "/api/collections/posts/records", json!({"title": "pinned"}))
        .await;
    let pid = pinned["id"].as_str().unwrap();
    app.post_ok(&su, "/api/collections/pins/records", json!({"post": pid}))
        .await;
    // The required relation refuses the delete, after the hook heard the
    // post's delete in the same transaction: it rolls back with it.
    let path = format!("/api/collections/posts/records/{pid}");
    assert_eq!(app.call("DELETE", &path, Some(&su), None).await.status(), 400);

    let other = app
        .post_ok(&su, "/api/collections/posts/records", json!({"title": "other"}))
        .await;
    let oid = other["id"].as_str().unwrap();
    let comment = app
        .post_ok(&su, "/api/collections/comments/records", json!({"post": oid}))
        .await;
    let path = format!("/api/collections/posts/records/{oid}");
    assert_eq!(app.call("DELETE", &path, Some(&su), None).await.status(), 204);
    let log = rx.wait_for(2, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = if rx.log().await.len() > log.len() {
        rx.log().await
    } else {
        log
    };
    let mut got: Vec<(String, String)> = log
        .iter()
        .map(|e| {
            let d = &e["payload"]["data"];
            (
                d["collection"]["name"].as_str().unwrap().to_owned(),
                d["record"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("comments".to_owned(), comment["id"].as_str().unwrap().to_owned()),
            ("posts".to_owned(), oid.to_owned()),
        ],
        "the refused delete of {pid} sent nothing"
    );
}

#[tokio::test]
async fn a_catch_all_webhook_leaves_system_collections_out_unless_named() {
    let (app, su, rx) = setup().await;
    for (path, collection) in [("/ok?any", "*"), ("/ok?named", "_superusers")] {
        webhook(
            &app,
            &su,
            json!({"collection": collection, "events": ["create"], "url": rx.url(path), "secret": rx.secret}),
        )
        .await;
    }
    let admin =
        json!({"email": "second@example.com", "password": "pass-12345", "passwordConfirm": "pass-12345"});
    app.post_ok(&su, "/api/collections/_superusers/records", admin)
        .await;
    // The positive control for `*`: an app collection's create.
    app.post_ok(&su, "/api/collections/posts/records", json!({"title": "app"}))
        .await;
    let log = rx.wait_for(2, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = if log.len() < 3 { rx.log().await } else { log };
    let heard = |path: &str, name: &str| {
        log.iter()
            .filter(|e| e["path"] == json!(path) && e["payload"]["data"]["collection"]["name"] == json!(name))
            .count()
    };
    assert_eq!(heard("/ok?named", "_superusers"), 1, "{log:#?}");
    assert_eq!(heard("/ok?any", "posts"), 1, "{log:#?}");
    assert_eq!(heard("/ok?any", "_superusers"), 0, "{log:#?}");
    assert_eq!(log.len(), 2, "{log:#?}");
}

/// Pending jobs of `kind`, as the queue's summary counts them.
async fn pending_of(app: &TestApp, su: &str, kind: &str) -> u64 {
    let summary = json(app.call("GET", "/api/jobs", Some(su), None).await).await;
    summary["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == kind)
        .map_or(0, |k| k["pending"].as_u64().unwrap())
}

/// A deleted webhook's deliveries still waiting go with it, in its
/// delete: nothing would ever send them, and their bodies (hidden fields
/// included, if it asked for them) would wait in the queue for nothing.
#[tokio::test]
async fn deleting_a_webhook_drops_the_deliveries_it_still_owed() {
    let (app, su, _rx) = setup_with(|c| c.jobs.retry_base = Duration::from_secs(60)).await;
    // A port nothing listens on: every attempt is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = format!("http://127.0.0.1:{port}/gone");
    let hook = webhook(
        &app,
        &su,
        json!({"collection": "posts", "events": ["create"], "url": down}),
    )
    .await;
    for n in 0..3 {
        app.post_ok(
            &su,
            "/api/collections/posts/records",
            json!({"title": format!("t{n}")}),
        )
        .await;
    }
    // The control: they wait for their retry (a minute away).
    let mut waiting = 0;
    for _ in 0..100 {
        waiting = pending_of(&app, &su, "webhook").await;
        let tried = deliveries(&app, &su, hook["id"].as_str().unwrap()).await;
        if waiting == 3
            && tried
                .iter()
                .all(|d| d["attempts"] == 1 && d["status"] == "failed")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(waiting, 3);
    let path = format!("/api/webhooks/{}", hook["id"].as_str().unwrap());
    assert_eq!(app.call("DELETE", &path, Some(&su), None).await.status(), 204);
    assert_eq!(pending_of(&app, &su, "webhook").await, 0);
}

/// A truncate over several chunks of records (nothing points at `posts`,
/// so it runs 5,000 records a transaction) deletes every record with its
/// delete event: one delivery enqueued for each. Before, such a
/// collection was emptied in one statement and its webhooks heard none.
#[tokio::test]
async fn a_truncate_enqueues_a_delete_for_every_record() {
    let (app, su, rx) = setup().await;
    webhook(
        &app,
        &su,
        json!({"collection": "posts", "events": ["delete"], "url": rx.url("/ok"), "secret": rx.secret}),
    )
    .await;
    const RECORDS: i64 = 12_000;
    let count = |sql: &'static str| {
        let data = app.state.store.data.clone();
        async move {
            data.read(move |c| {
                c.query_row(sql, [], |r| r.get::<_, i64>(0))
                    .map_err(cairn::store::StoreError::from)
            })
            .await
            .unwrap()
        }
    };
    app.state
        .store
        .data
        .write(|tx| {
            let mut insert = tx.prepare("INSERT INTO posts (id, title) VALUES (?1, 'bulk')")?;
            for i in 0..RECORDS {
                insert.execute([format!("bulk{i:011}")])?;
            }
            Ok::<_, cairn::store::StoreError>(())
        })
        .await
        .unwrap();
    assert_eq!(count("SELECT count(*) FROM posts").await, RECORDS);
    let resp = app
        .call("DELETE", "/api/collections/posts/truncate", Some(&su), None)
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(count("SELECT count(*) FROM posts").await, 0);
    assert_eq!(
        count("SELECT count(*) FROM _jobs WHERE kind = 'webhook'").await,
        RECORDS
    );
}
