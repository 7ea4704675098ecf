//! The collections API side by side with PocketBase 0.40.6: the list's
//! sorts and filters, a collection named like a route, what a create or
//! an update refuses as unreadable or invalid, and an import whose
//! collections name ones listed after them. Each refusal has a control
//! that both accept. Skipped, saying so, where PocketBase is not
//! installed (as `differential`).

use serde_json::{Value, json};

use crate::{
    differential::{Server, assert_alike, start_both, urlencode},
    helpers::error_codes,
};

/// Status, and the error codes of a refusal (its `data`).
fn outcome(status: u16, body: &Value) -> Value {
    if status < 300 {
        json!(status)
    } else {
        json!([status, error_codes(&body["data"])])
    }
}

/// The names a list answer holds, in its order (its status otherwise).
async fn names(s: &Server, query: &str) -> Value {
    let path = format!("/api/collections?{query}");
    let (status, body) = s.call("GET", &path, Some(&s.superuser), None).await;
    if status != 200 {
        return json!([status, body["message"]]);
    }
    let list: Vec<&Value> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["name"])
        .collect();
    json!(list)
}

/// `@random` and `@rowid` sort the list, as they sort records; a filter
/// by `@request` or `@collection` is a 400 for the superuser who asks
/// (Cairn refused the sorts, and answered that filter with a 403 saying
/// only superusers may use it).
#[tokio::test]
async fn the_list_sorts_and_filters_as_pocketbase_does() {
    let Some(both) = start_both().await else {
        return;
    };
    let mut answers: [Vec<String>; 2] = Default::default();
    for (s, seen) in [&both.pb, &both.cairn].into_iter().zip(&mut answers) {
        for (name, kind) in [("cd_b", "base"), ("cd_a", "auth"), ("cd_c", "base")] {
            s.admin("POST", "/api/collections", json!({"name": name, "type": kind}))
                .await;
        }
        let only = format!("filter={}", urlencode("name ~ 'cd_%'"));
        for sort in ["@rowid", "-@rowid", "-@rowid,name", "type,-@rowid", "name"] {
            let got = names(s, &format!("{only}&sort={sort}")).await;
            seen.push(format!("sort={sort}: {got}"));
        }
        for sort in ["@random", "-@random", "@random,name"] {
            let mut got = names(s, &format!("{only}&sort={sort}")).await;
            if let Some(list) = got.as_array_mut() {
                list.sort_by_key(|v| v.to_string());
            }
            seen.push(format!("sort={sort}, in any order: {got}"));
        }
        for filter in [
            "@request.auth.id != ''",
            "@collection.users.id != ''",
            "name = 'cd_a'",
        ] {
            let path = format!("/api/collections?filter={}", urlencode(filter));
            let (status, _) = s.call("GET", &path, Some(&s.superuser), None).await;
            seen.push(format!("filter={filter}: {status}"));
        }
    }
    assert_alike(&answers[0], &answers[1]);
    assert!(
        answers[1][0].contains(r#"["cd_b","cd_a","cd_c"]"#),
        "{:?}",
        answers[1]
    );
}

/// A collection may be named `import`, the last segment of the import
/// route: it is read, changed and deleted as any other (Cairn answered
/// those with a 405), and the import route still imports.
#[tokio::test]
async fn a_collection_named_import_is_managed_as_any_other() {
    let Some(both) = start_both().await else {
        return;
    };
    let mut answers: [Vec<String>; 2] = Default::default();
    for (s, seen) in [&both.pb, &both.cairn].into_iter().zip(&mut answers) {
        let t = Some(s.superuser.as_str());
        for (method, path, body) in [
            ("GET", "/api/collections/import", None),
            ("POST", "/api/collections", Some(json!({"name": "import"}))),
            ("GET", "/api/collections/import", None),
            ("PATCH", "/api/collections/import", Some(json!({"listRule": ""}))),
            ("GET", "/api/collections/import/records", None),
            (
                "PUT",
                "/api/collections/import",
                Some(json!({"collections": [{"name": "import", "viewRule": ""}]})),
            ),
            ("DELETE", "/api/collections/import", None),
            ("GET", "/api/collections/import", None),
            // Without a token: the same guard as every collection route.
            ("DELETE", "/api/collections/import", None),
        ] {
            let token = if seen.len() == 8 { None } else { t };
            let (status, out) = s.call(method, path, token, body).await;
            let rule = (status == 200).then(|| json!([out["listRule"], out["viewRule"]]));
            seen.push(format!(
                "{method} {path}: {} {} {:?}",
                outcome(status, &out),
                out["message"],
                rule
            ));
        }
    }
    assert_alike(&answers[0], &answers[1]);
    assert!(answers[1][3].starts_with("PATCH /api/collections/import: 200"));
}

/// (label, method, body): a create (`POST`, named `cd_x`) or a change of
/// `cd_t` (base) or `cd_v` (view).
fn checks() -> Vec<(&'static str, &'static str, Value)> {
    let long = "a".repeat(101);
    let text = |id: &str| json!([{"id": id, "name": "t", "type": "text"}]);
    vec![
        // Collection ids: word characters, 1 to 100 of them, not taken.
        ("id with a space", "POST", json!({"id": "bad id"})),
        ("id with a slash", "POST", json!({"id": "a/b"})),
        ("id of 101", "POST", json!({"id": long})),
        ("id taken", "POST", json!({"id": "_pb_users_auth_"})),
        ("id of 100", "POST", json!({"id": "a".repeat(100)})),
        ("id of words", "POST", json!({"id": "Some_Id_1"})),
        ("field id of 101", "POST", json!({"fields": text(&long)})),
        (
            "field id of 100",
            "POST",
            json!({"fields": text(&"a".repeat(100))}),
        ),
        // A key of the wrong JSON type is unreadable.
        ("name 5", "POST", json!({"name": 5})),
        ("type 1", "POST", json!({"type": 1})),
        ("listRule 5", "POST", json!({"listRule": 5})),
        ("indexes [5]", "POST", json!({"indexes": [5]})),
        ("viewQuery 5", "POST", json!({"type": "view", "viewQuery": 5})),
        ("listRule null", "POST", json!({"listRule": null})),
        ("type empty", "POST", json!({"type": ""})),
        ("change listRule 5", "PATCH", json!({"listRule": false})),
        ("change name 5", "PATCH", json!({"name": 5})),
        ("change type empty", "PATCH", json!({"type": ""})),
        ("change system", "PATCH", json!({"system": true})),
        ("change system \"no\"", "PATCH", json!({"system": "no"})),
        ("keep system", "PATCH", json!({"system": false, "listRule": ""})),
        ("create system", "POST", json!({"system": false})),
        // A view has no indexes.
        (
            "view with an index",
            "POST",
            json!({"type": "view", "viewQuery": "SELECT id FROM users",
                "indexes": ["CREATE INDEX idx_cd_x ON cd_x (id)"]}),
        ),
        (
            "view with no index",
            "POST",
            json!({"type": "view", "viewQuery": "SELECT id FROM users", "indexes": []}),
        ),
        (
            "change a view's indexes",
            "PATCH-VIEW",
            json!({"indexes": ["CREATE INDEX idx_cd_v ON cd_v (id)"]}),
        ),
        // An auth record's body keys are no field names of its.
        (
            "auth passwordConfirm",
            "POST",
            json!({"type": "auth", "fields": [{"name": "passwordConfirm", "type": "text"},
                {"name": "oldPassword", "type": "text"}]}),
        ),
        (
            "base passwordConfirm",
            "POST",
            json!({"fields": [{"name": "passwordConfirm", "type": "text"}]}),
        ),
        // PocketBase's system collections.
        ("name _mfas", "POST", json!({"name": "_mfas"})),
        ("name _OTPS", "POST", json!({"name": "_OTPS"})),
        ("name _authOrigins", "POST", json!({"name": "_authOrigins"})),
    ]
}

async fn check(s: &Server, method: &str, body: &Value) -> Value {
    let t = Some(s.superuser.as_str());
    let (method, path, body) = match method {
        "POST" => {
            let mut body = body.clone();
            if body.get("name").is_none() {
                body["name"] = json!("cd_x");
            }
            ("POST", "/api/collections", body)
        }
        "PATCH" => ("PATCH", "/api/collections/cd_t", body.clone()),
        _ => ("PATCH", "/api/collections/cd_v", body.clone()),
    };
    let (status, out) = s.call(method, path, t, Some(body)).await;
    if method == "POST" && status == 200 {
        let made = format!("/api/collections/{}", out["id"].as_str().unwrap());
        s.admin("DELETE", &made, Value::Null).await;
    }
    json!([outcome(status, &out), out["message"], out["type"]])
}

#[tokio::test]
async fn bad_collection_bodies_are_refused_as_pocketbase_refuses_them() {
    let Some(both) = start_both().await else {
        return;
    };
    let mut answers: [Vec<String>; 2] = Default::default();
    for (s, seen) in [&both.pb, &both.cairn].into_iter().zip(&mut answers) {
        s.admin("POST", "/api/collections", json!({"name": "cd_t"})).await;
        let view = json!({"name": "cd_v", "type": "view", "viewQuery": "SELECT id FROM users"});
        s.admin("POST", "/api/collections", view).await;
        for (label, method, body) in checks() {
            seen.push(format!("{label}: {}", check(s, method, &body).await));
        }
    }
    assert_alike(&answers[0], &answers[1]);
    // The controls are accepted.
    for accepted in [
        "id of 100",
        "field id of 100",
        "view with no index",
        "base passwordConfirm",
        "keep system",
    ] {
        let line = answers[1].iter().find(|l| l.starts_with(accepted)).unwrap();
        assert!(line.contains(": [200,"), "{line}");
    }
}

/// Imports as `s` answers them: each list's outcome and message, then the
/// collections named `ci_…` and where their relations point (by name).
async fn imports(s: &Server) -> Vec<String> {
    let t = Some(s.superuser.as_str());
    let lists = [
        // Two new collections whose relations name each other.
        json!([
            {"id": "ciaaaaaaaaaaaa1", "name": "ci_a", "fields": [
                {"name": "b", "type": "relation", "collectionId": "cibbbbbbbbbbbb1"}]},
            {"id": "cibbbbbbbbbbbb1", "name": "ci_b", "fields": [
                {"name": "a", "type": "relation", "collectionId": "ciaaaaaaaaaaaa1"},
                {"name": "title", "type": "text"}]},
        ]),
        // A view listed before the table it reads; a rule by a relation
        // to a collection listed after it, and one naming it.
        json!([
            {"name": "ci_view", "type": "view", "viewQuery": "SELECT id, title FROM ci_later"},
            {"id": "cirulesrules001", "name": "ci_rules", "listRule": "later.title != ''",
                "viewRule": "@collection.ci_later.title ?= 'x'",
                "fields": [{"name": "later", "type": "relation", "collectionId": "cilaterlater001"}]},
            {"id": "cilaterlater001", "name": "ci_later", "fields": [{"name": "title", "type": "text"}]},
        ]),
        // Refused: a rule naming what the later collection does not have,
        // and a relation to a collection nobody lists. Nothing is saved.
        json!([
            {"id": "cibrokenrule001", "name": "ci_broken", "listRule": "other.nope = 1",
                "fields": [{"name": "other", "type": "relation", "collectionId": "ciother00000001"}]},
            {"id": "ciother00000001", "name": "ci_other", "fields": [{"name": "title", "type": "text"}]},
        ]),
        json!([
            {"name": "ci_lost", "fields": [
                {"name": "r", "type": "relation", "collectionId": "cinowhere000001"}]},
        ]),
        json!([]),
    ];
    let mut seen = Vec::new();
    for list in lists {
        let body = json!({"collections": list});
        let (status, out) = s.call("PUT", "/api/collections/import", t, Some(body)).await;
        seen.push(format!("{} {}", outcome(status, &out), out["message"]));
    }
    let query = format!("filter={}&sort=name&perPage=100", urlencode("name ~ 'ci_%'"));
    let (_, list) = s.call("GET", &format!("/api/collections?{query}"), t, None).await;
    for c in list["items"].as_array().unwrap() {
        let mut fields = Vec::new();
        for f in c["fields"].as_array().unwrap() {
            let target = match f["collectionId"].as_str() {
                Some(id) => {
                    let (_, to) = s.call("GET", &format!("/api/collections/{id}"), t, None).await;
                    to["name"].clone()
                }
                None => Value::Null,
            };
            fields.push(json!([f["name"], f["type"], target]));
        }
        seen.push(format!(
            "{} {} rules {} {}: {}",
            c["name"],
            c["type"],
            c["listRule"],
            c["viewRule"],
            json!(fields)
        ));
    }
    seen
}

/// An import names collections it lists later: relations both ways, a
/// view before its table, rules through them (Cairn saved and checked
/// each item in turn, and refused all three). What stays wrong once all
/// are saved is still refused, whole.
#[tokio::test]
async fn an_import_may_name_collections_it_lists_later() {
    let Some(both) = start_both().await else {
        return;
    };
    let pb = imports(&both.pb).await;
    let cairn = imports(&both.cairn).await;
    assert_alike(&pb, &cairn);
    assert!(
        cairn[0].starts_with("204") && cairn[1].starts_with("204"),
        "{cairn:?}"
    );
    assert!(
        cairn[2].starts_with("[400") && cairn[3].starts_with("[400"),
        "{cairn:?}"
    );
    assert!(
        !cairn
            .iter()
            .any(|l| l.contains("ci_broken") || l.contains("ci_lost"))
    );
}

/// A view cannot be truncated, and says why in PocketBase's words (Cairn
/// said only that it could not); a base collection beside it can.
#[tokio::test]
async fn a_view_refuses_a_truncate_in_pocketbases_words() {
    let Some(both) = start_both().await else {
        return;
    };
    let mut answers: [Vec<String>; 2] = Default::default();
    for (s, seen) in [&both.pb, &both.cairn].into_iter().zip(&mut answers) {
        s.admin("POST", "/api/collections", json!({"name": "cd_base"}))
            .await;
        let view = json!({"name": "cd_view", "type": "view", "viewQuery": "SELECT id FROM cd_base"});
        s.admin("POST", "/api/collections", view).await;
        for name in ["cd_view", "cd_base"] {
            let path = format!("/api/collections/{name}/truncate");
            let (status, out) = s.call("DELETE", &path, Some(&s.superuser), None).await;
            seen.push(format!("{name}: {} {}", outcome(status, &out), out["message"]));
        }
    }
    assert_alike(&answers[0], &answers[1]);
    assert!(answers[1][1].starts_with("cd_base: 204"), "{:?}", answers[1]);
}

/// `deleteMissing` deletes collections whose relations point at each
/// other, as PocketBase does (Cairn refused to delete one that another
/// going collection pointed at); one that stays still holds back the one
/// it points at, and then nothing changes.
#[tokio::test]
async fn delete_missing_deletes_collections_that_point_at_each_other() {
    let Some(both) = start_both().await else {
        return;
    };
    let mut answers: [Vec<String>; 2] = Default::default();
    for (s, seen) in [&both.pb, &both.cairn].into_iter().zip(&mut answers) {
        let t = Some(s.superuser.as_str());
        let mut ids = Vec::new();
        for (name, to) in [
            ("dm_a", None),
            ("dm_b", Some(0)),
            ("dm_x", None),
            ("dm_k", Some(2)),
        ] {
            let fields = match to {
                Some(i) => json!([{"name": "r", "type": "relation", "collectionId": ids[i]}]),
                None => json!([]),
            };
            let made = s
                .admin(
                    "POST",
                    "/api/collections",
                    json!({"name": name, "fields": fields}),
                )
                .await;
            ids.push(made["id"].as_str().unwrap().to_owned());
        }
        // dm_x goes while dm_k stays, pointing at it: refused; then dm_a
        // and dm_b go together.
        for leave_out in [["dm_x", "dm_x"], ["dm_a", "dm_b"]] {
            let (_, all) = s.call("GET", "/api/collections?perPage=500", t, None).await;
            let listed: Vec<&Value> = all["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| !leave_out.contains(&c["name"].as_str().unwrap()))
                .collect();
            let body = json!({"collections": listed, "deleteMissing": true});
            let (status, out) = s.call("PUT", "/api/collections/import", t, Some(body)).await;
            let left = names(s, &format!("filter={}&sort=name", urlencode("name ~ 'dm_%'"))).await;
            seen.push(format!("without {leave_out:?}: {} {left}", outcome(status, &out)));
        }
    }
    assert_alike(&answers[0], &answers[1]);
    assert!(
        answers[1][1].contains(r#"204 ["dm_k","dm_x"]"#),
        "{:?}",
        answers[1]
    );
}
