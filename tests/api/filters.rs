//! Filters through relations and back-relations, against the answers
//! PocketBase 0.40.6 gave for the same data and expressions.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

async fn titles(app: &TestApp, collection: &str, filter: &str) -> Result<BTreeSet<String>, u16> {
    let resp = app
        .client
        .get(app.url(&format!("/api/collections/{collection}/records")))
        .query(&[("filter", filter), ("perPage", "100")])
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    if status != 200 {
        return Err(status);
    }
    let body = json(resp).await;
    Ok(body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap().to_owned())
        .collect())
}

/// people A, B; projects p1 (owner A, members A B), p2 (owner B, members
/// B), p3 (nobody); tasks t1, t3 in p1 and t2 in p2. Returns the ids of
/// A, B and p1, p2, p3.
async fn relational_data(app: &TestApp, token: &str) -> (Value, Value, Vec<Value>) {
    let people = app
        .post_ok(
            token,
            "/api/collections",
            json!({"name": "people", "listRule": "", "fields": [{"name": "name", "type": "text"}]}),
        )
        .await;
    let projects = app
        .post_ok(
            token,
            "/api/collections",
            json!({"name": "projects", "listRule": "", "fields": [
                {"name": "title", "type": "text"},
                {"name": "owner", "type": "relation", "collectionId": people["id"]},
                {"name": "members", "type": "relation", "collectionId": people["id"], "maxSelect": 5},
            ]}),
        )
        .await;
    app.post_ok(
        token,
        "/api/collections",
        json!({"name": "tasks", "listRule": "", "fields": [
            {"name": "title", "type": "text"},
            {"name": "project", "type": "relation", "collectionId": projects["id"]},
        ]}),
    )
    .await;
    let a = app
        .post_ok(token, "/api/collections/people/records", json!({"name": "A"}))
        .await["id"]
        .clone();
    let b = app
        .post_ok(token, "/api/collections/people/records", json!({"name": "B"}))
        .await["id"]
        .clone();
    let mut p = Vec::new();
    for (title, owner, members) in [
        ("p1", a.clone(), json!([a, b])),
        ("p2", b.clone(), json!([b])),
        ("p3", json!(""), json!([])),
    ] {
        let r = app
            .post_ok(
                token,
                "/api/collections/projects/records",
                json!({"title": title, "owner": owner, "members": members}),
            )
            .await;
        p.push(r["id"].clone());
    }
    for (title, project) in [("t1", &p[0]), ("t2", &p[1]), ("t3", &p[0])] {
        app.post_ok(
            token,
            "/api/collections/tasks/records",
            json!({"title": title, "project": project}),
        )
        .await;
    }

    (a, b, p)
}

#[tokio::test]
async fn relation_paths_agree_with_pocketbase() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    relational_data(&app, &token).await;

    let cases: &[(&str, &str, &[&str])] = &[
        ("projects", "owner.name = 'A'", &["p1"]),
        ("projects", "owner.name != 'A'", &["p2", "p3"]),
        ("projects", "owner.name = ''", &["p3"]),
        ("projects", "owner.name ?= 'A'", &["p1"]),
        ("projects", "members.name = 'B'", &["p2"]),
        ("projects", "members.name ?= 'B'", &["p1", "p2"]),
        ("projects", "members.name != 'A'", &["p2", "p3"]),
        ("projects", "members.name ?!= 'A'", &["p1", "p2", "p3"]),
        ("projects", "members.name ~ 'A'", &[]),
        ("projects", "members.name ?~ 'A'", &["p1"]),
        ("projects", "members.name = ''", &["p3"]),
        ("projects", "tasks_via_project.title ?= 't1'", &["p1"]),
        ("projects", "tasks_via_project.title = 't1'", &[]),
        ("projects", "tasks_via_project.title != 't2'", &["p1", "p3"]),
        ("projects", "tasks_via_project.title ?!= 't2'", &["p1", "p3"]),
        ("projects", "members:length = 2", &["p1"]),
        ("projects", "tasks_via_project.project.title ?= 'p1'", &["p1"]),
        ("tasks", "project.owner.name = 'A'", &["t1", "t3"]),
        ("tasks", "project.members.name ?= 'B'", &["t1", "t2", "t3"]),
        ("tasks", "project.members.name = 'B'", &["t2"]),
        ("tasks", "project.title ~ 'p'", &["t1", "t2", "t3"]),
    ];
    for (collection, filter, expected) in cases {
        let got = titles(&app, collection, filter)
            .await
            .unwrap_or_else(|s| panic!("{filter}: status {s}"));
        let expected: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
        assert_eq!(got, expected, "{collection}: {filter}");
    }
    assert_eq!(titles(&app, "projects", "owner.nope = 1").await, Err(400));
    assert_eq!(titles(&app, "projects", "title.x = 1").await, Err(400));
    assert_eq!(titles(&app, "projects", "nope_via_x.title = 1").await, Err(400));
    let deep = "owner.name = 1 && project.project.project.project.project.project.project.title = 1";
    assert_envelope(
        app.client
            .get(app.url("/api/collections/tasks/records"))
            .query(&[("filter", deep)])
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
}

