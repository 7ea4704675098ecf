//! Secret rotation: once a superuser changes a webhook's secret (to one
//! given, or to a generated one), every later attempt, a retry of an older
//! delivery included, is signed with the new secret and no longer verifies
//! with the old. Checked by the receiver's `standardwebhooks` library,
//! which tries each secret it knows (`verifiedWith`: 0 is the first one).

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    helpers::json,
    webhooks_receiver::{settled, setup, setup_with, webhook},
};

const WAIT: Duration = Duration::from_secs(20);

async fn secret_of(app: &crate::helpers::TestApp, su: &str, id: &str) -> String {
    let resp = app
        .call("GET", &format!("/api/webhooks/{id}/secret"), Some(su), None)
        .await;
    json(resp).await["secret"].as_str().unwrap().to_owned()
}

fn verified_with(e: &Value) -> Vec<u64> {
    e["verifiedWith"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn after_a_rotation_deliveries_verify_with_the_new_secret_only() {
    let (app, su, rx) = setup().await;
    let hook = webhook(&app, &su, rx.on_create("/ok")).await;
    let id = hook["id"].as_str().unwrap();
    let path = format!("/api/webhooks/{id}");
    let create = |title: &str| app.post_ok(&su, "/api/collections/posts/records", json!({"title": title}));

    // The control: before the rotation, the first secret verifies.
    create("before").await;
    let log = rx.wait_for(1, WAIT).await;
    assert_eq!(verified_with(&log[0]), [0], "{log:#?}");

    // A secret given by the superuser.
    let given = cairn::webhooks::sign::generate_secret();
    rx.add_secret(&given).await; // 1
    let changed = json(
        app.call("PATCH", &path, Some(&su), Some(json!({"secret": given})))
            .await,
    )
    .await;
    assert_eq!(changed["secret"], json!(given), "a new secret is shown once");
    assert_eq!(secret_of(&app, &su, id).await, given);
    create("given").await;
    let log = rx.wait_for(2, WAIT).await;
    assert_eq!(verified_with(&log[1]), [1], "{log:#?}");
    assert_eq!(log[1]["verified"], json!(false));
    assert!(
        log[1]["error"]
            .as_str()
            .unwrap()
            .contains("No matching signature"),
        "{log:#?}"
    );
    assert_eq!(log[1]["payload"]["data"]["record"]["title"], json!("given"));

    // An empty secret: Cairn generates one, shown in the answer.
    let changed = json(
        app.call("PATCH", &path, Some(&su), Some(json!({"secret": ""})))
            .await,
    )
    .await;
    let generated = changed["secret"].as_str().unwrap().to_owned();
    assert!(cairn::webhooks::sign::key_of(&generated).is_some(), "{changed:#}");
    assert_ne!(generated, given);
    assert_ne!(generated, rx.secret);
    assert_eq!(secret_of(&app, &su, id).await, generated);
    rx.add_secret(&generated).await; // 2
    create("generated").await;
    let log = rx.wait_for(3, WAIT).await;
    assert_eq!(verified_with(&log[2]), [2], "{log:#?}");

    // Nothing else was sent, and the log shows every delivery done.
    let list = settled(&app, &su, id, 3, WAIT).await;
    assert_eq!(list.len(), 3, "{list:#?}");
    assert!(list.iter().all(|d| d["status"] == json!("done")), "{list:#?}");
    assert_eq!(rx.log().await.len(), 3);
}

#[tokio::test]
async fn a_retry_after_a_rotation_is_signed_with_the_new_secret() {
    // Retries 2 to 4 s after a failure: time to rotate in between.
    let (app, su, rx) = setup_with(|c| {
        c.jobs.retry_base = Duration::from_secs(4);
        c.jobs.retry_cap = Duration::from_secs(4);
    })
    .await;
    let hook = webhook(&app, &su, rx.on_create("/fail/1")).await;
    let id = hook["id"].as_str().unwrap();
    app.post_ok(&su, "/api/collections/posts/records", json!({"title": "a"}))
        .await;
    let first = rx.wait_for(1, WAIT).await;
    let new = cairn::webhooks::sign::generate_secret();
    rx.add_secret(&new).await;
    let resp = app
        .call(
            "PATCH",
            &format!("/api/webhooks/{id}"),
            Some(&su),
            Some(json!({"secret": new})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let log = rx.wait_for(2, WAIT).await;
    // The same message, signed first with the old secret, then the new.
    assert_eq!(log[1]["id"], first[0]["id"]);
    assert_eq!(log[1]["body"], first[0]["body"]);
    assert_eq!(verified_with(&log[0]), [0], "{log:#?}");
    assert_eq!(verified_with(&log[1]), [1], "{log:#?}");
    let list = settled(&app, &su, id, 1, WAIT).await;
    assert_eq!(list[0]["attempts"], json!(2), "{list:#?}");
}

/// A rotation with an overlap: the replaced secret signs beside the new
/// one (two `v1,` signatures), so a receiver still on the old secret and
/// one already on the new both verify, until a superuser ends the overlap.
#[tokio::test]
async fn a_rotation_with_an_overlap_verifies_with_both_secrets_until_it_is_ended() {
    let (app, su, rx) = setup().await;
    let hook = webhook(&app, &su, rx.on_create("/ok")).await;
    let id = hook["id"].as_str().unwrap();
    let path = format!("/api/webhooks/{id}");
    assert_eq!(hook["previousSecretUntil"], json!(""), "{hook:#}");
    let create = |title: &str| app.post_ok(&su, "/api/collections/posts/records", json!({"title": title}));

    // More than a week is refused, and changes nothing.
    let resp = app
        .call(
            "PATCH",
            &path,
            Some(&su),
            Some(json!({"secret": "", "previousSecretHours": 169})),
        )
        .await;
    assert_eq!(resp.status(), 400);
    let body = json(resp).await;
    assert_eq!(
        body["data"]["previousSecretHours"]["code"],
        json!("validation_max_less_equal_than_required"),
        "{body:#}"
    );
    assert_eq!(secret_of(&app, &su, id).await, rx.secret);

    // A new secret, the old one kept for a day.
    let changed = json(
        app.call(
            "PATCH",
            &path,
            Some(&su),
            Some(json!({"secret": "", "previousSecretHours": 24})),
        )
        .await,
    )
    .await;
    let new = changed["secret"].as_str().unwrap().to_owned();
    let until = changed["previousSecretUntil"].as_str().unwrap().to_owned();
    let in_a_day = chrono::Utc::now() + chrono::Duration::hours(24);
    let parsed = cairn::datetime::parse(&until).unwrap_or_else(|| panic!("{changed:#}"));
    assert!((parsed - in_a_day).num_seconds().abs() < 60, "{changed:#}");
    assert_eq!(
        changed["previousSecretHint"],
        json!(format!(
            "{}…{}",
            &rx.secret[..9],
            &rx.secret[rx.secret.len() - 3..]
        ))
    );
    let shown = json(app.call("GET", &format!("{path}/secret"), Some(&su), None).await).await;
    assert_eq!(shown["secret"], json!(new));
    assert_eq!(shown["previousSecret"], json!(rx.secret), "{shown:#}");
    assert_eq!(shown["previousSecretUntil"], json!(until));
    rx.add_secret(&new).await; // 1
    create("overlap").await;
    let log = rx.wait_for(1, WAIT).await;
    assert_eq!(
        verified_with(&log[0]),
        [0, 1],
        "both receivers verify it: {log:#?}"
    );
    let signatures = log[0]["signature"].as_str().unwrap();
    assert_eq!(signatures.split(' ').count(), 2, "{signatures}");
    assert!(
        signatures.split(' ').all(|s| s.starts_with("v1,")),
        "{signatures}"
    );

    // The overlap ended: the old secret no longer verifies.
    let ended = json(
        app.call("PATCH", &path, Some(&su), Some(json!({"previousSecretHours": 0})))
            .await,
    )
    .await;
    assert_eq!(ended["previousSecretUntil"], json!(""), "{ended:#}");
    assert!(
        ended.get("secret").is_none(),
        "no new secret, none shown: {ended:#}"
    );
    let shown = json(app.call("GET", &format!("{path}/secret"), Some(&su), None).await).await;
    assert_eq!(shown, json!({"secret": new}));
    create("after").await;
    let log = rx.wait_for(2, WAIT).await;
    assert_eq!(verified_with(&log[1]), [1], "{log:#?}");
    assert_eq!(log[1]["signature"].as_str().unwrap().split(' ').count(), 1);
}
