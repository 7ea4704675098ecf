//! The request log (`/api/logs`) and the scheduled jobs (`/api/crons`):
//! who may read and run them, bad input, PocketBase's shapes, and
//! `settings.logs` honoured.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, filter, json, spawn_app};

/// Waits until every log record queued so far is written.
async fn flushed(app: &TestApp) {
    app.state.logs.flush(Duration::from_secs(10)).await;
}

/// Sends `GET path` with `X-Request-Id: rid` (and a token), so its log
/// entry can be found by `data.requestId`.
async fn tagged_get(app: &TestApp, path: &str, rid: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = app
        .client
        .get(app.url(path))
        .header("x-request-id", rid)
        .header("user-agent", "ops-logs-test/1.0")
        .header("referer", "http://example.test/page");
    if let Some(t) = token {
        req = req.header("authorization", t);
    }
    req.send().await.unwrap()
}

/// The log entries of request `rid`.
async fn entries_of(app: &TestApp, token: &str, rid: &str) -> Vec<Value> {
    flushed(app).await;
    let path = format!(
        "/api/logs?filter={}",
        filter(&format!("data.requestId = '{rid}'"))
    );
    let resp = app.call("GET", &path, Some(token), None).await;
    assert_eq!(resp.status(), 200);
    json(resp).await["items"].as_array().unwrap().clone()
}

/// Two log entries written as the writer keys them (the millisecond,
/// shifted 18 bits): one at `old_at` (SQL giving Unix seconds), one now;
/// their ids, read from the key.
async fn old_and_new_entries(app: &TestApp, old_at: &str) -> (String, String) {
    let sql = format!(
        "INSERT INTO _log_entries (seq, level, message, data) VALUES
           (({old_at} * 1000) << 18, 0, 'old', '{{}}'),
           (CAST(unixepoch('now', 'subsec') * 1000 AS INTEGER) << 18, 0, 'new', '{{}}')"
    );
    app.state
        .store
        .auxiliary
        .write(move |tx| {
            tx.execute_batch(&sql)?;
            let id = |m: &str| {
                tx.query_row("SELECT id FROM _logs WHERE message = ?1", [m], |r| {
                    r.get::<_, String>(0)
                })
            };
            Ok::<_, cairn::store::StoreError>((id("old")?, id("new")?))
        })
        .await
        .unwrap()
}

const ROUTES: [(&str, &str); 6] = [
    ("GET", "/api/logs"),
    ("GET", "/api/logs/stats"),
    ("GET", "/api/logs/abc123"),
    ("DELETE", "/api/logs"),
    ("GET", "/api/crons"),
    ("POST", "/api/crons/__cairnLogsCleanup__"),
];

#[tokio::test]
async fn guests_get_401_and_users_403_on_every_route() {
    let app = spawn_app().await;
    let (_, user) = app.sign_up("plain@example.com", "user-pass-123").await;
    let admin = app.superuser_token().await;
    for (method, path) in ROUTES {
        let body = assert_envelope(app.call(method, path, None, None).await, 401).await;
        assert_eq!(
            body["message"], "The request requires valid record authorization token.",
            "{method} {path}"
        );
        let body = assert_envelope(app.call(method, path, Some(&user), None).await, 403).await;
        assert_eq!(
            body["message"], "The authorized record is not allowed to perform this action.",
            "{method} {path}"
        );
        // The same request with a superuser's token gets through the
        // guard (the unknown log id is then a 404).
        let status = app.call(method, path, Some(&admin), None).await.status().as_u16();
        let want = match path {
            "/api/logs/abc123" => 404,
            _ if method == "GET" => 200,
            _ => 204,
        };
        assert_eq!(status, want, "{method} {path}");
    }
}

