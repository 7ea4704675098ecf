//! View collections against PocketBase 0.40.6: the same tables and rows on
//! both servers, then each view query, and the fields each infers (name,
//! type, and what the type says: a relation's target, an integer-only
//! number, the primary key) and the records each view returns, listed,
//! fetched by id, filtered by id and expanded through the relations the
//! view inferred, must agree. A query one refuses the other must refuse,
//! and the dashboard's dry run must infer what saving infers.
//!
//! What PocketBase cannot be compared on (what Cairn accepts beyond it,
//! ids after a table is renamed) is in the Cairn-only tests at the end.

use serde_json::{Value, json};

use crate::{
    differential::{Server, answer, start_both, urlencode},
    helpers::{TestApp, assert_envelope, json, spawn_app},
};

/// `vp` (people), `vpost` (posts by them, read by them, owned by users),
/// a view `pview` over `vpost`, and fixed ids, so both servers' records
/// compare byte for byte.
async fn seed(s: &Server) {
    s.admin(
        "POST",
        "/api/collections/users/records",
        json!({"id": "useruuuuuuuone1", "email": "one@example.com", "password": "pass-word-1",
               "passwordConfirm": "pass-word-1", "name": "One"}),
    )
    .await;
    let vp = s
        .admin(
            "POST",
            "/api/collections",
            json!({"name": "vp", "fields": [
                {"name": "name", "type": "text"}, {"name": "age", "type": "number"},
                {"name": "active", "type": "bool"}, {"name": "meta", "type": "json"},
                {"name": "born", "type": "date"},
                {"name": "tags", "type": "select", "values": ["x", "y"], "maxSelect": 2},
            ]}),
        )
        .await;
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "vpost", "fields": [
            {"name": "title", "type": "text"},
            {"name": "author", "type": "relation", "collectionId": vp["id"]},
            {"name": "readers", "type": "relation", "collectionId": vp["id"], "maxSelect": 5},
            {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
            {"name": "n", "type": "number"},
        ]}),
    )
    .await;
    for person in [
        json!({"id": "aaaaaaaaaaaaaa1", "name": "Alice", "age": 30, "active": true, "meta": {"a": 1},
               "born": "1990-05-01 10:00:00.000Z", "tags": ["x"]}),
        json!({"id": "bbbbbbbbbbbbbb2", "name": "Bob", "age": 41.5, "active": false}),
        json!({"id": "cccccccccccccc3", "name": "Cy", "age": 2}),
    ] {
        s.admin("POST", "/api/collections/vp/records", person).await;
    }
    for post in [
        json!({"id": "ppppppppppppp01", "title": "one", "author": "aaaaaaaaaaaaaa1", "n": 3,
               "readers": ["aaaaaaaaaaaaaa1", "bbbbbbbbbbbbbb2"], "owner": "useruuuuuuuone1"}),
        json!({"id": "ppppppppppppp02", "title": "two", "author": "aaaaaaaaaaaaaa1", "n": 4}),
        json!({"id": "ppppppppppppp03", "title": "three", "author": "bbbbbbbbbbbbbb2", "n": 5.5,
               "owner": "useruuuuuuuone1"}),
    ] {
        s.admin("POST", "/api/collections/vpost/records", post).await;
    }
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "pview", "type": "view", "viewQuery": "SELECT id, author, title, n FROM vpost"}),
    )
    .await;
}

