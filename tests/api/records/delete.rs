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

/// Deleting a record that leaves a referrer with fewer than its field's
/// `minSelect` is allowed, required or not (PocketBase allows it); only
/// an empty required reference refuses. Side by side with PocketBase.
#[tokio::test]
async fn fewer_than_min_select_left_is_allowed_as_in_pocketbase() {
    let Some(both) = crate::differential::start_both().await else {
        return;
    };
    let mut answers = Vec::new();
    for s in [&both.pb, &both.cairn] {
        let mut seen = Vec::new();
        for required in [false, true] {
            let (target, referrer) = (format!("mst_{required}"), format!("msr_{required}"));
            let t = s
                .admin(
                    "POST",
                    "/api/collections",
                    json!({"name": target, "fields": [{"name": "n", "type": "text"}]}),
                )
                .await;
            s.admin(
                "POST",
                "/api/collections",
                json!({"name": referrer, "fields": [{"name": "rm", "type": "relation", "collectionId": t["id"],
                    "maxSelect": 3, "minSelect": 2, "required": required}]}),
            )
            .await;
            for i in 1..=2 {
                s.admin(
                    "POST",
                    &format!("/api/collections/{target}/records"),
                    json!({"id": format!("mst00000000000{i}")}),
                )
                .await;
            }
            s.admin(
                "POST",
                &format!("/api/collections/{referrer}/records"),
                json!({"id": "msr000000000001", "rm": ["mst000000000001", "mst000000000002"]}),
            )
            .await;
            for gone in ["mst000000000001", "mst000000000002"] {
                let path = format!("/api/collections/{target}/records/{gone}");
                let (status, _) = s.call("DELETE", &path, Some(&s.superuser), None).await;
                let path = format!("/api/collections/{referrer}/records/msr000000000001");
                let (_, r) = s.call("GET", &path, Some(&s.superuser), None).await;
                seen.push((required, status, r["rm"].clone()));
            }
        }
        answers.push(seen);
    }
    assert_eq!(answers[0], answers[1], "PocketBase, then Cairn");
    // Not vacuous: the first delete went through on both.
    assert_eq!(answers[1][0].1, 204);
}
