//! Realtime delete events carry what the subscriber saw of the record:
//! a superuser's, its hidden fields as they were before the delete, like
//! its create and update events; a guest's or a user's, never. As
//! PocketBase 0.40.6 (checked with a superuser and a guest subscribed to
//! a collection with a hidden text field: its delete event carries the
//! hidden value to the superuser only). Cascaded deletes too.

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, spawn_app},
    sse::Sse,
};

/// `things` (open rules, hidden `secret`) and `parts` (a cascading
/// relation to `things`, hidden `code`).
async fn collections(app: &TestApp, su: &str) {
    let things = app
        .post_ok(
            su,
            "/api/collections",
            json!({"name": "things", "listRule": "", "viewRule": "", "createRule": "", "deleteRule": "",
               "fields": [{"name": "title", "type": "text"},
                          {"name": "secret", "type": "text", "hidden": true}]}),
        )
        .await;
    app.post_ok(
        su,
        "/api/collections",
        json!({"name": "parts", "listRule": "", "viewRule": "",
               "fields": [{"name": "thing", "type": "relation", "collectionId": things["id"],
                           "cascadeDelete": true, "maxSelect": 1},
                          {"name": "code", "type": "text", "hidden": true}]}),
    )
    .await;
}

/// The next event's record, checked to be `action`.
async fn next_record(sse: &mut Sse, action: &str) -> Value {
    let event = sse.next().await.expect("an event");
    assert_eq!(event.data["action"], action, "{}", event.data);
    event.data["record"].clone()
}

#[tokio::test]
async fn delete_events_carry_hidden_fields_for_superusers_only() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    let (_, user) = app.sign_up("u@example.com", "user-pass-123").await;
    collections(&app, &su).await;
    let (mut by_su, mut by_guest, mut by_user) = (
        Sse::open(&app).await,
        Sse::open(&app).await,
        Sse::open(&app).await,
    );
    by_su.subscribe_ok(&app, Some(&su), &["things", "parts"]).await;
    by_guest.subscribe_ok(&app, None, &["things", "parts"]).await;
    by_user
        .subscribe_ok(&app, Some(&user), &["things", "parts"])
        .await;

    let thing = app
        .post_ok(
            &su,
            "/api/collections/things/records",
            json!({"title": "t", "secret": "s1"}),
        )
        .await;
    let id = thing["id"].as_str().unwrap().to_owned();
    let part = app
        .post_ok(
            &su,
            "/api/collections/parts/records",
            json!({"thing": id, "code": "c1"}),
        )
        .await;
    // The control: create events already carry them to the superuser.
    assert_eq!(next_record(&mut by_su, "create").await["secret"], "s1");
    assert_eq!(next_record(&mut by_su, "create").await["code"], "c1");
    for sse in [&mut by_guest, &mut by_user] {
        assert!(next_record(sse, "create").await.get("secret").is_none());
        assert!(next_record(sse, "create").await.get("code").is_none());
    }

    let resp = app
        .call(
            "DELETE",
            &format!("/api/collections/things/records/{id}"),
            Some(&su),
            None,
        )
        .await;
    assert_eq!(resp.status(), 204);
    // The cascade's delete and the record's, in either order.
    let mut seen = [
        next_record(&mut by_su, "delete").await,
        next_record(&mut by_su, "delete").await,
    ];
    seen.sort_by_key(|r| r["collectionName"].as_str().unwrap().to_owned());
    assert_eq!(seen[0]["id"], part["id"]);
    assert_eq!(seen[0]["code"], "c1", "{}", seen[0]);
    assert_eq!(seen[1]["id"], id.as_str());
    assert_eq!(seen[1]["secret"], "s1", "{}", seen[1]);
    assert_eq!(seen[1]["title"], "t");
    for (who, sse) in [("guest", &mut by_guest), ("user", &mut by_user)] {
        for _ in 0..2 {
            let record = next_record(sse, "delete").await;
            assert!(record["id"].is_string(), "{who}: {record}");
            assert!(
                record.get("secret").is_none() && record.get("code").is_none(),
                "{who}: {record}"
            );
        }
    }
}

/// A rule on a hidden field judges a delete event by the value the
/// record had, as it judged the record's other events: before, the
/// deleted record's hidden fields read as empty, so a record a guest
/// never saw was announced to it when deleted.
#[tokio::test]
async fn a_rule_on_a_hidden_field_judges_delete_events_by_the_value_it_had() {
    let app = spawn_app().await;
    let su = app.superuser_token().await;
    app.post_ok(
        &su,
        "/api/collections",
        json!({"name": "notes", "listRule": "secret != 'private'", "viewRule": "secret != 'private'",
               "fields": [{"name": "title", "type": "text"},
                          {"name": "secret", "type": "text", "hidden": true}]}),
    )
    .await;
    let mut by_guest = Sse::open(&app).await;
    by_guest.subscribe_ok(&app, None, &["notes"]).await;
    let mut ids = Vec::new();
    for (title, secret) in [("hidden", "private"), ("shown", "public")] {
        let note = app
            .post_ok(
                &su,
                "/api/collections/notes/records",
                json!({"title": title, "secret": secret}),
            )
            .await;
        ids.push(note["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        let resp = app
            .call(
                "DELETE",
                &format!("/api/collections/notes/records/{id}"),
                Some(&su),
                None,
            )
            .await;
        assert_eq!(resp.status(), 204);
    }
    // Only the shown note's events reach the guest, in order: its create,
    // then its delete (the hidden note's, before it, never came).
    assert_eq!(next_record(&mut by_guest, "create").await["title"], "shown");
    assert_eq!(next_record(&mut by_guest, "delete").await["title"], "shown");
}
