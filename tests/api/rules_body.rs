//! `@request.body` in write rules: a field that was not sent, and a field
//! sent as a modifier (`balance+`, `tags+`, `balance-`). A rule sees what
//! a modifier makes (the new balance, the whole new list), so sending a
//! change as a modifier cannot pass a rule that the plain change fails;
//! a field not sent matches no ordering or pattern (`> 10`, `~ 'x'`),
//! only `= ''` and `= null` (a guest's `@request.auth` the same).
//! Checked first on Cairn alone, then against PocketBase operator by
//! operator.

use serde_json::{Value, json};

use crate::{
    differential::{Server, login, start_both},
    helpers::spawn_app,
};

const REC: &str = "acct00000000001";

/// A collection `name` whose update and create rules are `rule`, with
/// one record (balance 10, tags ["x"]), on `s`.
async fn account_collection(s: &Server, name: &str, rule: &str) {
    let _ = s
        .call(
            "DELETE",
            &format!("/api/collections/{name}"),
            Some(&s.superuser),
            None,
        )
        .await;
    s.admin(
        "POST",
        "/api/collections",
        json!({
            "name": name, "listRule": "", "viewRule": "", "createRule": rule, "updateRule": rule,
            "fields": [
                {"name": "role", "type": "text"},
                {"name": "balance", "type": "number"},
                {"name": "tags", "type": "select", "values": ["x", "y", "z"], "maxSelect": 3},
            ]
        }),
    )
    .await;
    s.admin(
        "POST",
        &format!("/api/collections/{name}/records"),
        json!({"id": REC, "role": "user", "balance": 10, "tags": ["x"]}),
    )
    .await;
}

/// The stored balance and tags of the record.
async fn stored(s: &Server, name: &str) -> (Value, Value) {
    let (status, r) = s
        .call(
            "GET",
            &format!("/api/collections/{name}/records/{REC}"),
            Some(&s.superuser),
            None,
        )
        .await;
    assert_eq!(status, 200, "{r}");
    (r["balance"].clone(), r["tags"].clone())
}

#[tokio::test]
async fn a_modifier_cannot_pass_a_rule_the_plain_change_fails() {
    let app = spawn_app().await;
    let s = Server::of(&app).await;
    let (_, user) = app.sign_up("mod@example.com", "user-pass-123").await;
    let path = format!("/api/collections/acct/records/{REC}");
    let patch = |body: Value| {
        let (s, user, path) = (&s, user.clone(), path.clone());
        async move { s.call("PATCH", &path, Some(&user), Some(body)).await.0 }
    };

    // Balance may not change: as a plain value, or as either modifier.
    account_collection(&s, "acct", "@request.body.balance:changed = false").await;
    assert_eq!(patch(json!({"balance": 999})).await, 404);
    assert_eq!(patch(json!({"balance+": 999})).await, 404);
    assert_eq!(patch(json!({"balance-": 5})).await, 404);
    assert_eq!(stored(&s, "acct").await.0, 10, "balance unchanged");
    // Positive control: the same value, and another field, pass.
    assert_eq!(patch(json!({"balance": 10, "role": "a"})).await, 200);
    assert_eq!(patch(json!({"balance+": 0})).await, 200);

    // A cap: the new balance, whichever way it is sent.
    account_collection(&s, "acct", "@request.body.balance <= 100").await;
    assert_eq!(patch(json!({"balance+": 500})).await, 404);
    assert_eq!(stored(&s, "acct").await.0, 10);
    assert_eq!(
        patch(json!({"balance+": 80})).await,
        200,
        "10 + 80 is within the cap"
    );
    assert_eq!(stored(&s, "acct").await.0, 90);
    // `+balance` is no modifier of a number: nothing is sent for the
    // balance, so the cap (which needs a balance) fails, as PocketBase's.
    assert_eq!(patch(json!({"+balance": 5})).await, 404);

    // Not sent at all: `:isset` sees a modifier as the field sent.
    account_collection(&s, "acct", "@request.body.balance:isset = false").await;
    assert_eq!(patch(json!({"balance+": 1})).await, 404);
    assert_eq!(patch(json!({"role": "b"})).await, 200);
    let create = s
        .call(
            "POST",
            "/api/collections/acct/records",
            Some(&user),
            Some(json!({"balance+": 1})),
        )
        .await;
    assert_eq!(create.0, 400, "{}", create.1);

    // A list's length is the whole new list's.
    account_collection(&s, "acct", "@request.body.tags:length <= 1").await;
    assert_eq!(patch(json!({"tags+": ["y", "z"]})).await, 404);
    assert_eq!(patch(json!({"tags+": "y"})).await, 404, "[x] plus y is two");
    assert_eq!(stored(&s, "acct").await.1, json!(["x"]));
    assert_eq!(patch(json!({"tags-": "x"})).await, 200, "removing leaves none");
    assert_eq!(patch(json!({"tags+": "y"})).await, 200, "[] plus y is one");
    assert_eq!(stored(&s, "acct").await.1, json!(["y"]));
}

