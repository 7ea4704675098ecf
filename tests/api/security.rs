//! Injection attempts through every query input: they answer 400 (or 403),
//! never leak a row and never change data.
//!
//! The security issue's probes live beside this file, one file per class,
//! each with its positive control:
//! - hidden fields written by clients, and `@request.auth.<hidden>` in every
//!   rule context, and the per-caller OpenAPI document: `hidden_fields.rs`;
//! - filters and sorts through relations under the related list rules
//!   (with the differential cases against PocketBase): `relation_rules.rs`;
//! - rate limits and percent-encoded, mixed-case and id paths:
//!   `limits_paths.rs`; forwarded addresses: `limits_proxy.rs`;
//! - realtime checks shared across callers: `realtime_shared.rs`;
//! - another user's session knocked out: `limits_sessions.rs`;
//! - reserved collection names: `limits_names.rs`.
//!
//! The ones PocketBase answers too also run through the JS SDK against both
//! servers: `tests/sdk/security.test.mjs`.

use serde_json::json;

use crate::helpers::{assert_envelope, filter, json, spawn_app};

#[tokio::test]
async fn query_inputs_cannot_inject_sql_or_widen_rules() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    app.post_ok(
        &token,
        "/api/collections",
        json!({"name": "secrets", "listRule": "public = true", "viewRule": "public = true",
                "fields": [{"name": "title", "type": "text"}, {"name": "public", "type": "bool"},
                           {"name": "pin", "type": "text", "hidden": true}]}),
    )
    .await;
    for (title, public) in [("open", true), ("hidden", false)] {
        app.call(
            "POST",
            "/api/collections/secrets/records",
            Some(&token),
            Some(json!({"title": title, "public": public, "pin": "1234"})),
        )
        .await;
    }
    let list = |query: String| {
        let app = &app;
        async move {
            app.client
                .get(app.url(&format!("/api/collections/secrets/records?{query}")))
                .send()
                .await
                .unwrap()
        }
    };
    let filtered = |expr: &str| format!("filter={}", filter(expr));
    let attempts_400 = [
        filtered("title = 'x' OR 1=1"),
        filtered("1=1 --"),
        filtered("title = 'x'; DROP TABLE secrets"),
        filtered("`title` = 1"),
        filtered("title) OR (1=1"),
        filtered("json_extract(title,'$') = 1"),
        "sort=title;DROP%20TABLE%20secrets".to_owned(),
        "sort=(SELECT%201)".to_owned(),
        "sort=title%20DESC%2C%201".to_owned(),
        "fields=id,title:excerpt(x)".to_owned(),
        "page=1;DROP".to_owned(),
    ];
    for q in attempts_400 {
        let resp = list(q.clone()).await;
        assert_eq!(resp.status(), 400, "{q}");
        assert_envelope(resp, 400).await;
    }
    // An expand names fields, never SQL: what names none is left out (a
    // deep path followed 6 levels, as PocketBase does), not refused.
    for q in [
        "expand=a.b.c.d.e.f.g",
        "expand=title;DROP%20TABLE%20secrets",
        "expand=(SELECT%201)",
    ] {
        let resp = list(q.to_owned()).await;
        assert_eq!(resp.status(), 200, "{q}");
        let page: serde_json::Value = resp.json().await.unwrap();
        assert!(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r.get("expand").is_none()),
            "{q}: {page}"
        );
    }
    for q in [
        filtered("@request.auth.id = ''"),
        filtered("@collection.secrets.title = 'hidden'"),
    ] {
        assert_envelope(list(q).await, 403).await;
    }
    // A hidden field reads as one that does not exist (see filter_probing).
    for q in [filtered("pin = '1234'"), "sort=pin".to_owned()] {
        assert_envelope(list(q).await, 400).await;
    }
    // A filter that "matches everything" still only sees what the rule allows.
    for q in [
        filtered("public = false || public = true"),
        filtered("title != 'zzz'"),
        filtered("id != ''"),
    ] {
        let body = json(list(q.clone()).await).await;
        let titles: Vec<&str> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["title"].as_str().unwrap())
            .collect();
        assert_eq!(titles, ["open"], "{q}");
        assert!(!body.to_string().contains("1234"), "a hidden value never leaks");
    }
    // Quotes and SQL in values are just values.
    let body = json(list(filtered("title = \"x' OR '1'='1\"")).await).await;
    assert_eq!(body["totalItems"], 0);
    // Names in paths are looked up, never spliced into SQL.
    for path in [
        "/api/collections/secrets%20WHERE%201%3D1--/records",
        "/api/collections/secrets%22%3B%20DROP%20TABLE%20secrets%3B--/records",
        "/api/collections/sqlite_master/records",
        "/api/collections/_collections/records",
    ] {
        assert_envelope(app.get(path).await, 404).await;
    }
    // Field and collection names with SQL in them are refused at creation.
    let bad = app
        .call(
            "POST",
            "/api/collections",
            Some(&token),
            Some(json!({"name": "x\"; DROP TABLE secrets; --", "fields": [{"name": "a`b", "type": "text"}]})),
        )
        .await;
    let body = assert_envelope(bad, 400).await;
    assert_eq!(body["data"]["name"]["code"], "validation_match_invalid");
    assert_eq!(
        body["data"]["fields"]["1"]["name"]["code"],
        "validation_match_invalid"
    );
    // And the data is all still there.
    let all = json(
        app.call("GET", "/api/collections/secrets/records", Some(&token), None)
            .await,
    )
    .await;
    assert_eq!(all["totalItems"], 2);
}
