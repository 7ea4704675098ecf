//! Slow list queries are kept in their request's log entry with SQLite's
//! plan, and the index that would serve them when the plan reads the
//! whole table (`--slow-query`; 0 here so every list query counts).

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, filter, json, spawn_app_with};

/// The log entry of the list request `rid`, after filtering `posts`.
async fn listed(app: &TestApp, admin: &str, rid: &str) -> Value {
    let path = format!(
        "/api/collections/posts/records?filter={}&sort=-n",
        filter("n > 5 && title != 'x'")
    );
    let resp = app
        .client
        .get(app.url(&path))
        .header("x-request-id", rid)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    app.state.logs.flush(Duration::from_secs(10)).await;
    let logs = json(
        app.call(
            "GET",
            &format!(
                "/api/logs?filter={}",
                filter(&format!("data.requestId = '{rid}'"))
            ),
            Some(admin),
            None,
        )
        .await,
    )
    .await;
    logs["items"][0].clone()
}

#[tokio::test]
async fn a_slow_list_keeps_its_sql_plan_and_the_index_that_would_help() {
    let app = spawn_app_with(|c| c.slow_query = Duration::ZERO).await;
    let admin = app.superuser_token().await;
    let resp = app
        .call(
            "POST",
            "/api/collections",
            Some(&admin),
            Some(json!({"name": "posts", "listRule": "", "createRule": "",
                "fields": [{"name": "title", "type": "text"}, {"name": "n", "type": "number"}]})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    for n in 0..20 {
        let resp = app
            .call(
                "POST",
                "/api/collections/posts/records",
                None,
                Some(json!({"title": format!("t{n}"), "n": n})),
            )
            .await;
        assert_eq!(resp.status(), 200);
    }

    let entry = listed(&app, &admin, "slow-before-index").await;
    assert_eq!(entry["level"], 4, "a slow request is a warning: {entry}");
    let data = &entry["data"];
    let slow = data["slowQueries"]
        .as_array()
        .expect("slow queries noted")
        .clone();
    assert_eq!(slow.len(), 2, "the page and the count: {data}");
    let page = &slow[0];
    assert!(
        page["sql"].as_str().unwrap().contains(" LIMIT 30 OFFSET ?2"),
        "{page}"
    );
    assert!(page["ms"].as_f64().is_some());
    let plan: Vec<&str> = page["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(plan.iter().any(|l| l.trim() == "SCAN posts"), "{plan:?}");
    assert_eq!(
        page["suggestedIndex"], "CREATE INDEX `idx_posts_n_title` ON `posts` (`n`, `title`)",
        "{page}"
    );
    // The values the caller filtered by are not kept, only placeholders.
    assert!(!page.to_string().contains("'x'"), "{page}");

    // With the suggested index, the plan searches it and nothing is suggested.
    let resp = app
        .call(
            "PATCH",
            "/api/collections/posts",
            Some(&admin),
            Some(json!({"indexes": [page["suggestedIndex"]]})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let data = listed(&app, &admin, "slow-after-index").await["data"].clone();
    let page = &data["slowQueries"][0];
    let plan = page["plan"].to_string();
    assert!(plan.contains("USING INDEX idx_posts_n_title"), "{plan}");
    assert!(page.get("suggestedIndex").is_none(), "{page}");
}

#[tokio::test]
async fn a_fast_list_keeps_no_query() {
    // The default threshold (250 ms): twenty rows list far faster.
    let app = spawn_app_with(|_| {}).await;
    let admin = app.superuser_token().await;
    let resp = app
        .call(
            "POST",
            "/api/collections",
            Some(&admin),
            Some(json!({"name": "posts", "listRule": "",
                "fields": [{"name": "title", "type": "text"}, {"name": "n", "type": "number"}]})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let entry = listed(&app, &admin, "fast-list").await;
    assert_eq!(entry["level"], 0, "{entry}");
    let data = &entry["data"];
    assert_eq!(data["requestId"], "fast-list", "the entry was found: {data}");
    assert!(data.get("slowQueries").is_none(), "{data}");
}