#[tokio::test]
async fn a_field_not_sent_matches_no_ordering() {
    let app = spawn_app().await;
    let s = Server::of(&app).await;
    let (_, user) = app.sign_up("gt@example.com", "user-pass-123").await;
    account_collection(&s, "shop", "@request.body.balance > 10").await;
    let create = |body: Value| {
        let (s, user) = (&s, user.clone());
        async move {
            s.call("POST", "/api/collections/shop/records", Some(&user), Some(body))
                .await
                .0
        }
    };
    assert_eq!(create(json!({"role": "no balance"})).await, 400);
    assert_eq!(create(json!({})).await, 400);
    assert_eq!(create(json!({"balance": 5})).await, 400);
    assert_eq!(create(json!({"balance": 50})).await, 200, "positive control");
    // A field not sent still equals the empty value and null.
    account_collection(
        &s,
        "shop",
        "@request.body.role = '' && @request.body.balance = null",
    )
    .await;
    assert_eq!(create(json!({})).await, 200);
    assert_eq!(create(json!({"role": "x"})).await, 400);
}

/// Every operator against every kind of literal, with the field not sent,
/// and the modifier cases: Cairn and PocketBase must allow and refuse the
/// same writes.
#[tokio::test]
async fn body_rules_agree_with_pocketbase() {
    let Some(both) = start_both().await else {
        return;
    };
    let servers = [&both.pb, &both.cairn];
    // Rate limits as PocketBase ships them (off): this test signs in and
    // writes fast from one address.
    both.cairn
        .admin(
            "PATCH",
            "/api/settings",
            json!({"rateLimits": {"enabled": false}}),
        )
        .await;
    let mut users = Vec::new();
    for s in servers {
        s.admin(
            "POST",
            "/api/collections/users/records",
            json!({"email": "rules@example.com", "password": "user-pass-123", "passwordConfirm": "user-pass-123"}),
        )
        .await;
        users.push(login(s, "users", "rules@example.com", "user-pass-123").await);
    }
    let mut rules = Vec::new();
    for lhs in [
        "@request.body.balance",
        "@request.body.role",
        "@request.body.tags",
    ] {
        for op in ["=", "!=", ">", ">=", "<", "<=", "~", "!~", "?=", "?>"] {
            for rhs in ["''", "null", "0", "10", "'x'", "false"] {
                rules.push(format!("{lhs} {op} {rhs}"));
            }
        }
    }
    // A guest's `@request.auth` is missing too.
    for lhs in ["@request.auth.id", "@request.auth.name"] {
        for op in ["=", "!=", ">", ">=", "<", "<=", "~", "!~", "?=", "?>"] {
            for rhs in ["''", "null", "0", "'x'"] {
                rules.push(format!("{lhs} {op} {rhs}"));
            }
        }
    }
    rules.push("@request.body.balance = @request.body.role".into());
    rules.push("@request.body.nested.a = ''".into());
    rules.push("@request.body.nested.a > 0".into());
    let mut disagreements = Vec::new();
    for rule in &rules {
        let mut answers = Vec::new();
        let guest = rule.starts_with("@request.auth");
        for (s, user) in servers.iter().zip(&users) {
            account_collection(s, "missing", rule).await;
            let caller = (!guest).then_some(user.as_str());
            let (status, _) = s
                .call(
                    "POST",
                    "/api/collections/missing/records",
                    caller,
                    Some(json!({})),
                )
                .await;
            answers.push(status);
        }
        if answers[0] != answers[1] {
            disagreements.push(format!(
                "{rule} with nothing sent: PocketBase {} Cairn {}",
                answers[0], answers[1]
            ));
        }
    }
    let modifier_cases = [
        ("@request.body.balance:changed = false", json!({"balance+": 999})),
        ("@request.body.balance:changed = false", json!({"balance-": 5})),
        ("@request.body.balance:changed = false", json!({"+balance": 5})),
        ("@request.body.balance:isset = false", json!({"balance+": 1})),
        ("@request.body.balance <= 100", json!({"balance+": 500})),
        ("@request.body.balance <= 100", json!({"balance+": 50})),
        ("@request.body.balance = 15", json!({"balance+": 5})),
        ("@request.body.balance = 5", json!({"balance-": 5})),
        ("@request.body.tags:length <= 1", json!({"tags+": ["y", "z"]})),
        ("@request.body.tags:length <= 1", json!({"tags+": "y"})),
        ("@request.body.tags:length = 2", json!({"+tags": "z"})),
        ("@request.body.tags:length = 0", json!({"tags-": "x"})),
        ("@request.body.tags ?= 'y'", json!({"tags+": "y"})),
        (
            "@request.body.balance = null || @request.body.balance < 100",
            json!({"balance+": 500}),
        ),
        (
            "@request.body.balance = null || @request.body.balance < 100",
            json!({}),
        ),
    ];
    for (rule, body) in &modifier_cases {
        let mut answers = Vec::new();
        for (s, user) in servers.iter().zip(&users) {
            account_collection(s, "modded", rule).await;
            let path = format!("/api/collections/modded/records/{REC}");
            let (status, _) = s.call("PATCH", &path, Some(user), Some(body.clone())).await;
            answers.push((status, stored(s, "modded").await));
        }
        if answers[0] != answers[1] {
            disagreements.push(format!(
                "{rule} with {body}: PocketBase {:?} Cairn {:?}",
                answers[0], answers[1]
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} cases disagree:\n{}",
        disagreements.len(),
        rules.len() + modifier_cases.len(),
        disagreements.join("\n")
    );
}
