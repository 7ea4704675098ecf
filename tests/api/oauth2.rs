//! OAuth2 sign-in (`auth-with-oauth2`) against a mock OAuth2/OIDC provider
//! served by the test on loopback. The mock checks what a real provider
//! checks: the code, the client's secret and the PKCE verifier; it hands
//! out codes the way the provider's redirect would. Negative paths first.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use poem::{
    EndpointExt, Route, Server, handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    post,
    web::{Data, Form},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, assert_envelope, json, spawn_app};

const CLIENT_ID: &str = "mock-client";
const CLIENT_SECRET: &str = "mock-secret-7f3a9c";

#[derive(Default)]
struct MockState {
    /// code -> (PKCE challenge, the user's claims)
    codes: HashMap<String, (String, Value)>,
    /// access token -> the user's claims
    tokens: HashMap<String, Value>,
    token_requests: Vec<HashMap<String, String>>,
}

type Shared = Arc<Mutex<MockState>>;

fn reply(status: StatusCode, body: Value) -> poem::Response {
    poem::Response::builder()
        .status(status)
        .content_type("application/json")
        .body(body.to_string())
}

#[handler]
fn token_endpoint(Data(state): Data<&Shared>, Form(form): Form<HashMap<String, String>>) -> poem::Response {
    let mut s = state.lock().unwrap();
    s.token_requests.push(form.clone());
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if field("client_id") != CLIENT_ID || field("client_secret") != CLIENT_SECRET {
        return reply(StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"}));
    }
    let Some((challenge, user)) = s.codes.get(field("code")).cloned() else {
        return reply(StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}));
    };
    let presented = URL_SAFE_NO_PAD.encode(Sha256::digest(field("code_verifier").as_bytes()));
    if field("grant_type") != "authorization_code" || presented != challenge {
        return reply(StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}));
    }
    s.codes.remove(field("code"));
    let access = cairn::random::alphanumeric(24);
    s.tokens.insert(access.clone(), user);
    reply(
        StatusCode::OK,
        json!({"access_token": access, "token_type": "Bearer", "refresh_token": "mock-refresh", "expires_in": 3600}),
    )
}

#[handler]
fn userinfo_endpoint(Data(state): Data<&Shared>, req: &poem::Request) -> poem::Response {
    let bearer = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("");
    match state.lock().unwrap().tokens.get(bearer) {
        Some(user) => reply(StatusCode::OK, user.clone()),
        None => reply(StatusCode::UNAUTHORIZED, json!({"error": "invalid_token"})),
    }
}

/// A provider that accepts the connection and never answers.
#[handler]
async fn hang() -> &'static str {
    tokio::time::sleep(Duration::from_secs(120)).await;
    "too late"
}

struct MockProvider {
    addr: SocketAddr,
    state: Shared,
}

