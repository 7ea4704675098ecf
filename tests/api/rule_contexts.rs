//! `@request.context` names where a rule is checked, as PocketBase names
//! it: "password" for the `authRule` of a password sign-in, and
//! "protectedFile" for the view rule a protected file is served under.
//! Cairn said "default" for both, so an `authRule` of
//! `@request.context != "password"` (accounts kept to OAuth2 and OTP)
//! let password sign-ins through, and a view rule that opens protected
//! files only refused them.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::differential::{Server, start_both};

async fn sign_in(s: &Server, collection: &str, email: &str) -> (u16, Value) {
    s.call(
        "POST",
        &format!("/api/collections/{collection}/auth-with-password"),
        None,
        Some(json!({"identity": email, "password": "pass-word-12"})),
    )
    .await
}

/// Each `authRule`'s answer to a password sign-in.
async fn sign_ins(s: &Server) -> Vec<String> {
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "ctx_people", "type": "auth"}),
    )
    .await;
    s.admin(
        "POST",
        "/api/collections/ctx_people/records",
        json!({"email": "p@example.com", "password": "pass-word-12", "passwordConfirm": "pass-word-12"}),
    )
    .await;
    let mut out = Vec::new();
    for rule in [
        "@request.context = 'password'",
        "@request.context != 'password'",
        "@request.context = 'default'",
        "@request.context = 'oauth2' || @request.context = 'otp'",
    ] {
        s.admin("PATCH", "/api/collections/ctx_people", json!({"authRule": rule}))
            .await;
        let (status, answer) = sign_in(s, "ctx_people", "p@example.com").await;
        out.push(format!("authRule {rule}: {status} {}", answer["message"]));
    }
    out
}

/// Each view rule's answer to a protected file asked for with a user's
/// file token, and to the record itself.
async fn protected_files(s: &Server) -> Vec<String> {
    s.admin(
        "POST",
        "/api/collections/users/records",
        json!({"email": "u@example.com", "password": "pass-word-12", "passwordConfirm": "pass-word-12"}),
    )
    .await;
    let (_, signed_in) = sign_in(s, "users", "u@example.com").await;
    let user = signed_in["token"].as_str().unwrap().to_owned();
    s.admin(
        "POST",
        "/api/collections",
        json!({"name": "ctx_files", "fields": [
            {"name": "doc", "type": "file", "maxSelect": 1, "protected": true}]}),
    )
    .await;
    let form = Form::new()
        .text("id", "ctxfile00000001")
        .part("doc", Part::bytes(b"the doc".to_vec()).file_name("doc.txt"));
    let made: Value = s
        .client
        .post(format!("{}/api/collections/ctx_files/records", s.base))
        .header("authorization", &s.superuser)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let file = made["doc"].as_str().unwrap().to_owned();
    let mut out = Vec::new();
    for rule in [
        "@request.context = 'protectedFile'",
        "@request.context = 'default'",
    ] {
        s.admin("PATCH", "/api/collections/ctx_files", json!({"viewRule": rule}))
            .await;
        let (_, token) = s.call("POST", "/api/files/token", Some(&user), None).await;
        let token = token["token"].as_str().unwrap();
        let resp = s
            .client
            .get(format!(
                "{}/api/files/ctx_files/ctxfile00000001/{file}?token={token}",
                s.base
            ))
            .send()
            .await
            .unwrap();
        let file_status = resp.status().as_u16();
        let (record_status, _) = s
            .call(
                "GET",
                "/api/collections/ctx_files/records/ctxfile00000001",
                Some(&user),
                None,
            )
            .await;
        out.push(format!(
            "viewRule {rule}: file {file_status}, record {record_status}"
        ));
    }
    out
}

#[tokio::test]
async fn rules_see_the_context_pocketbase_names() {
    let Some(both) = start_both().await else {
        return;
    };
    let mut pocketbase = sign_ins(&both.pb).await;
    pocketbase.extend(protected_files(&both.pb).await);
    let mut cairn = sign_ins(&both.cairn).await;
    cairn.extend(protected_files(&both.cairn).await);
    crate::differential::assert_alike(&pocketbase, &cairn);
    // Not vacuous: the rules split the sign-ins and the files both ways.
    assert!(pocketbase[0].contains(": 200 "), "{pocketbase:?}");
    assert!(pocketbase[1].contains(": 403 "), "{pocketbase:?}");
    assert!(pocketbase[4].contains("file 200"), "{pocketbase:?}");
    assert!(!pocketbase[5].contains("file 200"), "{pocketbase:?}");
}
