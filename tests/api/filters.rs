//! Filters through relations and back-relations, against the answers
//! PocketBase 0.40.6 gave for the same data and expressions.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

async fn create(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let resp = app.call("POST", path, Some(token), Some(body)).await;
    assert_eq!(resp.status(), 200);
    json(resp).await
}

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

#[tokio::test]
async fn relation_paths_agree_with_pocketbase() {
    let app = spawn_app().await;
    let token = app.superuser_token().await;
    let people = create(
        &app,
        &token,
        "/api/collections",
        json!({"name": "people", "listRule": "", "fields": [{"name": "name", "type": "text"}]}),
    )
    .await;
    let projects = create(
        &app,
        &token,
        "/api/collections",
        json!({"name": "projects", "listRule": "", "fields": [
            {"name": "title", "type": "text"},
            {"name": "owner", "type": "relation", "collectionId": people["id"]},
            {"name": "members", "type": "relation", "collectionId": people["id"], "maxSelect": 5},
        ]}),
    )
    .await;
    create(
        &app,
        &token,
        "/api/collections",
        json!({"name": "tasks", "listRule": "", "fields": [
            {"name": "title", "type": "text"},
            {"name": "project", "type": "relation", "collectionId": projects["id"]},
        ]}),
    )
    .await;
    let a = create(
        &app,
        &token,
        "/api/collections/people/records",
        json!({"name": "A"}),
    )
    .await["id"]
        .clone();
    let b = create(
        &app,
        &token,
        "/api/collections/people/records",
        json!({"name": "B"}),
    )
    .await["id"]
        .clone();
    let mut p = Vec::new();
    for (title, owner, members) in [
        ("p1", a.clone(), json!([a, b])),
        ("p2", b.clone(), json!([b])),
        ("p3", json!(""), json!([])),
    ] {
        let r = create(
            &app,
            &token,
            "/api/collections/projects/records",
            json!({"title": title, "owner": owner, "members": members}),
        )
        .await;
        p.push(r["id"].clone());
    }
    for (title, project) in [("t1", &p[0]), ("t2", &p[1]), ("t3", &p[0])] {
        create(
            &app,
            &token,
            "/api/collections/tasks/records",
            json!({"title": title, "project": project}),
        )
        .await;
    }

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
