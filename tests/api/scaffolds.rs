//! `GET /api/collections/meta/scaffolds`: a new collection of each kind
//! as a client starts one (the SDKs' `collections.getScaffolds()`), for
//! superusers only; its shape is PocketBase's.

use serde_json::{Value, json};

use crate::{
    differential::start_both,
    helpers::{assert_envelope, json, spawn_app},
};

const PATH: &str = "/api/collections/meta/scaffolds";

#[tokio::test]
async fn only_superusers_read_the_scaffolds_and_one_saves_as_is() {
    let app = spawn_app().await;
    assert_envelope(app.call("GET", PATH, None, None).await, 401).await;
    let (_, user) = app.sign_up("scaffold@example.com", "user-pass-123").await;
    assert_envelope(app.call("GET", PATH, Some(&user), None).await, 403).await;
    let su = app.superuser_token().await;
    let resp = app.call("GET", PATH, Some(&su), None).await;
    assert_eq!(resp.status(), 200);
    let scaffolds = json(resp).await;
    // A scaffold, named, is a collection that saves: what a client does
    // with it.
    for kind in ["base", "auth"] {
        let mut c = scaffolds[kind].clone();
        c["name"] = json!(format!("from_{kind}"));
        let resp = app.call("POST", "/api/collections", Some(&su), Some(c)).await;
        assert_eq!(resp.status(), 200, "{kind}: {}", resp.text().await.unwrap());
    }
    let created = json(
        app.call("GET", "/api/collections/from_auth", Some(&su), None)
            .await,
    )
    .await;
    assert_eq!(created["indexes"].as_array().unwrap().len(), 2, "{created}");
}

/// Field names, types and flags, and the top-level keys, of each scaffold.
fn outline(v: &Value) -> Value {
    let fields: Vec<Value> = v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            json!([
                f["name"],
                f["type"],
                f["system"],
                f["hidden"],
                f["required"],
                f["primaryKey"]
            ])
        })
        .collect();
    let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    keys.sort();
    json!({"fields": fields, "keys": keys, "type": v["type"], "name": v["name"]})
}

#[tokio::test]
async fn the_scaffolds_have_pocketbases_shape() {
    let Some(both) = start_both().await else {
        return;
    };
    let (_, pb) = both.pb.call("GET", PATH, Some(&both.pb.superuser), None).await;
    let (_, cairn) = both
        .cairn
        .call("GET", PATH, Some(&both.cairn.superuser), None)
        .await;
    for kind in ["base", "auth", "view"] {
        let (mut p, mut c) = (outline(&pb[kind]), outline(&cairn[kind]));
        // Cairn's auth collections have one option more: their sessions.
        let extra = json!("sessions");
        if let Some(keys) = c["keys"].as_array_mut() {
            keys.retain(|k| *k != extra);
        }
        p["indexes"] = json!(null);
        c["indexes"] = json!(null);
        assert_eq!(p, c, "{kind}");
    }
}
