//! `/api/realtime`: who receives which event. Rules are checked per
//! subscriber with its own auth, delete events against the record as it
//! was, topic options shape events, and answers are shared between
//! subscribers where they must be the same.

use std::time::Duration;

use serde_json::json;

use crate::{
    helpers::spawn_app,
    sse::{NoEvent, Sse, next_title, post, posts},
};

#[tokio::test]
async fn each_subscriber_gets_only_the_records_its_rules_let_it_see() {
    let app = spawn_app().await;
    let admin = posts(&app).await;
    let (alice_id, alice) = app.sign_up("alice@example.com", "password123").await;
    let (_, bob) = app.sign_up("bob@example.com", "password123").await;
    let (mut a, mut b, mut guest, mut root) = (
        Sse::open(&app).await,
        Sse::open(&app).await,
        Sse::open(&app).await,
        Sse::open(&app).await,
    );
    a.subscribe_ok(&app, Some(&alice), &["posts/*"]).await;
    b.subscribe_ok(&app, Some(&bob), &["posts/*"]).await;
    guest.subscribe_ok(&app, None, &["posts/*"]).await;
    root.subscribe_ok(&app, Some(&admin), &["posts/*"]).await;

    post(&app, &admin, "alice's secret", false, &alice_id).await;
    post(&app, &admin, "for everyone", true, "").await;

    assert_eq!(
        next_title(&mut a).await,
        ("create".into(), "alice's secret".into())
    );
    assert_eq!(next_title(&mut a).await, ("create".into(), "for everyone".into()));
    assert_eq!(
        next_title(&mut root).await.1,
        "alice's secret",
        "superusers bypass rules"
    );
    // Events come in commit order, so the public post being first proves
    // the private one was never sent.
    assert_eq!(next_title(&mut b).await.1, "for everyone");
    assert_eq!(next_title(&mut guest).await.1, "for everyone");
    assert_eq!(
        b.next_within(Duration::from_millis(300)).await.unwrap_err(),
        NoEvent::TimedOut
    );

    // The event carries the record as the API shows it.
    let update = json!({"title": "alice's secret, edited"});
    let mut c = Sse::open(&app).await;
    c.subscribe_ok(&app, Some(&admin), &["posts/*"]).await;
    let id = post(&app, &admin, "x", true, "").await;
    let created = c.next().await.unwrap();
    assert_eq!(created.name, "posts/*");
    assert_eq!(created.id, c.client_id);
    assert_eq!(created.data["record"]["collectionName"], "posts");
    assert_eq!(created.data["record"]["id"], id.as_str());
    app.call(
        "PATCH",
        &format!("/api/collections/posts/records/{id}"),
        Some(&admin),
        Some(update),
    )
    .await;
    let updated = c.next().await.unwrap();
    assert_eq!(updated.data["action"], "update");
    assert_eq!(updated.data["record"]["title"], "alice's secret, edited");
}

#[tokio::test]
async fn delete_events_are_checked_against_the_record_as_it_was() {
    let app = spawn_app().await;
    let admin = posts(&app).await;
    let (alice_id, alice) = app.sign_up("alice@example.com", "password123").await;
    let (_, bob) = app.sign_up("bob@example.com", "password123").await;
    let secret = post(&app, &admin, "secret", false, &alice_id).await;
    let topic = format!("posts/{secret}");
    let (mut a, mut b) = (Sse::open(&app).await, Sse::open(&app).await);
    a.subscribe_ok(&app, Some(&alice), &[&topic, "posts/*"]).await;
    b.subscribe_ok(&app, Some(&bob), &[&topic, "posts/*"]).await;

    let resp = app
        .call(
            "DELETE",
            &format!("/api/collections/posts/records/{secret}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(resp.status(), 204);
    post(&app, &admin, "marker", true, "").await;

    let mut seen = Vec::new();
    for _ in 0..3 {
        let e = a.next().await.unwrap();
        seen.push((e.name, e.data["action"].as_str().unwrap().to_owned()));
    }
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("posts/*".to_owned(), "create".to_owned()),
            ("posts/*".to_owned(), "delete".to_owned()),
            (topic.clone(), "delete".to_owned()),
        ]
    );
    assert_eq!(next_title(&mut b).await, ("create".into(), "marker".into()));
}