impl MockProvider {
    async fn start() -> Self {
        let state = Shared::default();
        let routes = Route::new()
            .at("/token", post(token_endpoint))
            .at("/userinfo", poem::get(userinfo_endpoint))
            .at("/hang", post(hang))
            .data(state.clone());
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
        let addr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
        tokio::spawn(Server::new_with_acceptor(acceptor).run(routes));
        Self { addr, state }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The `oauth2.providers[]` entry for this mock, as an `oidc` provider.
    fn config(&self) -> Value {
        json!({
            "name": "oidc",
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "authURL": self.url("/authorize"),
            "tokenURL": self.url("/token"),
            "userInfoURL": self.url("/userinfo"),
            "displayName": "Mock IdP",
        })
    }

    /// A code for `user`, bound to the PKCE challenge the server gave out.
    fn issue_code(&self, challenge: &str, user: Value) -> String {
        let code = cairn::random::alphanumeric(20);
        self.state
            .lock()
            .unwrap()
            .codes
            .insert(code.clone(), (challenge.to_owned(), user));
        code
    }

    fn token_requests(&self) -> Vec<HashMap<String, String>> {
        self.state.lock().unwrap().token_requests.clone()
    }
}

fn alice() -> Value {
    json!({"sub": "idp-alice", "email": "alice@example.com", "email_verified": true, "name": "Alice Liddell", "preferred_username": "alice"})
}

async fn configure(app: &TestApp, token: &str, body: Value) {
    let resp = app
        .call("PATCH", "/api/collections/users", Some(token), Some(body))
        .await;
    let status = resp.status();
    assert_eq!(status, 200, "{}", json(resp).await);
}

async fn enable(app: &TestApp, token: &str, provider: Value) {
    configure(
        app,
        token,
        json!({"oauth2": {"enabled": true, "providers": [provider]}}),
    )
    .await;
}

/// The `oidc` entry of `auth-methods`: (codeVerifier, codeChallenge).
async fn pkce_pair(app: &TestApp) -> (String, String) {
    let methods = json(app.get("/api/collections/users/auth-methods").await).await;
    let p = &methods["oauth2"]["providers"][0];
    assert_eq!(p["name"], "oidc", "{methods}");
    (
        p["codeVerifier"].as_str().unwrap().to_owned(),
        p["codeChallenge"].as_str().unwrap().to_owned(),
    )
}

async fn sign_in(app: &TestApp, token: Option<&str>, body: Value) -> reqwest::Response {
    app.call(
        "POST",
        "/api/collections/users/auth-with-oauth2",
        token,
        Some(body),
    )
    .await
}

/// A whole sign-in as the SDK does it for `user`.
async fn sign_in_as(
    app: &TestApp,
    mock: &MockProvider,
    user: Value,
    create_data: Value,
) -> reqwest::Response {
    let (verifier, challenge) = pkce_pair(app).await;
    let code = mock.issue_code(&challenge, user);
    sign_in(
        app,
        None,
        json!({"provider": "oidc", "code": code, "codeVerifier": verifier,
               "redirectURL": "http://localhost/cb", "createData": create_data}),
    )
    .await
}

async fn password_login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    let login = json!({"identity": email, "password": password});
    app.call(
        "POST",
        "/api/collections/users/auth-with-password",
        None,
        Some(login),
    )
    .await
}

async fn count(app: &TestApp, token: &str, collection: &str) -> u64 {
    let list = json(
        app.call(
            "GET",
            &format!("/api/collections/{collection}/records"),
            Some(token),
            None,
        )
        .await,
    )
    .await;
    list["totalItems"].as_u64().unwrap()
}

#[tokio::test]
async fn disabled_unknown_and_incomplete_requests_are_refused() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;

    let body = json!({"provider": "oidc", "code": "c", "codeVerifier": "v", "redirectURL": "x"});
    let resp = sign_in(&app, None, body.clone()).await;
    let err = assert_envelope(resp, 403).await;
    assert_eq!(
        err["message"],
        "The collection is not configured to allow OAuth2 authentication."
    );
    let resp = app
        .call("POST", "/api/collections/nope/auth-with-oauth2", None, Some(body))
        .await;
    assert_envelope(resp, 404).await;

    enable(&app, &root, mock.config()).await;
    let resp = sign_in(&app, None, json!({"provider": "github", "code": "c"})).await;
    let err = assert_envelope(resp, 400).await;
    assert_eq!(err["data"]["provider"]["code"], "validation_invalid_provider");
    let resp = sign_in(&app, None, json!({})).await;
    let err = assert_envelope(resp, 400).await;
    assert_eq!(err["data"]["provider"]["code"], "validation_required");
    assert_eq!(err["data"]["code"]["code"], "validation_required");
    // None of these reached the provider.
    assert!(mock.token_requests().is_empty());
}

