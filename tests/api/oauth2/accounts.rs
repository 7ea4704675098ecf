//! What a sign-in does to accounts: sign-up from `createData`, sign-in
//! through the link, linking by verified email or to the signed-in caller,
//! taking over an unverified address, and the links' life cycle.

use serde_json::json;

use super::{alice, count, enable, mock::MockProvider, pkce_pair, sign_in, sign_in_as};
use crate::helpers::{assert_envelope, json, spawn_app};

#[tokio::test]
async fn sign_up_then_sign_in_through_the_link() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;
    enable(&app, &root, mock.config()).await;

    let resp = sign_in_as(&app, &mock, alice(), json!({"emailVisibility": true})).await;
    assert_eq!(resp.status(), 200);
    let first = json(resp).await;
    let record = &first["record"];
    assert_eq!(record["email"], "alice@example.com");
    assert_eq!(record["verified"], true);
    assert_eq!(record["emailVisibility"], true);
    // `users` maps the provider's name into its `name` field.
    assert_eq!(record["name"], "Alice Liddell");
    let meta = &first["meta"];
    assert_eq!(meta["isNew"], true);
    assert_eq!(meta["id"], "idp-alice");
    assert_eq!(meta["username"], "alice");
    assert_eq!(meta["refreshToken"], "mock-refresh");
    assert_eq!(meta["rawUser"]["sub"], "idp-alice");
    assert!(meta["accessToken"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(meta["expiry"].as_str().is_some_and(|e| e.ends_with('Z')));
    let user_token = first["token"].as_str().unwrap();
    let refreshed = app
        .call(
            "POST",
            "/api/collections/users/auth-refresh",
            Some(user_token),
            None,
        )
        .await;
    assert_eq!(refreshed.status(), 200);

    // The second time, the link finds the same account.
    let resp = sign_in_as(&app, &mock, alice(), json!({"name": "ignored"})).await;
    let second = json(resp).await;
    assert_eq!(second["record"]["id"], record["id"]);
    assert_eq!(second["record"]["name"], "Alice Liddell");
    assert_eq!(second["meta"]["isNew"], false);

    // The account sees its own link; another account sees none of it.
    let links = json(
        app.call(
            "GET",
            "/api/collections/_externalAuths/records",
            Some(user_token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(links["totalItems"], 1);
    let link = &links["items"][0];
    assert_eq!(link["recordRef"], record["id"]);
    assert_eq!(link["provider"], "oidc");
    assert_eq!(link["providerId"], "idp-alice");
    let (_, other) = app.sign_up("other@example.com", "pass-word-1").await;
    let theirs = json(
        app.call(
            "GET",
            "/api/collections/_externalAuths/records",
            Some(&other),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(theirs["totalItems"], 0);
    let path = format!(
        "/api/collections/_externalAuths/records/{}",
        link["id"].as_str().unwrap()
    );
    assert_envelope(app.call("DELETE", &path, Some(&other), None).await, 404).await;
    // Its owner can unlink it.
    assert_eq!(
        app.call("DELETE", &path, Some(user_token), None).await.status(),
        204
    );
    assert_eq!(count(&app, &root, "_externalAuths").await, 0);
}

#[tokio::test]
async fn an_unverified_account_with_the_same_email_loses_its_password() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;
    enable(&app, &root, mock.config()).await;
    // Someone registered alice's address without proving they own it.
    let (squatter, squatter_token) = app.sign_up("alice@example.com", "squatter-pass").await;

    let resp = sign_in_as(&app, &mock, alice(), json!({})).await;
    let signed_in = json(resp).await;
    assert_eq!(signed_in["record"]["id"], squatter.as_str());
    assert_eq!(signed_in["record"]["verified"], true);
    assert_eq!(signed_in["meta"]["isNew"], false);

    // The squatter's password and tokens no longer work.
    let resp = app.sign_in("users", "alice@example.com", "squatter-pass").await;
    assert_envelope(resp, 400).await;
    let resp = app
        .call(
            "POST",
            "/api/collections/users/auth-refresh",
            Some(&squatter_token),
            None,
        )
        .await;
    assert_envelope(resp, 401).await;
    assert_eq!(count(&app, &root, "_externalAuths").await, 1);
}

#[tokio::test]
async fn a_verified_account_with_the_same_email_is_linked_and_keeps_its_password() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;
    enable(&app, &root, mock.config()).await;
    let (id, _) = app.sign_up("alice@example.com", "alice-pass-1").await;
    app.call(
        "PATCH",
        &format!("/api/collections/users/records/{id}"),
        Some(&root),
        Some(json!({"verified": true})),
    )
    .await;

    let signed_in = json(sign_in_as(&app, &mock, alice(), json!({})).await).await;
    assert_eq!(signed_in["record"]["id"], id.as_str());
    let resp = app.sign_in("users", "alice@example.com", "alice-pass-1").await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn a_signed_in_account_links_a_provider_and_deleting_it_drops_the_link() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;
    enable(&app, &root, mock.config()).await;
    let (id, token) = app.sign_up("bob@example.com", "bob-pass-123").await;

    // Signed in as bob, a sign-in with an identity of another address links
    // that identity to bob rather than making an account.
    let (verifier, challenge) = pkce_pair(&app).await;
    let code = mock.issue_code(&challenge, alice());
    let body = json!({"provider": "oidc", "code": code, "codeVerifier": verifier, "redirectURL": "http://localhost/cb"});
    let linked = json(sign_in(&app, Some(&token), body).await).await;
    assert_eq!(linked["record"]["id"], id.as_str());
    assert_eq!(linked["record"]["email"], "bob@example.com");
    // Not bob's address: the account stays unverified, its password works.
    assert_eq!(linked["record"]["verified"], false);
    let resp = app.sign_in("users", "bob@example.com", "bob-pass-123").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(count(&app, &root, "users").await, 1);

    // Deleting the account removes its link with it.
    let path = format!("/api/collections/users/records/{id}");
    assert_eq!(app.call("DELETE", &path, Some(&root), None).await.status(), 204);
    assert_eq!(count(&app, &root, "_externalAuths").await, 0);
    let again = json(sign_in_as(&app, &mock, alice(), json!({})).await).await;
    assert_eq!(again["meta"]["isNew"], true);
    assert_ne!(again["record"]["id"], id.as_str());

    // A truncate takes the links of every account with it (as a delete
    // does each one's); the identity signs up anew.
    let resp = app
        .call("DELETE", "/api/collections/users/truncate", Some(&root), None)
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(count(&app, &root, "_externalAuths").await, 0);
    let third = json(sign_in_as(&app, &mock, alice(), json!({})).await).await;
    assert_eq!(third["meta"]["isNew"], true, "{third}");
    assert_eq!(count(&app, &root, "_externalAuths").await, 1);
}

#[tokio::test]
async fn a_data_folder_from_before_external_auths_gets_the_collection_on_start() {
    let dir = spawn_app().await.shutdown().await;
    // Roll the folder back to how earlier versions left it.
    {
        let conn = rusqlite::Connection::open(dir.path().join("data.db")).unwrap();
        conn.execute_batch(
            "DELETE FROM _collections WHERE name = '_externalAuths'; DROP TABLE _externalAuths;",
        )
        .unwrap();
    }
    let restarted = cairn::App::build(cairn::Config::for_dir(dir.path()))
        .await
        .unwrap();
    let catalog = restarted.state().schema.catalog();
    let links = catalog.get("_externalAuths").expect("seeded again");
    assert!(links.system);
    assert!(catalog.get("users").is_some() && catalog.get("_superusers").is_some());
    let rows: i64 = restarted
        .state()
        .store
        .data
        .read(|conn| {
            let n = conn.query_row("SELECT count(*) FROM _externalAuths", [], |r| r.get(0))?;
            Ok::<_, cairn::store::StoreError>(n)
        })
        .await
        .unwrap();
    assert_eq!(rows, 0);
}