/// (view name, query, relation field to expand) that both accept.
const VIEWS: &[(&str, &str, &str)] = &[
    // 1. An id made by the query.
    ("v_rownum", "SELECT (ROW_NUMBER() OVER()) AS id, name FROM vp", ""),
    ("v_literal_id", "SELECT 1 AS id, name FROM vp LIMIT 1", ""),
    (
        "v_group",
        "SELECT author AS id, count(*) AS total FROM vpost GROUP BY author",
        "",
    ),
    // 2. A collection's id is a relation to it; a relation passes through.
    (
        "v_join_id",
        "SELECT p.id, a.id AS author FROM vpost p LEFT JOIN vp a ON a.id = p.author",
        "author",
    ),
    ("v_self", "SELECT id, id AS self FROM vp", "self"),
    (
        "v_users",
        "SELECT p.id, u.id AS who FROM vpost p JOIN users u ON u.id = p.owner",
        "who",
    ),
    ("v_pass", "SELECT id, author FROM vpost", "author"),
    ("v_alias", "SELECT id, author AS who FROM vpost", "who"),
    ("v_bare_alias", "SELECT id, author who FROM vpost", "who"),
    ("v_multi", "SELECT id, readers FROM vpost", "readers"),
    (
        "v_join_alias",
        "SELECT p.id, p.author AS who, a.name, a.age FROM vpost p JOIN vp a ON a.id = p.author",
        "who",
    ),
    ("v_over_view", "SELECT id, author, n FROM pview", "author"),
    (
        "v_to_view",
        "SELECT p.id, v.id AS ref FROM vpost p JOIN pview v ON v.id = p.id",
        "ref",
    ),
    // 3. Aggregates.
    (
        "v_aggregates",
        "SELECT author AS id, count(*) AS c, count(title) AS ct, total(n) AS t, sum(n) AS s, \
         avg(n) AS a, min(n) AS mi, max(n) AS ma FROM vpost GROUP BY author",
        "",
    ),
    // 4. Casts.
    (
        "v_casts",
        "SELECT id, CAST(age AS TEXT) AS t, CAST(age AS INTEGER) AS i, cast(age as int) AS i2, \
         CAST(age AS REAL) AS r, CAST(age AS NUMERIC) AS nm, CAST(age AS BOOLEAN) AS b, \
         CAST(age AS bool) AS b2, CAST(active AS BOOLEAN) AS ab, CAST(name AS BLOB) AS bl, \
         CAST(age AS VARCHAR) AS vc, CAST(NULL AS TEXT) AS nt, CAST(count(*) AS TEXT) AS cc \
         FROM vp GROUP BY id",
        "",
    ),
    // 5. Through a WITH table or a subquery: json; a table beside one: typed.
    (
        "v_with",
        "WITH x AS (SELECT id, name, age, active, author FROM vp JOIN (SELECT author FROM vpost LIMIT 1)) \
         SELECT id, name, age, active, author FROM x",
        "",
    ),
    (
        "v_subquery",
        "SELECT id, name, active FROM (SELECT id, name, active FROM vp)",
        "",
    ),
    (
        "v_with_beside",
        "WITH x AS (SELECT id FROM vp) SELECT vp.id, vp.name, vp.age FROM vp JOIN x ON x.id = vp.id",
        "",
    ),
    (
        "v_union_inside",
        "SELECT id, name FROM (SELECT id, name FROM vp UNION SELECT id, title FROM vpost)",
        "",
    ),
    // Unqualified columns are read from the first table only.
    (
        "v_unqualified",
        "SELECT p.id, title, name FROM vpost p JOIN vp a ON a.id = p.author",
        "",
    ),
    // Fields of every kind passed through, and computed values.
    ("v_kinds", "SELECT id, born, meta, tags, active FROM vp", ""),
    (
        "v_values",
        "SELECT id, 'x' AS lit, '[1,2]' AS arr, (name || '!') AS cat, (age * 2) AS twice, \
         NULL AS nil, (SELECT count(*) FROM vpost) AS sub, lower(name) AS lo FROM vp",
        "",
    ),
];