#[tokio::test]
async fn a_wrong_code_or_verifier_fails_at_the_token_step() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;
    enable(&app, &root, mock.config()).await;
    let (verifier, challenge) = pkce_pair(&app).await;

    let resp = sign_in(
        &app,
        None,
        json!({"provider": "oidc", "code": "forged", "codeVerifier": verifier, "redirectURL": "http://localhost/cb"}),
    )
    .await;
    let err = assert_envelope(resp, 400).await;
    assert_eq!(err["message"], "Failed to fetch OAuth2 token.");

    let code = mock.issue_code(&challenge, alice());
    let other_verifier = "x".repeat(43);
    let resp = sign_in(
        &app,
        None,
        json!({"provider": "oidc", "code": code, "codeVerifier": other_verifier, "redirectURL": "http://localhost/cb"}),
    )
    .await;
    let err = assert_envelope(resp, 400).await;
    assert_eq!(err["message"], "Failed to fetch OAuth2 token.");
    assert!(!err.to_string().contains(CLIENT_SECRET));

    // The server sent the client's credentials and the verifier it got.
    let sent = mock.token_requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1]["client_secret"], CLIENT_SECRET);
    assert_eq!(sent[1]["code_verifier"], other_verifier);
    assert_eq!(sent[1]["redirect_uri"], "http://localhost/cb");
    assert_eq!(count(&app, &root, "users").await, 0);
    assert_eq!(count(&app, &root, "_externalAuths").await, 0);
}

#[tokio::test]
async fn a_provider_that_is_down_or_hangs_fails_in_bounded_time() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;
    let mut config = mock.config();

    // Nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    config["tokenURL"] = json!(format!("http://{}/token", closed.local_addr().unwrap()));
    drop(closed);
    enable(&app, &root, config.clone()).await;
    let resp = sign_in_as(&app, &mock, alice(), json!({})).await;
    let err = assert_envelope(resp, 400).await;
    assert_eq!(err["message"], "Failed to fetch OAuth2 token.");

    // Answers nothing, ever: the server gives up after its call timeout.
    config["tokenURL"] = json!(mock.url("/hang"));
    enable(&app, &root, config).await;
    let started = Instant::now();
    let resp = sign_in_as(&app, &mock, alice(), json!({})).await;
    let took = started.elapsed();
    let err = assert_envelope(resp, 400).await;
    assert_eq!(err["message"], "Failed to fetch OAuth2 token.");
    let limit = cairn::auth::oauth2::exchange::CALL_TIMEOUT;
    assert!(
        took >= limit && took < limit + Duration::from_secs(5),
        "took {took:?}"
    );
}

