//! A collection's options are checked as PocketBase 0.40.6 checks them,
//! each answer compared with its binary in the same run: counts that
//! cannot be negative (a length, a size, how many may be selected), thumb
//! sizes that are sizes, domains that are domains and not in both lists,
//! whole-number bounds for whole-number fields, an autodate that is set
//! at some time, write rules on a view (which takes no writes), a blank
//! rule, an index name another collection uses, an import that lists a
//! collection twice, and a sign-in by an identity field the collection
//! does not have. Each refusal has a control that is accepted on both.

use serde_json::{Value, json};

use crate::{
    differential::{Server, start_both},
    helpers::error_codes,
};

fn field(extra: Value) -> Value {
    let mut f = json!({"name": "a"});
    f.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({"fields": [f]})
}

/// (label, collection body without its name, accepted by PocketBase).
fn cases() -> Vec<(&'static str, Value, bool)> {
    let f = |v: Value| field(v);
    let mut cases = vec![
        ("text min -1", f(json!({"type": "text", "min": -1})), false),
        ("text max -1", f(json!({"type": "text", "max": -1})), false),
        (
            "text min 0 max 5",
            f(json!({"type": "text", "min": 0, "max": 5})),
            true,
        ),
        (
            "editor maxSize -1",
            f(json!({"type": "editor", "maxSize": -1})),
            false,
        ),
        (
            "json maxSize -1",
            f(json!({"type": "json", "maxSize": -1})),
            false,
        ),
        ("json maxSize 10", f(json!({"type": "json", "maxSize": 10})), true),
        (
            "select maxSelect -1",
            f(json!({"type": "select", "values": ["x"], "maxSelect": -1})),
            false,
        ),
        (
            "relation minSelect -1",
            f(json!({"type": "relation", "collectionId": "_pb_users_auth_", "minSelect": -1})),
            false,
        ),
        (
            "file maxSize -1",
            f(json!({"type": "file", "maxSize": -1})),
            false,
        ),
        (
            "file maxSelect -1",
            f(json!({"type": "file", "maxSelect": -1})),
            false,
        ),
        (
            "file maxSize 100",
            f(json!({"type": "file", "maxSize": 100})),
            true,
        ),
        (
            "number min -5 (numbers may be negative)",
            f(json!({"type": "number", "min": -5})),
            true,
        ),
        (
            "number onlyInt min 1.5",
            f(json!({"type": "number", "onlyInt": true, "min": 1.5})),
            false,
        ),
        (
            "number onlyInt max 2.5",
            f(json!({"type": "number", "onlyInt": true, "max": 2.5})),
            false,
        ),
        (
            "number onlyInt min 2",
            f(json!({"type": "number", "onlyInt": true, "min": 2, "max": 9})),
            true,
        ),
        ("number min 1.5", f(json!({"type": "number", "min": 1.5})), true),
        ("autodate neither", f(json!({"type": "autodate"})), false),
        (
            "autodate onUpdate",
            f(json!({"type": "autodate", "onUpdate": true})),
            true,
        ),
        (
            "email both lists",
            f(json!({"type": "email", "onlyDomains": ["a.com"], "exceptDomains": ["b.com"]})),
            false,
        ),
        (
            "url both lists",
            f(json!({"type": "url", "onlyDomains": ["a.com"], "exceptDomains": ["b.com"]})),
            false,
        ),
        (
            "email not a domain",
            f(json!({"type": "email", "onlyDomains": ["not a domain"]})),
            false,
        ),
        (
            "url not a domain",
            f(json!({"type": "url", "exceptDomains": ["x.com", "-x.com"]})),
            false,
        ),
        (
            "email domains",
            f(json!({"type": "email", "onlyDomains": ["a.com", "mail.b-c.org"]})),
            true,
        ),
        (
            "url domains",
            f(json!({"type": "url", "exceptDomains": ["x.co.uk"]})),
            true,
        ),
        (
            "view createRule",
            json!({"type": "view", "viewQuery": "SELECT id FROM tgt", "createRule": ""}),
            false,
        ),
        (
            "view updateRule",
            json!({"type": "view", "viewQuery": "SELECT id FROM tgt", "updateRule": "id != ''"}),
            false,
        ),
        (
            "view deleteRule",
            json!({"type": "view", "viewQuery": "SELECT id FROM tgt", "deleteRule": ""}),
            false,
        ),
        (
            "view read rules",
            json!({"type": "view", "viewQuery": "SELECT id FROM tgt", "listRule": "", "viewRule": ""}),
            true,
        ),
        ("blank listRule", json!({"listRule": "  "}), false),
        ("newline listRule", json!({"listRule": "\n"}), false),
        ("padded listRule", json!({"listRule": " id != '' "}), true),
        ("blank authRule", json!({"type": "auth", "authRule": " "}), false),
        ("empty authRule", json!({"type": "auth", "authRule": ""}), true),
        (
            "index name of another collection",
            json!({"fields": [{"name": "n", "type": "text"}], "indexes": ["CREATE INDEX idx_tgt_n ON x (n)"]}),
            false,
        ),
        (
            "index name of its own",
            json!({"fields": [{"name": "n", "type": "text"}], "indexes": ["CREATE INDEX idx_own_n ON x (n)"]}),
            true,
        ),
        // An option of the wrong JSON type is unreadable (400, no field
        // named), not read as its default.
        ("text min 1.5", f(json!({"type": "text", "min": 1.5})), false),
        ("text min \"3\"", f(json!({"type": "text", "min": "3"})), false),
        (
            "number onlyInt \"true\"",
            f(json!({"type": "number", "onlyInt": "true"})),
            false,
        ),
        (
            "number min \"5\"",
            f(json!({"type": "number", "min": "5"})),
            false,
        ),
        (
            "email onlyDomains text",
            f(json!({"type": "email", "onlyDomains": "a.com"})),
            false,
        ),
        (
            "select values numbers",
            f(json!({"type": "select", "values": [1, 2]})),
            false,
        ),
        ("date min number", f(json!({"type": "date", "min": 5})), false),
        (
            "relation cascadeDelete text",
            f(json!({"type": "relation", "collectionId": "_pb_users_auth_", "cascadeDelete": "yes"})),
            false,
        ),
        ("number min null", f(json!({"type": "number", "min": null})), true),
        // Sizes past what a JSON client reads exactly.
        (
            "editor maxSize 2^53",
            f(json!({"type": "editor", "maxSize": 9_007_199_254_740_992_u64})),
            false,
        ),
        (
            "editor maxSize 2^53-1",
            f(json!({"type": "editor", "maxSize": 9_007_199_254_740_991_u64})),
            true,
        ),
        (
            "text max 2^53",
            f(json!({"type": "text", "max": 9_007_199_254_740_992_u64})),
            false,
        ),
        (
            "relation minSelect without maxSelect",
            f(json!({"type": "relation", "collectionId": "_pb_users_auth_", "minSelect": 2})),
            false,
        ),
        (
            "name of 101",
            json!({"fields": [{"name": "a".repeat(101), "type": "text"}]}),
            false,
        ),
        (
            "name of 100",
            json!({"fields": [{"name": "a".repeat(100), "type": "text"}]}),
            true,
        ),
        (
            "primaryKey not id",
            f(json!({"type": "text", "primaryKey": true})),
            false,
        ),
    ];
    for (label, p, ok) in [
        ("password cost 3", json!({"cost": 3}), false),
        ("password cost 4", json!({"cost": 4}), true),
        ("password cost 32", json!({"cost": 32}), false),
        ("password max 71", json!({"max": 71}), true),
        ("password max 72", json!({"max": 72}), false),
        ("password min > max", json!({"min": 10, "max": 5}), false),
    ] {
        let mut field = json!({"name": "pin", "type": "password"});
        field
            .as_object_mut()
            .unwrap()
            .extend(p.as_object().unwrap().clone());
        // Also where the field lands among the auth system fields.
        cases.push((label, json!({"type": "auth", "fields": [field]}), ok));
    }
    for (thumb, ok) in [
        ("abc", false),
        ("0x0", false),
        ("100x100x", false),
        ("100X100", false),
        ("-1x5", false),
        ("10x10 ", false),
        ("100x0", true),
        ("0x100", true),
        ("100x100t", true),
        ("100x100b", true),
        ("100x100f", true),
    ] {
        let label: &'static str = Box::leak(format!("thumb {thumb:?}").into_boxed_str());
        cases.push((label, f(json!({"type": "file", "thumbs": [thumb]})), ok));
    }
    cases
}

