//! Collections changing under their records and rules, side by side with
//! the real PocketBase: a rule left naming a renamed collection
//! (`@collection.old`) answers as PocketBase does, never a 500; a relation
//! field keeps the collection it points at; a truncate settles the
//! relations that point at its records as deletes do. Skipped, saying so,
//! where PocketBase is not installed (as `differential`).

use serde_json::{Value, json};

use crate::differential::{Server, start_both};

/// A rule naming a collection that is then renamed: every record route
/// of the ruled collection, as a guest (and a rule-free control).
async fn broken_rule_answers(s: &Server) -> Vec<Value> {
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "lc_named", "type": "base", "fields": [{"name": "title", "type": "text"}]}),
    )
    .await;
    let rule = "@collection.lc_named.title = 'x'";
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "lc_ruled", "type": "base", "listRule": rule, "viewRule": rule, "createRule": rule,
            "updateRule": rule, "deleteRule": rule, "fields": [{"name": "t", "type": "text"}]}),
    )
    .await;
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "lc_open", "type": "base", "listRule": "", "fields": [{"name": "t", "type": "text"}]}),
    )
    .await;
    let made = s
        .admin(
            "POST",
            "/api/collections/lc_ruled/records",
            json!({"id": "ruledrecord0001", "t": "a"}),
        )
        .await;
    assert_eq!(made["id"], "ruledrecord0001");
    s.admin(
        "PATCH",
        "/api/collections/lc_named",
        json!({"name": "lc_renamed"}),
    )
    .await;
    let one = "/api/collections/lc_ruled/records/ruledrecord0001";
    let mut out = Vec::new();
    for (method, path, body) in [
        ("GET", "/api/collections/lc_ruled/records", None),
        ("GET", one, None),
        (
            "POST",
            "/api/collections/lc_ruled/records",
            Some(json!({"t": "b"})),
        ),
        ("PATCH", one, Some(json!({"t": "c"}))),
        ("DELETE", one, None),
        ("GET", "/api/collections/lc_open/records", None),
    ] {
        let (status, answer) = s.call(method, path, None, body).await;
        let answer = if status < 300 { Value::Null } else { answer };
        out.push(json!({"request": format!("{method} {path}"), "status": status, "body": answer}));
    }
    out
}

#[tokio::test]
async fn a_rule_naming_a_renamed_collection_answers_as_pocketbase() {
    let Some(both) = start_both().await else {
        return;
    };
    let expected = broken_rule_answers(&both.pb).await;
    let actual = broken_rule_answers(&both.cairn).await;
    assert_eq!(expected, actual);
    // Positive control: a collection with a working rule still lists.
    assert_eq!(actual[5]["status"], 200);
}

/// Points `field` of `collection` at `target` (or leaves it, with `None`,
/// changing only `cascadeDelete`); returns the answer.
async fn repoint(s: &Server, collection: &str, target: Option<&str>) -> (u16, Value) {
    let (_, mut found) = s
        .call(
            "GET",
            &format!("/api/collections/{collection}"),
            Some(&s.superuser),
            None,
        )
        .await;
    for f in found["fields"].as_array_mut().unwrap() {
        if f["name"] == "link" {
            match target {
                Some(t) => f["collectionId"] = json!(t),
                None => f["cascadeDelete"] = json!(true),
            }
        }
    }
    let path = format!("/api/collections/{collection}");
    let (status, answer) = s
        .call(
            "PATCH",
            &path,
            Some(&s.superuser),
            Some(json!({"fields": found["fields"]})),
        )
        .await;
    (status, if status < 300 { Value::Null } else { answer })
}

async fn relation_changes(s: &Server) -> Vec<(u16, Value)> {
    let mut ids = Vec::new();
    for name in ["lc_first", "lc_second"] {
        let made = s
            .admin(
                "POST",
                "/api/collections",
                json!({"name": name, "type": "base", "fields": []}),
            )
            .await;
        ids.push(made["id"].as_str().unwrap().to_owned());
    }
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "lc_linking", "type": "base", "fields": [
            {"name": "link", "type": "relation", "collectionId": ids[0], "maxSelect": 1}]}),
    )
    .await;
    vec![
        // Positive control: another option of the same field changes.
        repoint(s, "lc_linking", None).await,
        repoint(s, "lc_linking", Some(&ids[1])).await,
        repoint(s, "lc_linking", Some(&ids[0])).await,
    ]
}

