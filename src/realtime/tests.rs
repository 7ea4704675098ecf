//! The broker's own bookkeeping, and the dispatcher's lifetime.

use super::*;

async fn next_frame(rx: &mut mpsc::Receiver<bytes::Bytes>) -> String {
    String::from_utf8(rx.recv().await.expect("a frame").to_vec()).expect("utf-8")
}

#[tokio::test]
async fn send_to_client_reaches_only_that_client_on_its_topic() {
    let broker = Broker::new(RealtimeLimits::default());
    let (a, mut rx_a) = broker.connect();
    let (b, mut rx_b) = broker.connect();
    let connect = next_frame(&mut rx_a).await;
    assert_eq!(
        connect,
        format!(
            "id:{0}\nevent:PB_CONNECT\ndata:{{\"clientId\":\"{0}\"}}\n\n",
            a.id
        )
    );
    next_frame(&mut rx_b).await;

    let msg = serde_json::json!({"state": "xyz", "code": "123"});
    assert_eq!(
        broker.send_to_client(&a.id, "@oauth2", &msg),
        Err(RealtimeError::NotSubscribed("@oauth2".into()))
    );
    assert_eq!(
        broker.send_to_client("nobody", "@oauth2", &msg),
        Err(RealtimeError::NoClient)
    );

    let subs = vec![topic::parse("@oauth2").expect("topic")];
    broker
        .set_subscriptions(&a.id, Caller::Guest, subs)
        .expect("subscribed");
    broker.send_to_client(&a.id, "@oauth2", &msg).expect("sent");
    assert_eq!(
        next_frame(&mut rx_a).await,
        format!("id:{}\nevent:@oauth2\ndata:{msg}\n\n", a.id)
    );
    assert!(rx_b.try_recv().is_err(), "the other client gets nothing");
    assert_eq!(broker.len(), 2);
    broker.remove(&b);
    assert_eq!(broker.len(), 1);
}

#[tokio::test]
async fn a_full_queue_disconnects_the_client() {
    let broker = Broker::new(RealtimeLimits {
        queue: 3,
        ..RealtimeLimits::default()
    });
    let (a, _rx) = broker.connect(); // PB_CONNECT takes one slot
    let subs = vec![topic::parse("@oauth2").expect("topic")];
    broker
        .set_subscriptions(&a.id, Caller::Guest, subs)
        .expect("subscribed");
    let msg = serde_json::json!({});
    broker.send_to_client(&a.id, "@oauth2", &msg).expect("fits");
    broker.send_to_client(&a.id, "@oauth2", &msg).expect("fits");
    assert_eq!(
        broker.send_to_client(&a.id, "@oauth2", &msg),
        Err(RealtimeError::Gone)
    );
    assert!(a.is_closed(), "a client that fell behind is cut off");
}

#[tokio::test]
async fn a_dispatcher_backlog_past_its_bound_disconnects_everyone() {
    // No dispatcher is started here, so published changes pile up.
    let broker = Broker::new(RealtimeLimits {
        backlog: 2,
        ..RealtimeLimits::default()
    });
    let (a, _rx) = broker.connect();
    let change = || {
        vec![RecordChange {
            action: crate::records::events::ChangeAction::Create,
            collection: Arc::new(crate::schema::defaults::users()),
            record: serde_json::Map::new(),
            hidden: serde_json::Map::new(),
        }]
    };
    broker.publish(change());
    broker.publish(change());
    assert!(!a.is_closed());
    broker.publish(change());
    assert!(a.is_closed(), "cut off rather than left without events");
    assert!(broker.is_empty());
}

#[tokio::test]
async fn the_dispatcher_keeps_nothing_alive_and_ends_with_its_broker() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().to_owned();
    let store = tokio::task::spawn_blocking(move || crate::store::Store::open(&path))
        .await
        .expect("joined")
        .expect("store");
    let schema = Arc::new(
        Schema::load(
            &store.data,
            crate::query::collections::rule_problem,
            crate::auth::remains::ACCOUNT_HOOKS,
        )
        .await
        .expect("schema"),
    );
    let broker = Arc::new(Broker::new(RealtimeLimits::default()));
    let dispatcher = broker.start(&store.data, &schema).expect("started");
    assert!(broker.start(&store.data, &schema).is_none(), "started once");
    // A batch taken while all three live: the dispatcher holds them
    // for it, then lets go, and keeps running (the control).
    let (_client, _rx) = broker.connect();
    broker.publish(vec![RecordChange {
        action: crate::records::events::ChangeAction::Create,
        collection: Arc::new(crate::schema::defaults::users()),
        record: serde_json::Map::new(),
        hidden: serde_json::Map::new(),
    }]);
    tokio::task::yield_now().await;
    assert!(!dispatcher.is_finished());
    assert_eq!(Arc::strong_count(&broker), 1, "the broker is not held");
    assert_eq!(Arc::strong_count(&store.data), 1, "the database is not held");
    assert_eq!(Arc::strong_count(&schema), 1, "the schema is not held");
    drop(broker);
    tokio::time::timeout(Duration::from_secs(5), dispatcher)
        .await
        .expect("the dispatcher ends with its broker")
        .expect("joined");
    store.close().await;
}

#[tokio::test]
async fn the_index_follows_subscriptions_and_departures() {
    let broker = Broker::new(RealtimeLimits::default());
    let (a, _rx_a) = broker.connect();
    let (b, _rx_b) = broker.connect();
    let subs = |topics: &[&str]| topics.iter().map(|t| topic::parse(t).expect("topic")).collect();
    broker
        .set_subscriptions(
            &a.id,
            Caller::Guest,
            subs(&["posts/*", "posts/abcdefghij12345", "@oauth2"]),
        )
        .expect("a");
    broker
        .set_subscriptions(&b.id, Caller::Guest, subs(&["pbc_posts/*"]))
        .expect("b");
    let ids = |v: Vec<Arc<Client>>| {
        let mut ids: Vec<String> = v.into_iter().map(|c| c.id.clone()).collect();
        ids.sort();
        ids
    };
    let mut both = vec![a.id.clone(), b.id.clone()];
    both.sort();
    assert_eq!(
        ids(broker.following("posts", "pbc_posts")),
        both,
        "by name or id, once each"
    );
    assert!(broker.following("other", "pbc_other").is_empty());

    broker
        .set_subscriptions(&a.id, Caller::Guest, subs(&["notes/*"]))
        .expect("a again");
    assert_eq!(ids(broker.following("posts", "pbc_posts")), vec![b.id.clone()]);
    broker.remove(&b);
    assert!(broker.following("posts", "pbc_posts").is_empty());
    assert_eq!(ids(broker.following("notes", "x")), vec![a.id.clone()]);
    broker.remove(&a);
    assert!(
        broker.index.read().expect("index").is_empty(),
        "nothing left behind"
    );
}