/// Status and error codes of creating `body` as collection `x` on `s`
/// (deleted again if made).
async fn create(s: &Server, body: &Value) -> (u16, Value) {
    let mut body = body.clone();
    body["name"] = json!("x");
    let (status, out) = s
        .call("POST", "/api/collections", Some(&s.superuser), Some(body))
        .await;
    if status == 200 {
        s.admin("DELETE", "/api/collections/x", json!({})).await;
    }
    (
        status,
        if status == 200 {
            Value::Null
        } else {
            error_codes(&out["data"])
        },
    )
}

#[tokio::test]
async fn collection_options_are_checked_as_pocketbase_checks_them() {
    let Some(both) = start_both().await else {
        return;
    };
    let mut differ = Vec::new();
    for s in [&both.pb, &both.cairn] {
        let tgt = json!({"name": "tgt", "fields": [{"name": "n", "type": "text"}], "indexes": ["CREATE INDEX idx_tgt_n ON tgt (n)"]});
        s.admin("POST", "/api/collections", tgt).await;
    }
    for (label, body, accepted) in cases() {
        let pb = create(&both.pb, &body).await;
        let cairn = create(&both.cairn, &body).await;
        assert_eq!(pb.0 == 200, accepted, "{label}: PocketBase answered {pb:?}");
        if pb != cairn {
            differ.push(format!("{label}: PocketBase {pb:?}, Cairn {cairn:?}"));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

#[tokio::test]
async fn an_import_that_lists_a_collection_twice_changes_nothing() {
    let Some(both) = start_both().await else {
        return;
    };
    let twice = [
        (
            "a name",
            json!([{"name": "dd", "fields": [{"name": "a", "type": "text"}]}, {"name": "dd", "fields": [{"name": "b", "type": "number"}]}]),
        ),
        (
            "an id",
            json!([{"id": "same_id_here", "name": "d1"}, {"id": "same_id_here", "name": "d2"}]),
        ),
        ("a name in two cases", json!([{"name": "DD2"}, {"name": "dd2"}])),
    ];
    for s in [&both.pb, &both.cairn] {
        let names = |list: Value| -> Vec<String> {
            list["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_owned())
                .collect()
        };
        let (_, before) = s
            .call(
                "GET",
                "/api/collections?perPage=500&sort=name",
                Some(&s.superuser),
                None,
            )
            .await;
        for (what, collections) in &twice {
            let body = json!({"collections": collections});
            let (status, out) = s
                .call("PUT", "/api/collections/import", Some(&s.superuser), Some(body))
                .await;
            assert_eq!(status, 400, "{} {what}: {out}", s.base);
            assert_eq!(
                error_codes(&out["data"]),
                json!({"collections": "validation_collections_import_failure"}),
                "{what}"
            );
        }
        let (_, after) = s
            .call(
                "GET",
                "/api/collections?perPage=500&sort=name",
                Some(&s.superuser),
                None,
            )
            .await;
        assert_eq!(names(before), names(after), "{}", s.base);
        // The control: the same items once each are imported.
        let once = json!({"collections": [{"name": "dd", "fields": [{"name": "a", "type": "text"}]}, {"name": "dd2"}]});
        let (status, out) = s
            .call("PUT", "/api/collections/import", Some(&s.superuser), Some(once))
            .await;
        assert_eq!(status, 204, "{}: {out}", s.base);
    }
}

#[tokio::test]
async fn a_sign_in_by_a_field_that_is_not_an_identity_field_names_it() {
    let Some(both) = start_both().await else {
        return;
    };
    for s in [&both.pb, &both.cairn] {
        let user = json!({"email": "u1@example.com", "password": "pass-word-1", "passwordConfirm": "pass-word-1", "name": "u1"});
        s.admin("POST", "/api/collections/users/records", user).await;
        let path = "/api/collections/users/auth-with-password";
        let by = |field: &str| json!({"identity": "u1@example.com", "password": "pass-word-1", "identityField": field});
        let (status, out) = s.call("POST", path, None, Some(by("name"))).await;
        assert_eq!(status, 400, "{}: {out}", s.base);
        assert_eq!(
            error_codes(&out["data"]),
            json!({"identityField": "validation_in_invalid"}),
            "{}",
            s.base
        );
        let (status, out) = s.call("POST", path, None, Some(by("email"))).await;
        assert_eq!(status, 200, "{}: {out}", s.base);
    }
}

#[tokio::test]
async fn a_field_type_change_is_refused_at_the_field() {
    let Some(both) = start_both().await else {
        return;
    };
    for s in [&both.pb, &both.cairn] {
        let made = s
            .admin(
                "POST",
                "/api/collections",
                json!({"name": "tc", "fields": [{"name": "a", "type": "text"}]}),
            )
            .await;
        let mut fields = made["fields"].clone();
        fields[1]["type"] = json!("number");
        let (status, out) = s
            .call(
                "PATCH",
                "/api/collections/tc",
                Some(&s.superuser),
                Some(json!({"fields": fields})),
            )
            .await;
        assert_eq!(status, 400, "{}: {out}", s.base);
        assert_eq!(
            error_codes(&out["data"]),
            json!({"fields": {"1": "validation_field_type_change"}}),
            "{}",
            s.base
        );
        // The control: the same field under a new name is a change it takes.
        let mut fields = made["fields"].clone();
        fields[1]["name"] = json!("b");
        let (status, out) = s
            .call(
                "PATCH",
                "/api/collections/tc",
                Some(&s.superuser),
                Some(json!({"fields": fields})),
            )
            .await;
        assert_eq!(status, 200, "{}: {out}", s.base);
    }
}

/// What a saved collection keeps: date bounds in the one stored form ("" for
/// what is no date), an auth collection's own fields right after its `id`,
/// before the system fields it did not list (an index in an answer or an
/// error names the same field on both servers), and one field for an id
/// sent twice (Cairn kept two fields under one id).
#[tokio::test]
async fn saved_options_and_field_order_are_pocketbases() {
    let Some(both) = start_both().await else {
        return;
    };
    let bodies = [
        json!({"name": "kept_dates", "fields": [
            {"name": "a", "type": "date", "min": "2024-01-01", "max": "2024-12-31T10:00:00+02:00"},
            {"name": "b", "type": "date", "min": "nope", "max": "2024-1-2"}]}),
        json!({"name": "kept_order", "type": "auth", "fields": [{"name": "bio", "type": "text"}]}),
        // One id sent twice is one field, the later.
        json!({"name": "kept_ids", "fields": [
            {"id": "text1111", "name": "a", "type": "text"},
            {"id": "text1111", "name": "b", "type": "text", "max": 9}]}),
    ];
    let mut differ = Vec::new();
    for body in bodies {
        let kept = |c: &Value| -> Vec<Value> {
            c["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| json!([f["name"], f["type"], f.get("min"), f.get("max")]))
                .collect()
        };
        let pb = kept(&both.pb.admin("POST", "/api/collections", body.clone()).await);
        let cairn = kept(&both.cairn.admin("POST", "/api/collections", body.clone()).await);
        if pb != cairn {
            differ.push(format!("{}: PocketBase {pb:?}, Cairn {cairn:?}", body["name"]));
        }
    }
    // A new auth collection's options, but for the mail's wording (Cairn's
    // own) and its secrets: token lifetimes (Cairn gave sign-in tokens 7
    // days where PocketBase gives 5), rules, and what is on.
    let defaults = |c: Value| -> Value {
        let on = |group: &str| {
            json!([
                c[group].get("enabled"),
                c[group].get("duration"),
                c[group].get("length")
            ])
        };
        let tokens = [
            "authToken",
            "verificationToken",
            "passwordResetToken",
            "emailChangeToken",
            "fileToken",
        ]
        .map(|t| c[t]["duration"].clone());
        let rules = [
            "listRule",
            "viewRule",
            "createRule",
            "updateRule",
            "deleteRule",
            "authRule",
            "manageRule",
        ]
        .map(|r| c[r].clone());
        let on = [
            on("mfa"),
            on("otp"),
            on("authAlert"),
            on("oauth2"),
            c["passwordAuth"].clone(),
        ];
        json!({"tokens": tokens, "rules": rules, "on": on})
    };
    let body = json!({"name": "kept_defaults", "type": "auth"});
    let pb = defaults(both.pb.admin("POST", "/api/collections", body.clone()).await);
    let cairn = defaults(both.cairn.admin("POST", "/api/collections", body).await);
    if pb != cairn {
        differ.push(format!("a new auth collection: PocketBase {pb}, Cairn {cairn}"));
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}
