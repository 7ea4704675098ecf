//! A create its rule refuses says nothing of its fields, as PocketBase
//! answers it: 400 with empty `data`, whatever was wrong with the values.
//! Cairn checked the fields first, so a guest refused by
//! `@request.auth.id != ''` learnt from `validation_not_unique` what a
//! unique field of someone else's record holds, and from
//! `validation_missing_rel_records` which ids exist. Callers the rule lets
//! create still get every field error. Compared with PocketBase.

use serde_json::{Value, json};

use crate::differential::{Server, login, start_both};

/// Two collections with create rules, a record holding a unique value,
/// and a user; the user's token.
async fn seed(s: &Server) -> String {
    s.admin(
        "POST",
        "/api/collections/users/records",
        json!({"id": "makermakermaker", "email": "maker@example.com",
               "password": "pass-word-1", "passwordConfirm": "pass-word-1"}),
    )
    .await;
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "codes", "createRule": "@request.auth.id != ''",
               "fields": [{"name": "code", "type": "text", "max": 5}, {"name": "secret", "type": "text"}],
               "indexes": ["CREATE UNIQUE INDEX idx_codes_secret ON codes (secret)"]}),
    )
    .await;
    s.admin(
        "POST",
        "/api/collections/codes/records",
        json!({"secret": "the-secret"}),
    )
    .await;
    let codes = s.admin("GET", "/api/collections/codes", json!({})).await;
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "owned", "createRule": "owner = @request.auth.id",
               "fields": [{"name": "owner", "type": "text"},
                          {"name": "code", "type": "relation", "collectionId": codes["id"]}]}),
    )
    .await;
    login(s, "users", "maker@example.com", "pass-word-1").await
}

/// The status, and the error's `data` (a created record's ids differ).
async fn create(s: &Server, token: Option<&str>, collection: &str, body: Value) -> (u16, Value) {
    let path = format!("/api/collections/{collection}/records");
    let (status, out) = s.call("POST", &path, token, Some(body)).await;
    (
        status,
        if status == 200 {
            Value::Null
        } else {
            out["data"].clone()
        },
    )
}

#[tokio::test]
async fn a_refused_create_says_nothing_of_its_fields() {
    let Some(both) = start_both().await else {
        return;
    };
    let (pb_user, cairn_user) = (seed(&both.pb).await, seed(&both.cairn).await);
    let cases = [
        (false, "codes", json!({"secret": "the-secret"})),
        (false, "codes", json!({"code": "far too long"})),
        (false, "codes", json!({"secret": "new"})),
        (
            false,
            "owned",
            json!({"owner": "someone", "code": "nosuchcode00001"}),
        ),
        // The controls: a caller the rule lets create hears what is wrong.
        (true, "codes", json!({"secret": "the-secret"})),
        (true, "codes", json!({"code": "far too long"})),
        (
            true,
            "owned",
            json!({"owner": "makermakermaker", "code": "nosuchcode00001"}),
        ),
        (true, "codes", json!({"secret": "mine"})),
    ];
    let mut differences = Vec::new();
    let mut cairn = Vec::new();
    for (signed_in, collection, body) in cases {
        let want = create(
            &both.pb,
            signed_in.then_some(pb_user.as_str()),
            collection,
            body.clone(),
        )
        .await;
        let got = create(
            &both.cairn,
            signed_in.then_some(cairn_user.as_str()),
            collection,
            body.clone(),
        )
        .await;
        if want != got {
            differences.push(format!(
                "{collection} {body} (signed in: {signed_in}): PocketBase {want:?}, Cairn {got:?}"
            ));
        }
        cairn.push(got);
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    assert_eq!(cairn[0], (400, json!({})), "the guest learns nothing");
    assert_eq!(cairn[4].1["secret"]["code"], "validation_not_unique");
}
