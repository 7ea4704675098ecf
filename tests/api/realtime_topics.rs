//! `/api/realtime`: every topic form PocketBase 0.40 delivers to —
//! `name/*`, `name/ID`, the bare `name` (the older form the community SDKs
//! still send), each also by collection id and with a `?…` query — gets
//! its events under the name it was subscribed with, through the same rule
//! checks. A topic that could never deliver is refused with a 400 rather
//! than accepted and left silent.

use std::collections::BTreeMap;

use serde_json::json;

use crate::{
    helpers::{assert_envelope, spawn_app},
    realtime_shared::with_filter,
    sse::{Sse, next_title, post, posts},
};

#[tokio::test]
async fn every_topic_form_gets_its_events_under_its_own_name() {
    let app = spawn_app().await;
    let admin = posts(&app).await;
    let cid = app
        .call("GET", "/api/collections/posts", Some(&admin), None)
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = post(&app, &admin, "first", true, "").await;
    let filtered = with_filter("posts", "title = 'edited'");
    let topics = [
        "posts".to_owned(),
        "posts/*".to_owned(),
        format!("posts/{id}"),
        cid.clone(),
        format!("{cid}/*"),
        format!("{cid}/{id}"),
        "posts?x=1".to_owned(),
        format!("posts/{id}?options=%7B%7D"),
        filtered.clone(),
    ];
    let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
    let mut sse = Sse::open(&app).await;
    sse.subscribe_ok(&app, None, &topics).await;

    let resp = app
        .call(
            "PATCH",
            &format!("/api/collections/posts/records/{id}"),
            Some(&admin),
            Some(json!({"title": "edited"})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let mut seen = BTreeMap::new();
    for _ in 0..topics.len() {
        let e = sse.next().await.unwrap();
        assert_eq!(e.data["action"], "update", "{}", e.name);
        assert_eq!(e.data["record"]["id"], id.as_str());
        *seen.entry(e.name).or_insert(0) += 1;
    }
    let expected: BTreeMap<String, i32> = topics.iter().map(|t| (t.to_string(), 1)).collect();
    assert_eq!(seen, expected, "each topic once, named as subscribed");

    // A new record reaches the collection-wide forms only (and the filter
    // leaves it out): the record topics and the filter were never sent it.
    post(&app, &admin, "second", true, "").await;
    let mut names = Vec::new();
    for _ in 0..5 {
        let e = sse.next().await.unwrap();
        assert_eq!(e.data["record"]["title"], "second");
        names.push(e.name);
    }
    names.sort();
    let mut wanted = vec![
        "posts".to_owned(),
        "posts/*".to_owned(),
        cid.clone(),
        format!("{cid}/*"),
        "posts?x=1".to_owned(),
    ];
    wanted.sort();
    assert_eq!(names, wanted);
    post(&app, &admin, "edited", true, "").await;
    assert_eq!(sse.next().await.unwrap().data["record"]["title"], "edited");
}

#[tokio::test]
async fn the_bare_forms_are_checked_against_the_rules() {
    let app = spawn_app().await;
    let admin = posts(&app).await;
    let (alice_id, alice) = app.sign_up("alice@example.com", "password123").await;
    let secret = post(&app, &admin, "secret", false, &alice_id).await;
    let record = format!("posts/{secret}");
    let (mut a, mut guest) = (Sse::open(&app).await, Sse::open(&app).await);
    a.subscribe_ok(&app, Some(&alice), &["posts", &record]).await;
    guest.subscribe_ok(&app, None, &["posts", &record]).await;

    let resp = app
        .call(
            "PATCH",
            &format!("/api/collections/posts/records/{secret}"),
            Some(&admin),
            Some(json!({"title": "secret, edited"})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    post(&app, &admin, "public", true, "").await;

    let mut names = Vec::new();
    for _ in 0..2 {
        let e = a.next().await.unwrap();
        assert_eq!(e.data["record"]["title"], "secret, edited");
        names.push(e.name);
    }
    names.sort();
    assert_eq!(names, vec!["posts".to_owned(), record.clone()]);
    assert_eq!(next_title(&mut a).await, ("create".into(), "public".into()));
    // Commit order: the public post first proves the secret never went out.
    let e = guest.next().await.unwrap();
    assert_eq!(
        (e.name.as_str(), &e.data["record"]["title"]),
        ("posts", &json!("public"))
    );
}

#[tokio::test]
async fn a_topic_that_could_never_deliver_is_kept_and_silent() {
    let app = spawn_app().await;
    let admin = posts(&app).await;
    let sse = Sse::open(&app).await;
    let id = post(&app, &admin, "first", true, "").await;
    app.post_ok(
        &admin,
        "/api/collections",
        json!({
            "name": "titles", "type": "view", "listRule": "", "viewRule": "",
            "viewQuery": "SELECT id, title FROM posts"
        }),
    )
    .await;
    let never = [
        // A view's rows are never written: no events, as in PocketBase.
        "titles/*".to_owned(),
        "titles".to_owned(),
        format!("titles/{id}"),
        "nosuch/*".to_owned(),
        "nosuch".to_owned(),
        format!("nosuch/{id}"),
        // A record id alone names no collection.
        id.clone(),
        "POSTS/*".to_owned(),
        "posts/".to_owned(),
        format!("posts/{id}/"),
        "posts/not-an-id".to_owned(),
        "posts/*/x".to_owned(),
        "/posts".to_owned(),
        " posts/*".to_owned(),
        "posts/* ".to_owned(),
        "*".to_owned(),
        "@nothing".to_owned(),
    ];
    // Kept, as PocketBase keeps them (the SDK sends its whole set again on
    // every subscribe and reconnect, so one refused topic ended a client's
    // realtime for good), and never delivered to.
    let bad_options = "posts/*?options=%7Bnot-json".to_owned();
    let mut topics: Vec<&str> = never.iter().map(String::as_str).collect();
    topics.push(&bad_options);
    topics.push("posts/*");
    let mut sse = sse;
    sse.subscribe_ok(&app, None, &topics).await;
    post(&app, &admin, "second", true, "").await;
    let e = sse.next().await.unwrap();
    assert_eq!(
        (e.name.as_str(), &e.data["record"]["title"]),
        ("posts/*", &json!("second"))
    );
    assert!(
        sse.next_within(std::time::Duration::from_millis(500))
            .await
            .is_err(),
        "only posts/* delivers"
    );
    // A line break is still refused: it would end the SSE line the topic
    // is sent in.
    let body = assert_envelope(sse.subscribe(&app, None, &["posts/*", "a\nb"]).await, 400).await;
    assert_eq!(
        body["data"]["subscriptions"]["1"]["code"], "validation_invalid_topic",
        "{body}"
    );
}