/// Queries both refuse with a 400.
const REFUSED: &[&str] = &[
    "SELECT * FROM vp",
    "SELECT vp.* FROM vp",
    "SELECT id, vp.* FROM vp",
    "SELECT id, name FROM vp UNION SELECT id, title FROM vpost",
    "SELECT id, name FROM vp UNION ALL SELECT id, title FROM vpost",
    "SELECT name FROM vp",
    "SELECT author AS id FROM vpost",
    "SELECT 'same' AS id, name FROM vp",
    "SELECT NULL AS id, name FROM vp LIMIT 1",
    "SELECT id, total(n) AS t FROM vpost WHERE 0",
    "SELECT id, name AS id FROM vp",
    "SELECT id, nosuch FROM vp",
    "SELECT id FROM nowhere",
    "SELECT id, ? AS x FROM vp",
    "DELETE FROM vp",
];

/// A field as far as the two must agree on it; a relation's target by
/// name, as the collections' ids are each server's own.
async fn field_shape(s: &Server, f: &Value) -> Value {
    let mut shape = json!({
        "name": f["name"], "type": f["type"], "system": f["system"], "hidden": f["hidden"],
    });
    let o = shape.as_object_mut().unwrap();
    match f["type"].as_str() {
        Some("relation") => {
            let target = s
                .admin(
                    "GET",
                    &format!("/api/collections/{}", f["collectionId"].as_str().unwrap()),
                    Value::Null,
                )
                .await;
            o.insert("target".into(), target["name"].clone());
            o.insert("maxSelect".into(), f["maxSelect"].clone());
        }
        Some("number") => {
            o.insert("onlyInt".into(), f["onlyInt"].clone());
        }
        Some("text") => {
            o.insert("primaryKey".into(), f["primaryKey"].clone());
            o.insert("required".into(), f["required"].clone());
            o.insert("pattern".into(), f["pattern"].clone());
        }
        _ => {}
    }
    shape
}

async fn fields_shape(s: &Server, fields: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for f in fields.as_array().cloned().unwrap_or_default() {
        out.push(field_shape(s, &f).await);
    }
    out
}

/// Every answer a view gives that must agree: (what was asked, answer).
async fn view_answers(s: &Server, view: &str, expand: &str) -> Vec<(String, Value)> {
    let expand = if expand.is_empty() {
        String::new()
    } else {
        format!("&expand={expand}")
    };
    let token = Some(s.superuser.as_str());
    let list_path = format!("/api/collections/{view}/records?sort=id&perPage=100{expand}");
    let (status, list) = s.call("GET", &list_path, token, None).await;
    let mut out = vec![(list_path, answer(status, &list))];
    let first = list["items"][0]["id"].as_str().unwrap_or("none").to_owned();
    for path in [
        format!("/api/collections/{view}/records/{first}?x=1{expand}"),
        format!(
            "/api/collections/{view}/records?filter={}{expand}",
            urlencode(&format!("id = '{first}'"))
        ),
    ] {
        let (status, body) = s.call("GET", &path, token, None).await;
        out.push((path, answer(status, &body)));
    }
    out
}

