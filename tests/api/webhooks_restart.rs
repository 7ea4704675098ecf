//! A delivery interrupted by a crash is sent again after the restart, with
//! the same `webhook-id`: the real `cairn serve` is killed (SIGKILL) while
//! the receiver holds the request, and started again on the same folder.
//! The attempt the crash cut short counts: a delivery that crashes Cairn
//! every time still reaches its last attempt.

use std::time::Duration;

use serde_json::json;

use crate::{
    helpers::{serve, serve_call as call},
    webhooks_receiver::Receiver,
};

#[tokio::test]
async fn a_delivery_cut_short_by_a_crash_is_sent_again_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, su) = serve(dir.path(), &["--webhooks-allow-private"]).await;
    let collection = json!({"name": "posts", "type": "base", "fields": [{"name": "title", "type": "text"}]});
    call(&server, "POST", "/api/collections", Some(&su), Some(collection)).await;
    let rx = Receiver::start(&cairn::webhooks::sign::generate_secret()).await;
    let hook = rx.on_create("/hold/1");
    let hook = call(&server, "POST", "/api/webhooks", Some(&su), Some(hook)).await;
    call(
        &server,
        "POST",
        "/api/collections/posts/records",
        Some(&su),
        Some(json!({"title": "survivor"})),
    )
    .await;

    // The receiver has the request and holds it: the server is killed
    // before it hears an answer.
    let first = rx.wait_for(1, Duration::from_secs(20)).await;
    server.signal("KILL");
    server.wait_exit(Duration::from_secs(10)).await;

    let (server, su) = serve(dir.path(), &["--webhooks-allow-private"]).await;
    let log = rx.wait_for(2, Duration::from_secs(30)).await;
    assert_eq!(log[1]["id"], first[0]["id"], "the same message: {log:#?}");
    assert_eq!(log[1]["body"], first[0]["body"]);
    assert!(log.iter().all(|e| e["verified"] == json!(true)), "{log:#?}");
    assert_eq!(log[1]["payload"]["data"]["record"]["title"], json!("survivor"));

    // The deliveries log shows it done, after the restart.
    let id = hook["id"].as_str().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let list = call(
            &server,
            "GET",
            &format!("/api/webhooks/{id}/deliveries"),
            Some(&su),
            None,
        )
        .await;
        if list[0]["status"] == json!("done") {
            assert_eq!(list.as_array().unwrap().len(), 1, "{list:#}");
            assert_eq!(
                list[0]["attempts"],
                json!(2),
                "the cut-short one counted: {list:#}"
            );
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{list:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    rx.release().await;
}
