//! Deletes: cascading, clearing or refusing over relations.

use serde_json::{Value, json};

use crate::helpers::{assert_envelope, json, spawn_app};

#[tokio::test]
async fn deletes_cascade_clear_or_refuse() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let parent = json(
        app.call(
            "POST",
            "/api/collections",
            Some(&token),
            Some(json!({"name": "parents", "fields": [{"name": "t", "type": "text"}]})),
        )
        .await,
    )
    .await;
    let pid = parent["id"].clone();
    let kids = json!({"name": "kids", "fields": [
        {"name": "cascade", "type": "relation", "collectionId": pid, "cascadeDelete": true},
        {"name": "optional", "type": "relation", "collectionId": pid, "maxSelect": 3},
        {"name": "must", "type": "relation", "collectionId": pid, "required": true},
    ]});
    assert_eq!(
        app.call("POST", "/api/collections", Some(&token), Some(kids))
            .await
            .status(),
        200
    );
    let mk = |body: Value| {
        app.call(
            "POST",
            "/api/collections/parents/records",
            Some(&token),
            Some(body),
        )
    };
    let p1 = json(mk(json!({"t": "1"})).await).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let p2 = json(mk(json!({"t": "2"})).await).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let p3 = json(mk(json!({"t": "3"})).await).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let kid = |body: Value| app.call("POST", "/api/collections/kids/records", Some(&token), Some(body));
    let k1 = json(kid(json!({"cascade": p1, "optional": [p2, p3], "must": p3})).await).await;
    assert!(k1["id"].is_string(), "{k1}");
    let k1 = k1["id"].as_str().unwrap().to_owned();

    // p2 is only an optional reference: deleting it clears it from k1.
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/collections/parents/records/{p2}"),
            Some(&token),
            None
        )
        .await
        .status(),
        204
    );
    let got = json(
        app.call(
            "GET",
            &format!("/api/collections/kids/records/{k1}"),
            Some(&token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(got["optional"], json!([p3]));
    // p3 is a required reference: refused, nothing changes.
    let body = assert_envelope(
        app.call(
            "DELETE",
            &format!("/api/collections/parents/records/{p3}"),
            Some(&token),
            None,
        )
        .await,
        400,
    )
    .await;
    assert!(body["message"].as_str().unwrap().contains("required relation"));
    let got = json(
        app.call(
            "GET",
            &format!("/api/collections/kids/records/{k1}"),
            Some(&token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(got["optional"], json!([p3]), "the refused delete rolled back");
    // p1 cascades: k1 goes with it.
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/api/collections/parents/records/{p1}"),
            Some(&token),
            None
        )
        .await
        .status(),
        204
    );
    assert_envelope(
        app.call(
            "GET",
            &format!("/api/collections/kids/records/{k1}"),
            Some(&token),
            None,
        )
        .await,
        404,
    )
    .await;
    assert_envelope(
        app.call(
            "DELETE",
            &format!("/api/collections/parents/records/{p1}"),
            Some(&token),
            None,
        )
        .await,
        404,
    )
    .await;
}