#[tokio::test]
async fn views_infer_fields_and_return_records_as_pocketbase_does() {
    let Some(both) = start_both().await else {
        return;
    };
    let (pb, cairn) = (&both.pb, &both.cairn);
    seed(pb).await;
    seed(cairn).await;
    let mut disagreements: Vec<String> = Vec::new();

    for (name, query, expand) in VIEWS {
        let body = json!({"name": name, "type": "view", "viewQuery": query});
        let dry = json!({"query": query});
        let mut shapes = Vec::new();
        for s in [pb, cairn] {
            let token = Some(s.superuser.as_str());
            let (status, created) = s
                .call("POST", "/api/collections", token, Some(body.clone()))
                .await;
            let (dry_status, dried) = s
                .call(
                    "POST",
                    "/api/collections/meta/dry-run-view",
                    token,
                    Some(dry.clone()),
                )
                .await;
            if status != 200 || dry_status != 200 {
                disagreements.push(format!(
                    "{name}: {} answered {status} {created} / dry run {dry_status} {dried}",
                    s.base
                ));
                continue;
            }
            let fields = fields_shape(s, &created["fields"]).await;
            if fields_shape(s, &dried["fields"]).await != fields {
                disagreements.push(format!("{name}: {} dry run infers otherwise: {dried}", s.base));
            }
            shapes.push(fields);
        }
        if let [pb_fields, cairn_fields] = &shapes[..]
            && pb_fields != cairn_fields
        {
            disagreements.push(format!(
                "{name} fields:\n  PocketBase {}\n  Cairn      {}",
                json!(pb_fields),
                json!(cairn_fields)
            ));
        }
        let pb_answers = view_answers(pb, name, expand).await;
        let cairn_answers = view_answers(cairn, name, expand).await;
        for ((path, p), (_, c)) in pb_answers.iter().zip(&cairn_answers) {
            if p != c {
                disagreements.push(format!("GET {path}:\n  PocketBase {p}\n  Cairn      {c}"));
            }
        }
    }

    for (i, query) in REFUSED.iter().enumerate() {
        // A name of its own, so one accepted by mistake cannot make the
        // next refused for its name.
        let body = json!({"name": format!("v_refused{i}"), "type": "view", "viewQuery": query});
        let mut statuses = Vec::new();
        for s in [pb, cairn] {
            let (status, answer) = s
                .call("POST", "/api/collections", Some(&s.superuser), Some(body.clone()))
                .await;
            let (dry, _) = s
                .call(
                    "POST",
                    "/api/collections/meta/dry-run-view",
                    Some(&s.superuser),
                    Some(json!({"query": query})),
                )
                .await;
            statuses.push((status, dry));
            if status == 400 && answer["data"]["viewQuery"]["code"] != "validation_invalid_view_query" {
                disagreements.push(format!(
                    "{query}: {} names no viewQuery problem: {answer}",
                    s.base
                ));
            }
        }
        if statuses[0] != statuses[1] || statuses[0].0 != 400 {
            disagreements.push(format!(
                "{query}: (create, dry run) PocketBase {:?}, Cairn {:?}",
                statuses[0], statuses[1]
            ));
        }
    }

    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

// Cairn only: what PocketBase cannot be compared on.

/// `people` (name, age) with two records.
async fn people(app: &TestApp, token: &str) {
    app.post_ok(
        token,
        "/api/collections",
        json!({"name": "people", "fields": [
            {"name": "name", "type": "text"}, {"name": "age", "type": "number"},
        ]}),
    )
    .await;
    for (name, age) in [("Ann", 30), ("Bo", 41)] {
        app.post_ok(
            token,
            "/api/collections/people/records",
            json!({"name": name, "age": age}),
        )
        .await;
    }
}

async fn create_view(app: &TestApp, token: &str, name: &str, query: &str) -> reqwest::Response {
    app.call(
        "POST",
        "/api/collections",
        Some(token),
        Some(json!({"name": name, "type": "view", "viewQuery": query})),
    )
    .await
}

fn types(collection: &Value) -> Vec<(String, String)> {
    collection["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_owned(),
                f["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn refused_view_queries_say_why_and_leave_nothing_behind() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    people(&app, &token).await;
    let before = json(
        app.call("GET", "/api/collections?perPage=500", Some(&token), None)
            .await,
    )
    .await;
    for (query, reason) in [
        ("SELECT * FROM people", "cannot select *"),
        ("SELECT p.* FROM people p", "cannot select *"),
        ("SELECT id FROM people UNION SELECT id FROM people", "not a UNION"),
        (
            "SELECT id FROM people EXCEPT SELECT id FROM people",
            "not a UNION",
        ),
        ("SELECT 'same' AS id, name FROM people", "share an id"),
        ("SELECT '' AS id, name FROM people", "empty id"),
        ("SELECT name FROM people", "ROW_NUMBER"),
        ("SELECT id, ? AS x FROM people", "cannot have parameters"),
    ] {
        let body = assert_envelope(create_view(&app, &token, "v", query).await, 400).await;
        let problem = &body["data"]["viewQuery"];
        assert_eq!(
            problem["code"], "validation_invalid_view_query",
            "{query}: {body}"
        );
        let message = problem["message"].as_str().unwrap();
        assert!(message.contains(reason), "{query}: {message}");
    }
    let after = json(
        app.call("GET", "/api/collections?perPage=500", Some(&token), None)
            .await,
    )
    .await;
    assert_eq!(before["totalItems"], after["totalItems"], "no view was made");
    // The positive control: a query of the same tables is accepted.
    assert_eq!(
        create_view(&app, &token, "v", "SELECT id, name FROM people")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn expressions_pocketbase_cannot_read_are_json_and_a_with_table_hides_a_collection() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    people(&app, &token).await;
    let resp = create_view(
        &app,
        &token,
        "v",
        "WITH people AS (SELECT id, age AS name FROM main.people) \
         SELECT id, name, name * 2 AS twice, CASE WHEN name > 35 THEN 'old' ELSE 'young' END AS grp, \
         count(*) OVER () AS n FROM people",
    )
    .await;
    assert_eq!(resp.status(), 200);
    let view = json(resp).await;
    let want = [
        ("id", "text"),
        ("name", "json"),
        ("twice", "json"),
        ("grp", "json"),
        ("n", "json"),
    ];
    assert_eq!(types(&view), want.map(|(n, t)| (n.to_owned(), t.to_owned())));
    let list = json(
        app.call("GET", "/api/collections/v/records?sort=name", Some(&token), None)
            .await,
    )
    .await;
    let first = &list["items"][0];
    assert_eq!(
        (&first["name"], &first["twice"], &first["grp"], &first["n"]),
        (&json!(30), &json!(60), &json!("young"), &json!(2)),
        "{list}"
    );
}

#[tokio::test]
async fn a_computed_id_is_found_by_id_after_its_table_is_renamed_and_rebuilt() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    people(&app, &token).await;
    let query = "SELECT (ROW_NUMBER() OVER (ORDER BY name)) AS id, name FROM people";
    assert_eq!(create_view(&app, &token, "ranked", query).await.status(), 200);
    let by_id = |id: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            let resp = app
                .call(
                    "GET",
                    &format!("/api/collections/ranked/records/{id}"),
                    Some(token),
                    None,
                )
                .await;
            assert_eq!(resp.status(), 200, "record {id}");
            json(resp).await
        }
    };
    assert_eq!(by_id("2").await["name"], "Bo");

    // A rename (SQLite rewrites the view) and a rebuild (Cairn re-creates it).
    let resp = app
        .call(
            "PATCH",
            "/api/collections/people",
            Some(&token),
            Some(json!({"name": "persons"})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let mut fields = json(
        app.call("GET", "/api/collections/persons", Some(&token), None)
            .await,
    )
    .await["fields"]
        .as_array()
        .unwrap()
        .clone();
    fields.push(json!({"name": "extra", "type": "bool"}));
    let resp = app
        .call(
            "PATCH",
            "/api/collections/persons",
            Some(&token),
            Some(json!({"fields": fields})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(by_id("1").await["name"], "Ann");
    let filtered = json(
        app.call(
            "GET",
            "/api/collections/ranked/records?filter=id%3D'2'",
            Some(&token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(filtered["items"][0]["name"], "Bo", "{filtered}");

    // The stored query is the one written, following the rename, without
    // the cast Cairn wraps it in; saving it again changes nothing.
    let view = json(
        app.call("GET", "/api/collections/ranked", Some(&token), None)
            .await,
    )
    .await;
    assert_eq!(
        view["viewQuery"],
        "SELECT (ROW_NUMBER() OVER (ORDER BY name)) AS id, name FROM \"persons\""
    );
    let resp = app
        .call(
            "PATCH",
            "/api/collections/ranked",
            Some(&token),
            Some(json!({"viewQuery": view["viewQuery"]})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(by_id("2").await["name"], "Bo");
}