#[tokio::test]
async fn a_relation_keeps_the_collection_it_points_at() {
    let Some(both) = start_both().await else {
        return;
    };
    let expected = relation_changes(&both.pb).await;
    let actual = relation_changes(&both.cairn).await;
    assert_eq!(expected, actual);
    assert_eq!(actual[0].0, 200);
    assert_eq!(actual[1].0, 400);
}

/// Truncating a collection that relations point at: refused whole while
/// a required reference keeps one of its records, then (that reference
/// gone) cascading and clearing as deletes do. Counts of the parent,
/// cascading and optional collections after each, and what the optional
/// reference keeps.
async fn truncations(s: &Server) -> Vec<Value> {
    let parent = s
        .admin(
            "POST",
            "/api/collections",
            json!({"name": "lc_parent", "type": "base", "fields": [{"name": "t", "type": "text"}]}),
        )
        .await;
    let pid = parent["id"].as_str().unwrap();
    for (name, options) in [
        ("lc_cascade", json!({"cascadeDelete": true, "maxSelect": 1})),
        ("lc_optional", json!({"maxSelect": 5})),
        ("lc_required", json!({"required": true, "maxSelect": 1})),
    ] {
        let mut field = json!({"name": "p", "type": "relation", "collectionId": pid});
        field
            .as_object_mut()
            .unwrap()
            .extend(options.as_object().unwrap().clone());
        s.admin(
            "POST",
            "/api/collections",
            json!({"name": name, "type": "base", "fields": [field]}),
        )
        .await;
    }
    let ids: Vec<String> = (0..3).map(|i| format!("lcparent0000{i:03}")).collect();
    for id in &ids {
        s.admin("POST", "/api/collections/lc_parent/records", json!({"id": id}))
            .await;
    }
    s.admin(
        "POST",
        "/api/collections/lc_cascade/records",
        json!({"p": ids[0]}),
    )
    .await;
    s.admin(
        "POST",
        "/api/collections/lc_optional/records",
        json!({"id": "lcoptional00001", "p": [ids[0], ids[1]]}),
    )
    .await;
    let keeper = s
        .admin(
            "POST",
            "/api/collections/lc_required/records",
            json!({"p": ids[2]}),
        )
        .await;
    let mut out = Vec::new();
    for round in 0..2 {
        if round == 1 {
            let path = format!(
                "/api/collections/lc_required/records/{}",
                keeper["id"].as_str().unwrap()
            );
            s.admin("DELETE", &path, json!({})).await;
        }
        let (status, answer) = s
            .call(
                "DELETE",
                "/api/collections/lc_parent/truncate",
                Some(&s.superuser),
                None,
            )
            .await;
        let mut counts = Vec::new();
        for name in ["lc_parent", "lc_cascade", "lc_optional"] {
            let path = format!("/api/collections/{name}/records");
            counts.push(s.call("GET", &path, Some(&s.superuser), None).await.1["totalItems"].clone());
        }
        let (_, optional) = s
            .call(
                "GET",
                "/api/collections/lc_optional/records/lcoptional00001",
                Some(&s.superuser),
                None,
            )
            .await;
        out.push(json!({"status": status, "answer": answer, "counts": counts, "optional": optional["p"]}));
    }
    out
}

#[tokio::test]
async fn truncate_settles_relations_as_deletes_do() {
    let Some(both) = start_both().await else {
        return;
    };
    let expected = truncations(&both.pb).await;
    let actual = truncations(&both.cairn).await;
    assert_eq!(expected, actual);
    assert_eq!(actual[0]["status"], 400);
    assert_eq!(actual[1]["counts"], json!([0, 0, 1]), "{actual:#?}");
}