#[tokio::test]
async fn the_create_rule_and_field_validation_govern_sign_up() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;
    enable(&app, &root, mock.config()).await;

    configure(&app, &root, json!({"createRule": null})).await;
    let resp = sign_in_as(&app, &mock, alice(), json!({})).await;
    assert_envelope(resp, 403).await;

    configure(&app, &root, json!({"createRule": "@request.body.name = 'ok'"})).await;
    let resp = sign_in_as(&app, &mock, alice(), json!({"name": "not ok"})).await;
    let err = assert_envelope(resp, 400).await;
    assert_eq!(err["message"], "Failed to create record.");

    configure(&app, &root, json!({"createRule": ""})).await;
    let resp = sign_in_as(&app, &mock, alice(), json!({"email": "not-an-email"})).await;
    let err = assert_envelope(resp, 400).await;
    assert_eq!(err["data"]["email"]["code"], "validation_is_email");

    // A provider that does not vouch for the address gives none: no email,
    // no account.
    let mut unverified = alice();
    unverified["email_verified"] = json!(false);
    let resp = sign_in_as(&app, &mock, unverified, json!({})).await;
    let err = assert_envelope(resp, 400).await;
    assert_eq!(err["data"]["email"]["code"], "validation_required");

    // Nothing was half-written: no account, no link.
    assert_eq!(count(&app, &root, "users").await, 0);
    assert_eq!(count(&app, &root, "_externalAuths").await, 0);
}

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
    let resp = password_login(&app, "alice@example.com", "squatter-pass").await;
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
    let resp = password_login(&app, "alice@example.com", "alice-pass-1").await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn the_client_secret_stays_on_the_server() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;

    // Bad provider entries are refused when OAuth2 is on.
    let resp = app
        .call(
            "PATCH",
            "/api/collections/users",
            Some(&root),
            Some(json!({"oauth2": {"enabled": true, "providers": [
                {"name": "nope", "clientId": "a", "clientSecret": "b"},
                {"name": "oidc", "clientId": "a", "clientSecret": "", "tokenURL": "not a url"},
            ]}})),
        )
        .await;
    let err = assert_envelope(resp, 400).await;
    let providers = &err["data"]["oauth2"]["providers"];
    assert_eq!(providers["0"]["name"]["code"], "validation_missing_provider");
    assert_eq!(providers["1"]["clientSecret"]["code"], "validation_required");
    assert_eq!(providers["1"]["tokenURL"]["code"], "validation_is_url");

    enable(&app, &root, mock.config()).await;
    let view = app
        .call("GET", "/api/collections/users", Some(&root), None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        view.contains(CLIENT_ID) && !view.contains(CLIENT_SECRET),
        "{view}"
    );
    let list = app
        .call("GET", "/api/collections", Some(&root), None)
        .await
        .text()
        .await
        .unwrap();
    assert!(!list.contains(CLIENT_SECRET));
    let methods = app
        .get("/api/collections/users/auth-methods")
        .await
        .text()
        .await
        .unwrap();
    assert!(!methods.contains(CLIENT_SECRET));

    // Saving the provider back as the API showed it keeps the secret.
    let shown: Value = serde_json::from_str(&view).unwrap();
    configure(&app, &root, json!({"oauth2": shown["oauth2"]})).await;
    let resp = sign_in_as(&app, &mock, alice(), json!({})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(mock.token_requests()[0]["client_secret"], CLIENT_SECRET);
}

#[tokio::test]
async fn auth_methods_lists_the_provider_with_a_pkce_pair() {
    let app = spawn_app().await;
    let root = app.superuser_token().await;
    let mock = MockProvider::start().await;
    enable(&app, &root, mock.config()).await;
    let methods = json(app.get("/api/collections/users/auth-methods").await).await;
    assert_eq!(methods["oauth2"]["enabled"], true);
    let p = &methods["oauth2"]["providers"][0];
    assert_eq!(p["displayName"], "Mock IdP");
    assert_eq!(p["codeChallengeMethod"], "S256");
    let verifier = p["codeVerifier"].as_str().unwrap();
    let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    assert_eq!(p["codeChallenge"], expected.as_str());
    let url = p["authURL"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}?", mock.url("/authorize"))), "{url}");
    assert!(url.contains(&format!("client_id={CLIENT_ID}")));
    assert!(url.contains(&format!("code_challenge={expected}")));
    assert!(url.contains(&format!("state={}", p["state"].as_str().unwrap())));
    assert!(url.ends_with("&redirect_uri="));
    assert_eq!(methods["authProviders"][0]["name"], "oidc");
    // Each listing hands out a fresh pair.
    let again = json(app.get("/api/collections/users/auth-methods").await).await;
    assert_ne!(again["oauth2"]["providers"][0]["codeVerifier"], p["codeVerifier"]);
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
    let resp = password_login(&app, "bob@example.com", "bob-pass-123").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(count(&app, &root, "users").await, 1);

    // Deleting the account removes its link with it.
    let path = format!("/api/collections/users/records/{id}");
    assert_eq!(app.call("DELETE", &path, Some(&root), None).await.status(), 204);
    assert_eq!(count(&app, &root, "_externalAuths").await, 0);
    let again = json(sign_in_as(&app, &mock, alice(), json!({})).await).await;
    assert_eq!(again["meta"]["isNew"], true);
    assert_ne!(again["record"]["id"], id.as_str());

    // A truncate leaves the link behind; the identity still signs up anew.
    let resp = app
        .call("DELETE", "/api/collections/users/truncate", Some(&root), None)
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(count(&app, &root, "_externalAuths").await, 1);
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