#[tokio::test]
async fn expand_and_fields() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let (a, b, p) = relational_data(&app, &token).await;
    for c in ["people", "projects", "tasks"] {
        let open = app
            .call(
                "PATCH",
                &format!("/api/collections/{c}"),
                Some(&token),
                Some(json!({"viewRule": ""})),
            )
            .await;
        assert_eq!(open.status(), 200);
    }
    let get = |path: String| {
        let app = &app;
        async move { json(app.client.get(app.url(&path)).send().await.unwrap()).await }
    };
    let p1 = get(format!(
        "/api/collections/projects/records/{}?expand=owner,members,tasks_via_project.project.owner",
        p[0].as_str().unwrap()
    ))
    .await;
    assert_eq!(p1["expand"]["owner"]["id"], a);
    assert_eq!(p1["expand"]["owner"]["name"], "A");
    let members: Vec<&Value> = p1["expand"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert_eq!(members, [&a, &b], "in the record's order");
    let tasks = p1["expand"]["tasks_via_project"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    assert_eq!(
        tasks[0]["expand"]["project"]["expand"]["owner"]["name"], "A",
        "nested expand"
    );

    // `fields` trims the output, expand included; a record with nothing to
    // expand gets an empty `expand`, as PocketBase answers.
    let page = get(
        "/api/collections/projects/records?expand=owner&fields=title,expand.owner.name&sort=title".into(),
    )
    .await;
    assert_eq!(
        page["items"],
        json!([
            {"title": "p1", "expand": {"owner": {"name": "A"}}},
            {"title": "p2", "expand": {"owner": {"name": "B"}}},
            {"title": "p3", "expand": {}},
        ])
    );

    // Sorting through a relation path.
    let sorted = get("/api/collections/projects/records?sort=-owner.name,title&fields=title".into()).await;
    assert_eq!(
        sorted["items"],
        json!([{"title": "p2"}, {"title": "p1"}, {"title": "p3"}])
    );
    // Through a multiple relation: by its first record in stored order
    // (p1's members are [A, B]), as PocketBase sorts; each record once.
    let multi = get("/api/collections/projects/records?sort=-members.name,title&fields=title".into()).await;
    assert_eq!(
        multi["items"],
        json!([{"title": "p2"}, {"title": "p1"}, {"title": "p3"}])
    );
    assert_eq!(multi["totalItems"], 3);

    // What the caller may not view is not expanded.
    app.call(
        "PATCH",
        "/api/collections/people",
        Some(&token),
        Some(json!({"viewRule": "name = 'B'"})),
    )
    .await;
    let p1 = get(format!(
        "/api/collections/projects/records/{}?expand=owner,members",
        p[0].as_str().unwrap()
    ))
    .await;
    assert!(p1["expand"].get("owner").is_none(), "{p1}");
    let members: Vec<&Value> = p1["expand"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert_eq!(members, [&b]);
    app.call(
        "PATCH",
        "/api/collections/people",
        Some(&token),
        Some(json!({"viewRule": null})),
    )
    .await;
    let p1 = get(format!(
        "/api/collections/projects/records/{}?expand=owner",
        p[0].as_str().unwrap()
    ))
    .await;
    assert!(
        p1.get("expand").is_none() && p1["owner"].as_str().is_some_and(|o| !o.is_empty()),
        "a relation into records only superusers may view is not followed for guests: {p1}"
    );

    // A path deeper than 6 levels is followed 6 deep, as PocketBase
    // follows it, not refused (expand_paths compares it with PocketBase).
    let deep = app
        .client
        .get(app.url("/api/collections/projects/records?expand=a.b.c.d.e.f.g"))
        .send()
        .await
        .unwrap();
    assert_eq!(deep.status(), 200);
}