#[tokio::test]
async fn bad_filters_and_sorts_are_400_in_the_envelope() {
    let app = spawn_app().await;
    let admin = app.superuser_token().await;
    for path in [
        format!("/api/logs?filter={}", filter("nope = 1")),
        format!("/api/logs?filter={}", filter("((level")),
        format!("/api/logs?filter={}", filter("@collection.users.id = 'x'")),
        "/api/logs?sort=nope".to_owned(),
        "/api/logs?sort=@nope".to_owned(),
        format!("/api/logs/stats?filter={}", filter("nope = 1")),
    ] {
        let body = assert_envelope(app.call("GET", &path, Some(&admin), None).await, 400).await;
        assert!(
            body["message"].as_str().unwrap().starts_with("Invalid"),
            "{path}: {body}"
        );
    }
    // Controls: the same parameters over the log's real columns.
    for path in [
        format!("/api/logs?filter={}", filter("level >= 0 && data.status != 0")),
        format!("/api/logs?filter={}", filter("data.unknownKey = 1")),
        "/api/logs?sort=-created,data.execTime,@rowid".to_owned(),
        "/api/logs?sort=@random,-level".to_owned(),
        format!("/api/logs/stats?filter={}", filter("data.status >= 400")),
    ] {
        let resp = app.call("GET", &path, Some(&admin), None).await;
        assert_eq!(resp.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn a_request_is_logged_in_pocketbase_shape() {
    let app = spawn_app().await;
    let admin = app.superuser_token().await;
    let (user_id, user) = app.sign_up("seen@example.com", "user-pass-123").await;
    let resp = tagged_get(
        &app,
        "/api/collections/users/records?perPage=2",
        "rid-shape-1",
        Some(&user),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let missing = tagged_get(&app, "/api/nothing/here", "rid-shape-2", None).await;
    assert_eq!(missing.status(), 404);

    let items = entries_of(&app, &admin, "rid-shape-1").await;
    assert_eq!(items.len(), 1, "{items:?}");
    let e = &items[0];
    assert_eq!(e["level"], 0);
    assert_eq!(e["message"], "GET /api/collections/users/records?perPage=2");
    assert_eq!(e["id"].as_str().unwrap().len(), 15);
    assert!(e["created"].as_str().unwrap().ends_with('Z'), "{e}");
    let d = &e["data"];
    assert_eq!(d["type"], "request");
    assert_eq!(d["method"], "GET");
    assert_eq!(d["url"], "/api/collections/users/records?perPage=2");
    assert_eq!(d["status"], 200);
    assert!(d["execTime"].as_f64().unwrap() > 0.0, "{d}");
    assert_eq!(d["remoteIP"], "127.0.0.1");
    assert_eq!(d["userIP"], "127.0.0.1");
    assert_eq!(d["referer"], "http://example.test/page");
    assert_eq!(d["userAgent"], "ops-logs-test/1.0");
    assert_eq!(d["auth"], "users");
    // PocketBase keeps the record id only with `logAuthId` (off by default).
    assert!(d.get("authId").is_none(), "{d}");
    assert!(d.get("error").is_none() && d.get("details").is_none(), "{d}");
    let errors = entries_of(&app, &admin, "rid-shape-2").await;
    assert_eq!(
        (errors[0]["level"].clone(), errors[0]["data"]["auth"].clone()),
        (json!(8), json!(""))
    );

    // One entry by id, the same as listed.
    let id = e["id"].as_str().unwrap();
    let one = json(
        app.call("GET", &format!("/api/logs/{id}"), Some(&admin), None)
            .await,
    )
    .await;
    assert_eq!(&one, e);

    // Stats: hourly totals, PocketBase's date form; a filter narrows them.
    let stats = json(app.call("GET", "/api/logs/stats", Some(&admin), None).await).await;
    let hours = stats.as_array().unwrap();
    assert!(!hours.is_empty());
    let date = hours[0]["date"].as_str().unwrap();
    assert!(date.ends_with(":00:00.000Z") && date.len() == 24, "{date}");
    let total: i64 = hours.iter().map(|h| h["total"].as_i64().unwrap()).sum();
    let path = format!(
        "/api/logs/stats?filter={}",
        filter("data.requestId = 'rid-shape-1'")
    );
    let narrowed = json(app.call("GET", &path, Some(&admin), None).await).await;
    assert_eq!(narrowed[0]["total"], 1, "{narrowed}");
    assert!(total > 1, "{stats}");

    // Paging and sort over a data path.
    let path = format!(
        "/api/logs?perPage=1&sort=-data.status&filter={}",
        filter("data.requestId ~ 'rid-shape-'")
    );
    let page = json(app.call("GET", &path, Some(&admin), None).await).await;
    assert_eq!(
        (page["totalItems"].clone(), page["totalPages"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(page["items"][0]["data"]["status"], 404, "{page}");
    let _ = user_id;
}

/// A refused request's entry says what its client was told and why, as
/// PocketBase's entries do (`error`, `details`): a superuser reading the
/// log sees which fields a failing app sent wrong.
#[tokio::test]
async fn a_refused_request_is_logged_with_its_error_and_details() {
    let app = spawn_app().await;
    let admin = app.superuser_token().await;
    let body = json!({"name": "lg", "createRule": "", "fields": [{"name": "n", "type": "number", "required": true}]});
    assert_eq!(
        app.call("POST", "/api/collections", Some(&admin), Some(body))
            .await
            .status(),
        200
    );
    let post = |rid: &'static str, body: Value| {
        app.client
            .post(app.url("/api/collections/lg/records"))
            .header("x-request-id", rid)
            .json(&body)
            .send()
    };
    assert_eq!(post("rid-refused", json!({"n": ""})).await.unwrap().status(), 400);
    assert_eq!(post("rid-made", json!({"n": 3})).await.unwrap().status(), 200);
    let missing = tagged_get(&app, "/api/collections/nothing/records", "rid-missing", None).await;
    assert_eq!(missing.status(), 404);

    let refused = &entries_of(&app, &admin, "rid-refused").await[0]["data"];
    assert_eq!(refused["error"], "Failed to create record.", "{refused}");
    let details: Value = serde_json::from_str(refused["details"].as_str().unwrap()).unwrap();
    assert_eq!(details["n"]["code"], "validation_required", "{details}");
    let missing = &entries_of(&app, &admin, "rid-missing").await[0]["data"];
    assert_eq!(missing["error"], "Missing collection context.", "{missing}");
    assert!(missing.get("details").is_none(), "{missing}");
    // The control: a request that succeeded has neither.
    let made = &entries_of(&app, &admin, "rid-made").await[0]["data"];
    assert!(
        made.get("error").is_none() && made.get("details").is_none(),
        "{made}"
    );
    // Both can be filtered on, as any data key.
    let path = format!(
        "/api/logs?filter={}",
        filter("data.details ~ 'validation_required'")
    );
    let found = json(app.call("GET", &path, Some(&admin), None).await).await;
    assert_eq!(found["totalItems"], 1, "{found}");
}

#[tokio::test]
async fn settings_logs_are_honoured() {
    let app = spawn_app().await;
    let admin = app.superuser_token().await;
    let (user_id, user) = app.sign_up("who@example.com", "user-pass-123").await;

    app.change_settings(|s| {
        s.logs.log_ip = false;
        s.logs.log_auth_id = true;
    })
    .await;
    tagged_get(&app, "/api/collections/users/records", "rid-set-1", Some(&user)).await;
    let e = entries_of(&app, &admin, "rid-set-1").await;
    let d = &e[0]["data"];
    assert!(d.get("remoteIP").is_none() && d.get("userIP").is_none(), "{d}");
    assert_eq!(d["authId"], user_id.as_str());

    // minLevel above INFO: successes are not kept, errors are.
    app.change_settings(|s| s.logs.min_level = 5).await;
    tagged_get(&app, "/api/health", "rid-set-2", None).await;
    tagged_get(&app, "/api/nothing", "rid-set-3", None).await;
    assert!(entries_of(&app, &admin, "rid-set-2").await.is_empty());
    assert_eq!(entries_of(&app, &admin, "rid-set-3").await.len(), 1);

    // maxDataSize caps what `data` holds; the entry is still kept.
    app.change_settings(|s| {
        s.logs.min_level = 0;
        s.logs.max_data_size = 200;
    })
    .await;
    let long = format!("/api/health?{}", "q".repeat(1000));
    tagged_get(&app, &long, "rid-set-4", None).await;
    let e = entries_of(&app, &admin, "rid-set-4").await;
    assert!(e[0]["data"].to_string().len() <= 200, "{}", e[0]["data"]);
    assert_eq!(e[0]["data"]["status"], 200);

    // maxDays 0: nothing is kept.
    app.change_settings(|s| s.logs.max_days = 0).await;
    tagged_get(&app, "/api/health", "rid-set-5", None).await;
    app.change_settings(|s| s.logs.max_days = 5).await;
    assert!(entries_of(&app, &admin, "rid-set-5").await.is_empty());
}

#[tokio::test]
async fn delete_empties_the_log_and_the_retention_job_removes_old_entries() {
    let app = spawn_app().await;
    let admin = app.superuser_token().await;
    // Two entries, one from long before `maxDays`.
    let (old, new) = old_and_new_entries(&app, "unixepoch('2001-01-01')").await;
    // The old entry reads back as written.
    let entry = json(
        app.call("GET", &format!("/api/logs/{old}"), Some(&admin), None)
            .await,
    )
    .await;
    assert_eq!(entry["created"], "2001-01-01 00:00:00.000Z", "{entry}");
    assert_eq!(entry["message"], "old");
    let resp = app
        .call("POST", "/api/crons/__cairnLogsCleanup__", Some(&admin), None)
        .await;
    assert_eq!(resp.status(), 204);
    let gone = |id: &str| {
        let app = &app;
        let admin = admin.clone();
        let url = format!("/api/logs/{id}");
        async move { app.call("GET", &url, Some(&admin), None).await.status() == 404 }
    };
    let mut waited = 0;
    while !gone(&old).await {
        waited += 1;
        assert!(waited < 100, "the retention job did not run");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!gone(&new).await, "a recent entry stays");

    let resp = app.call("DELETE", "/api/logs", Some(&admin), None).await;
    assert_eq!(resp.status(), 204);
    assert!(gone(&new).await);
}

/// Saving a shorter `logs.maxDays` removes what it no longer keeps at
/// once, and `maxDays` 0 (logging off) empties the log, as PocketBase
/// does on save; a change that does not shorten it removes nothing.
#[tokio::test]
async fn a_shorter_retention_applies_when_the_settings_are_saved() {
    let app = spawn_app().await;
    let admin = app.superuser_token().await;
    let (old, new) = old_and_new_entries(&app, "unixepoch('now', '-3 days')").await;
    let status = |id: String| {
        let (app, admin) = (&app, admin.clone());
        async move {
            app.call("GET", &format!("/api/logs/{id}"), Some(&admin), None)
                .await
                .status()
        }
    };
    let patch = |max_days: u32| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let body = json!({"logs": {"maxDays": max_days}});
            let resp = app.call("PATCH", "/api/settings", Some(&admin), Some(body)).await;
            assert_eq!(resp.status(), 200);
        }
    };
    let wait_gone = |id: String, what: &'static str| {
        let status = &status;
        async move {
            for _ in 0..100 {
                if status(id.clone()).await == 404 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("{what} was still in the log 5 s after the settings were saved");
        }
    };

    // Longer, then the same: nothing goes, however long we wait for it.
    patch(30).await;
    patch(30).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        status(old.clone()).await,
        200,
        "a longer retention removed an entry"
    );

    // Shorter than the old entry's age: it goes, the new one stays.
    patch(1).await;
    wait_gone(old, "an entry older than the new retention").await;
    assert_eq!(status(new.clone()).await, 200, "a recent entry stays");

    // Off: the log is emptied, of the reads above too (queued before the
    // change, so written before it), and the PATCH itself is not kept.
    patch(0).await;
    wait_gone(new, "an entry after logging was turned off").await;
    let page = json(app.call("GET", "/api/logs", Some(&admin), None).await).await;
    assert_eq!(page["totalItems"], 0, "{page}");

    // On again: requests are logged again (the writer did not stay off).
    patch(5).await;
    tagged_get(&app, "/api/health", "rid-back-on", None).await;
    assert_eq!(entries_of(&app, &admin, "rid-back-on").await.len(), 1);
}

#[tokio::test]
async fn crons_list_cairns_jobs_and_an_unknown_one_is_404() {
    let app = spawn_app().await;
    let admin = app.superuser_token().await;
    let list = json(app.call("GET", "/api/crons", Some(&admin), None).await).await;
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            assert!(j["expression"].as_str().is_some_and(|e| !e.is_empty()), "{j}");
            j["id"].as_str().unwrap()
        })
        .collect();
    for want in [
        "__cairnLogsCleanup__",
        "__cairnOTPCleanup__",
        "__cairnMFACleanup__",
        "__cairnSessionsCleanup__",
        "__cairnJobsCleanup__",
        "__cairnFilesSweep__",
        "__cairnDBOptimize__",
    ] {
        assert!(ids.contains(&want), "{ids:?}");
    }
    let body = assert_envelope(app.call("POST", "/api/crons/nope", Some(&admin), None).await, 404).await;
    assert_eq!(body["message"], "Missing or invalid cron job.");
    for id in ids {
        let resp = app
            .call("POST", &format!("/api/crons/{id}"), Some(&admin), None)
            .await;
        assert_eq!(resp.status(), 204, "{id}");
    }
}

#[tokio::test]
async fn a_cron_expression_that_does_not_parse_is_400() {
    let app = spawn_app().await;
    let admin = app.superuser_token().await;
    let resp = app
        .call(
            "PATCH",
            "/api/settings",
            Some(&admin),
            Some(json!({"backups": {"cron": "61 * * * *"}})),
        )
        .await;
    let body = assert_envelope(resp, 400).await;
    assert_eq!(
        body["data"]["backups"]["cron"]["code"], "validation_invalid_cron",
        "{body}"
    );
    assert_eq!(app.state.settings.get().backups.cron, "", "not saved");
    let resp = app
        .call(
            "PATCH",
            "/api/settings",
            Some(&admin),
            Some(json!({"backups": {"cron": "@daily"}})),
        )
        .await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn the_servers_own_warnings_are_logged() {
    let app = spawn_app().await;
    let admin = app.superuser_token().await;
    tracing::warn!(target: "cairn::ops_test", marker = "warn-7f3a", "something looks off");
    tracing::info!(target: "cairn::ops_test", marker = "info-7f3a", "all is well");
    flushed(&app).await;
    let path = format!("/api/logs?filter={}", filter("data.marker ~ '7f3a'"));
    let items = json(app.call("GET", &path, Some(&admin), None).await).await["items"].clone();
    let items = items.as_array().unwrap();
    assert_eq!(items.len(), 1, "warnings only: {items:?}");
    assert_eq!(items[0]["level"], 4);
    assert_eq!(items[0]["message"], "something looks off");
    assert_eq!(items[0]["data"]["marker"], "warn-7f3a");
}

/// A log kept before the log became one B-tree (auxiliary/0005) moves into
/// it whole: every row, its `created` to the millisecond and its contents,
/// in its order; ids become the key's. Then filters on a `created` range
/// (which the key narrows) and the hourly stats answer as they did.
#[tokio::test]
async fn a_log_of_the_old_shape_moves_into_the_keyed_table_whole() {
    let dir = spawn_app().await.shutdown().await;
    // Put `auxiliary.db` back as migrations 0001-0004 left it, with rows.
    let conn = rusqlite::Connection::open(dir.path().join("auxiliary.db")).unwrap();
    conn.execute_batch(
        "DROP VIEW _logs; DROP TABLE _log_entries; DELETE FROM _migrations WHERE file > '0005'",
    )
    .unwrap();
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/auxiliary");
    for file in [
        "0001_init.sql",
        "0002_logs_created.sql",
        "0003_logs_fewer_indexes.sql",
        "0004_logs_no_level_index.sql",
    ] {
        conn.execute_batch(&std::fs::read_to_string(folder.join(file)).unwrap())
            .unwrap();
    }
    // (id, created, message): two in one millisecond, written in that
    // order, the rows not in `created` order, two hours and two days.
    let old = [
        ("zzzzzzzzzzzzzz1", "2026-01-02 10:00:00.005Z", "b"),
        ("aaaaaaaaaaaaaa1", "2026-01-02 10:00:00.005Z", "c"),
        ("mmmmmmmmmmmmmm1", "2026-01-02 09:59:59.999Z", "a"),
        ("kkkkkkkkkkkkkk1", "2026-01-02 11:30:00.000Z", "d"),
        ("jjjjjjjjjjjjjj1", "2026-01-03 00:00:00.000Z", "e"),
        ("iiiiiiiiiiiiii1", "2026-01-01 23:59:59.999Z", "before"),
    ];
    for (id, created, message) in old {
        conn.execute(
            "INSERT INTO _logs (id, level, message, data, created) VALUES (?1, 4, ?2, '{\"type\":\"request\",\"status\":201}', ?3)",
            [id, message, created],
        )
        .unwrap();
    }
    drop(conn);

    let app = crate::helpers::spawn_app_in(dir, |_| {}).await;
    let admin = app.superuser_token().await;
    let page = |filter_text: &str| {
        let path = format!(
            "/api/logs?sort=created&perPage=100&filter={}",
            // Level 4 as the rows above: this test's own requests are
            // logged too, at 0, and their times fall in some ranges.
            filter(&format!("data.type = 'request' && level = 4 && ({filter_text})"))
        );
        let (app, admin) = (&app, admin.clone());
        async move {
            let resp = app.call("GET", &path, Some(&admin), None).await;
            assert_eq!(resp.status(), 200);
            json(resp).await
        }
    };
    let all = page("level = 4").await;
    let items = all["items"].as_array().unwrap();
    let got: Vec<(&str, &str)> = items
        .iter()
        .map(|e| (e["created"].as_str().unwrap(), e["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("2026-01-01 23:59:59.999Z", "before"),
            ("2026-01-02 09:59:59.999Z", "a"),
            ("2026-01-02 10:00:00.005Z", "b"),
            ("2026-01-02 10:00:00.005Z", "c"),
            ("2026-01-02 11:30:00.000Z", "d"),
            ("2026-01-03 00:00:00.000Z", "e"),
        ]
    );
    let ids: Vec<&str> = items.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids sort as created: {ids:?}"
    );
    for (e, id) in items.iter().zip(&ids) {
        assert!(
            id.len() == 15
                && id
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(e["level"], 4);
        assert_eq!(e["data"], json!({"type": "request", "status": 201}));
        let one = json(
            app.call("GET", &format!("/api/logs/{id}"), Some(&admin), None)
                .await,
        )
        .await;
        assert_eq!(&one, e);
    }

    // Ranges on `created`, each as the text comparison decides.
    let messages = |v: Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message"].as_str().unwrap().to_owned())
            .collect()
    };
    let cases: [(&str, &[&str]); 8] = [
        (
            "created >= '2026-01-02' && created < '2026-01-03'",
            &["a", "b", "c", "d"],
        ),
        ("created > '2026-01-02 10:00:00.005Z'", &["d", "e"]),
        (
            "created <= '2026-01-02 10:00:00.005Z' && created > '2026-01-02'",
            &["a", "b", "c"],
        ),
        ("created = '2026-01-02 10:00:00.005Z'", &["b", "c"]),
        ("created = '2026-01-02'", &[]),
        ("created <= '2026-01-02 10'", &["before", "a"]),
        ("'2026-01-02 11:30:00.000Z' <= created", &["d", "e"]),
        (
            "created >= '2026-01-02T00:00:00Z' || message = 'before'",
            &["before", "e"],
        ),
    ];
    for (f, want) in cases {
        assert_eq!(messages(page(f).await), want, "{f}");
    }
    assert_eq!(
        page("created >= '2026-01-02' && created < '2026-01-03'").await["totalItems"],
        4
    );

    // The hourly stats, over a range.
    let path = format!(
        "/api/logs/stats?filter={}",
        filter("data.type = 'request' && created >= '2026-01-02' && created < '2026-01-03'")
    );
    let stats = json(app.call("GET", &path, Some(&admin), None).await).await;
    assert_eq!(
        stats,
        json!([
            {"total": 1, "date": "2026-01-02 09:00:00.000Z"},
            {"total": 2, "date": "2026-01-02 10:00:00.000Z"},
            {"total": 1, "date": "2026-01-02 11:00:00.000Z"},
        ])
    );

    // A request now is logged after them all.
    tagged_get(&app, "/api/health", "rid-after-move", None).await;
    let now = entries_of(&app, &admin, "rid-after-move").await;
    assert!(now[0]["id"].as_str().unwrap() > ids[5], "{}", now[0]["id"]);
}

/// As in PocketBase, a static file (the dashboard's, the public
/// folder's) or an opened realtime stream leaves no log entry unless the
/// request failed; the API's requests are all logged (the control). Seen
/// on PocketBase 0.40.6: `GET /_/`, a `pb_public` file and `GET
/// /api/realtime` left none, a missing `pb_public` file and a missing
/// dashboard image one each.
#[tokio::test]
async fn static_files_and_realtime_streams_are_logged_only_when_they_fail() {
    let root = tempfile::tempdir().unwrap();
    let public = root.path().join("pb_public");
    std::fs::create_dir_all(&public).unwrap();
    std::fs::write(public.join("a.txt"), "hi").unwrap();
    let app = crate::helpers::spawn_app_with(|c| {
        c.public_dir = Some(public);
        c.index_fallback = false;
    })
    .await;
    let token = app.superuser_token().await;
    let cases = [
        ("/_/", "dash", 200, 0),
        ("/_/missing.js", "dash-missing", 404, 1),
        ("/a.txt", "site", 200, 0),
        ("/missing.txt", "site-missing", 404, 1),
        ("/api/realtime", "stream", 200, 0),
        ("/api/health", "api", 200, 1),
    ];
    for (path, rid, status, _) in cases {
        // The stream's answer is its headers; it is dropped unread.
        let resp = tagged_get(&app, path, rid, None).await;
        assert_eq!(resp.status(), status, "{path}");
    }
    for (path, rid, _, logged) in cases {
        assert_eq!(entries_of(&app, &token, rid).await.len(), logged, "{path}");
    }
}
