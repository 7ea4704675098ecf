//! `?expand=` on a sign-in's answer (password, refresh, impersonation),
//! as PocketBase applies it: the record that signed in is expanded as
//! that record sees its relations, so a relation its view rule hides
//! stays out. Compared with PocketBase; before, Cairn ignored `expand`
//! there and SDK calls like `authWithPassword(email, pw, {expand})` got
//! no `record.expand`.

use serde_json::{Value, json};

use crate::differential::{Server, start_both};

/// Teams any signed-in record may view, secrets no one but superusers
/// may, and a user with one of each.
async fn seed(s: &Server) {
    let teams = s
        .admin(
            "POST",
            "/api/collections",
            json!({"name": "teams", "viewRule": "@request.auth.id != ''", "fields": [{"name": "name", "type": "text"}]}),
        )
        .await;
    let secrets = s
        .admin(
            "POST",
            "/api/collections",
            json!({"name": "secrets", "fields": [{"name": "name", "type": "text"}]}),
        )
        .await;
    let fields = json!([
        {"name": "team", "type": "relation", "collectionId": teams["id"]},
        {"name": "secret", "type": "relation", "collectionId": secrets["id"]},
    ]);
    s.admin("PATCH", "/api/collections/users", json!({"fields": fields}))
        .await;
    s.admin(
        "POST",
        "/api/collections/teams/records",
        json!({"id": "team00000000001", "name": "red"}),
    )
    .await;
    s.admin(
        "POST",
        "/api/collections/secrets/records",
        json!({"id": "secr00000000001", "name": "hush"}),
    )
    .await;
    let user = json!({"id": "user00000000001", "email": "u1@example.com", "password": "pass-word-1",
        "passwordConfirm": "pass-word-1", "team": "team00000000001", "secret": "secr00000000001"});
    s.admin("POST", "/api/collections/users/records", user).await;
}

/// The names of what the answer's record expanded, by relation.
fn expanded(answer: &Value) -> Value {
    let expand = &answer["record"]["expand"];
    match expand.as_object() {
        Some(e) => e.iter().map(|(k, v)| (k.clone(), v["name"].clone())).collect(),
        None => Value::Null,
    }
}

#[tokio::test]
async fn a_sign_in_answer_expands_as_the_record_that_signed_in() {
    let Some(both) = start_both().await else {
        return;
    };
    for s in [&both.pb, &both.cairn] {
        seed(s).await;
        let creds = json!({"identity": "u1@example.com", "password": "pass-word-1"});
        let path = "/api/collections/users/auth-with-password?expand=team,secret";
        let (status, signed_in) = s.call("POST", path, None, Some(creds.clone())).await;
        assert_eq!(status, 200, "{}: {signed_in}", s.base);
        // The team is the user's to view; the secret is not, and stays out.
        assert_eq!(
            expanded(&signed_in),
            json!({"team": "red"}),
            "{}: {signed_in}",
            s.base
        );
        let token = signed_in["token"].as_str().unwrap();
        let path = "/api/collections/users/auth-refresh?expand=team,secret";
        let (status, refreshed) = s.call("POST", path, Some(token), None).await;
        assert_eq!(status, 200, "{}: {refreshed}", s.base);
        assert_eq!(expanded(&refreshed), json!({"team": "red"}), "{}", s.base);
        let path = "/api/collections/users/impersonate/user00000000001?expand=team,secret";
        let (status, as_user) = s.call("POST", path, Some(&s.superuser), Some(json!({}))).await;
        assert_eq!(status, 200, "{}: {as_user}", s.base);
        assert_eq!(expanded(&as_user), json!({"team": "red"}), "{}", s.base);
        // The control: without `expand`, nothing is expanded.
        let path = "/api/collections/users/auth-with-password";
        let (_, plain) = s.call("POST", path, None, Some(creds)).await;
        assert_eq!(expanded(&plain), Value::Null, "{}: {plain}", s.base);
    }
}