#[tokio::test]
async fn topic_options_shape_and_narrow_events() {
    let app = spawn_app().await;
    let admin = posts(&app).await;
    let mut sse = Sse::open(&app).await;
    // As the SDK encodes `{query: {fields, filter}}`.
    let options =
        "%7B%22query%22%3A%7B%22fields%22%3A%22id%2Ctitle%22%2C%22filter%22%3A%22title%20~%20'keep'%22%7D%7D";
    let topic = format!("posts/*?options={options}");
    sse.subscribe_ok(&app, None, &[&topic]).await;
    post(&app, &admin, "drop me", true, "").await;
    post(&app, &admin, "keep me", true, "").await;
    let e = sse.next().await.unwrap();
    assert_eq!(e.name, topic, "the event name is the topic as subscribed");
    let record = e.data["record"].as_object().unwrap();
    assert_eq!(record["title"], "keep me");
    let mut keys: Vec<&str> = record.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["id", "title"]);
}

#[tokio::test]
async fn a_subscriber_is_checked_with_its_account_as_it_is_now() {
    let app = spawn_app().await;
    let admin = app.superuser_token().await;
    app.post_ok(
        &admin,
        "/api/collections",
        json!({
            "name": "staff_news", "type": "base",
            "listRule": "@request.auth.verified = true", "createRule": "",
            "fields": [{"name": "title", "type": "text"}]
        }),
    )
    .await;
    let (alice_id, alice) = app.sign_up("alice@example.com", "password123").await;
    let mut sse = Sse::open(&app).await;
    sse.subscribe_ok(&app, Some(&alice), &["staff_news/*"]).await;
    let news = |title: &str| json!({ "title": title });
    app.post_ok(&admin, "/api/collections/staff_news/records", news("before"))
        .await;
    // Once verified, the same connection passes the rule: the broker follows
    // changes to the account it is signed in as.
    let verify = json!({"verified": true});
    let resp = app
        .call(
            "PATCH",
            &format!("/api/collections/users/records/{alice_id}"),
            Some(&admin),
            Some(verify),
        )
        .await;
    assert_eq!(resp.status(), 200);
    app.post_ok(&admin, "/api/collections/staff_news/records", news("after"))
        .await;
    assert_eq!(
        next_title(&mut sse).await.1,
        "after",
        "unverified, alice saw nothing before"
    );

    // A deleted account signs its connections out.
    let resp = app
        .call(
            "DELETE",
            &format!("/api/collections/users/records/{alice_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(resp.status(), 204);
    app.post_ok(&admin, "/api/collections/staff_news/records", news("gone"))
        .await;
    assert_eq!(
        sse.next_within(Duration::from_millis(300)).await.unwrap_err(),
        NoEvent::TimedOut
    );
}

#[tokio::test]
async fn subscribers_with_the_same_answer_share_one_rule_check() {
    let app = spawn_app().await;
    let admin = posts(&app).await;
    app.post_ok(
        &admin,
        "/api/collections",
        json!({
            "name": "notes", "type": "base", "listRule": "public = true",
            "fields": [{"name": "title", "type": "text"}, {"name": "public", "type": "bool"}]
        }),
    )
    .await;
    let (alice_id, alice) = app.sign_up("alice@example.com", "password123").await;
    let (_, bob) = app.sign_up("bob@example.com", "password123").await;
    let mut streams = Vec::new();
    for auth in [
        None,
        None,
        None,
        None,
        None,
        Some(&alice),
        Some(&alice),
        Some(&bob),
    ] {
        let sse = Sse::open(&app).await;
        sse.subscribe_ok(&app, auth.map(String::as_str), &["posts/*", "notes/*"])
            .await;
        streams.push(sse);
    }
    let before = app.state.realtime.rule_checks();
    // A rule without @request: one check for all eight subscribers.
    let note = json!({"title": "note", "public": true});
    app.post_ok(&admin, "/api/collections/notes/records", note).await;
    for sse in &mut streams {
        assert_eq!(next_title(sse).await.1, "note");
    }
    assert_eq!(app.state.realtime.rule_checks() - before, 1);
    // A rule reading @request.auth: one check per distinct account, and one
    // for all the guests.
    let before = app.state.realtime.rule_checks();
    post(&app, &admin, "alice's", false, &alice_id).await;
    for sse in &mut streams[5..7] {
        assert_eq!(next_title(sse).await.1, "alice's");
    }
    assert_eq!(app.state.realtime.rule_checks() - before, 3, "guests, alice, bob");
}

#[tokio::test]
async fn events_show_an_account_email_only_to_those_who_may_see_it() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    app.call(
        "PATCH",
        "/api/collections/users",
        Some(&root),
        Some(json!({"listRule": "", "viewRule": ""})),
    )
    .await;
    let (mut guest, mut admin) = (Sse::open(&app).await, Sse::open(&app).await);
    guest.subscribe_ok(&app, None, &["users/*"]).await;
    admin.subscribe_ok(&app, Some(&root), &["users/*"]).await;
    app.sign_up("quiet@example.com", "password123").await;
    let seen_by_guest = guest.next().await.unwrap();
    assert_eq!(seen_by_guest.data["action"], "create");
    assert!(
        seen_by_guest.data["record"].get("email").is_none(),
        "{:?}",
        seen_by_guest.data
    );
    let seen_by_admin = admin.next().await.unwrap();
    assert_eq!(seen_by_admin.data["record"]["email"], "quiet@example.com");
}

/// Every event is checked against the record as that change left it, not
/// as it is when the dispatcher gets to it: a batch commits all its writes
/// before any event goes out, as do quick writes in a row. Checked against
/// the row as it is by then, a private draft made public in the same batch
/// went out, draft title and all, to everyone the public version is for,
/// and a record created and deleted in one batch never told its owner it
/// was created. (PocketBase sends that draft too, from a batch; one request
/// at a time it checks before answering, so nothing leaks there.)
#[tokio::test]
async fn events_are_checked_against_the_record_as_each_change_left_it() {
    let app = spawn_app().await;
    let admin = posts(&app).await;
    let (alice_id, alice) = app.sign_up("alice@example.com", "password123").await;
    let (_, bob) = app.sign_up("bob@example.com", "password123").await;
    let (mut a, mut b) = (Sse::open(&app).await, Sse::open(&app).await);
    a.subscribe_ok(&app, Some(&alice), &["posts/*"]).await;
    b.subscribe_ok(&app, Some(&bob), &["posts/*"]).await;

    let (draft, temp) = ("draft0000000001", "temp00000000001");
    let records = "/api/collections/posts/records";
    let resp = app
        .call(
            "POST",
            "/api/batch",
            Some(&admin),
            Some(json!({"requests": [
                {"method": "POST", "url": records,
                 "body": {"id": draft, "title": "secret draft", "public": false, "owner": alice_id}},
                {"method": "PATCH", "url": format!("{records}/{draft}"),
                 "body": {"title": "published", "public": true}},
                {"method": "POST", "url": records,
                 "body": {"id": temp, "title": "temp", "public": false, "owner": alice_id}},
                {"method": "DELETE", "url": format!("{records}/{temp}")},
            ]})),
        )
        .await;
    assert_eq!(resp.status(), 200);

    // Positive control first: bob hears the published version...
    assert_eq!(next_title(&mut b).await, ("update".into(), "published".into()));
    // ...and nothing else: not the draft, not the temporary record.
    assert_eq!(
        b.next_within(Duration::from_millis(300)).await.unwrap_err(),
        NoEvent::TimedOut
    );
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(next_title(&mut a).await);
    }
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter().map(|(x, y)| (x.to_string(), y.to_string())).collect()
    };
    assert_eq!(
        seen,
        pairs(&[
            ("create", "secret draft"),
            ("update", "published"),
            ("create", "temp"),
            ("delete", "temp"),
        ])
    );
}
