//! A mock OAuth2/OIDC provider on loopback: it plays the identity provider
//! after the user consented. A test asks it for a code (as the redirect back
//! to the app would carry one), bound to the PKCE challenge the server gave
//! out and to the user the provider will describe; the token endpoint then
//! checks what a real provider checks: the code, the client's id and secret
//! and the PKCE verifier. `/userinfo/emails` answers GitHub's address list.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
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

pub const CLIENT_ID: &str = "mock-client";
pub const CLIENT_SECRET: &str = "mock-secret-7f3a9c";

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

/// Answers `view` of the user the request's bearer token was issued for.
fn as_token_owner(state: &Shared, req: &poem::Request, view: impl Fn(&Value) -> Value) -> poem::Response {
    let bearer = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("");
    match state.lock().unwrap().tokens.get(bearer) {
        Some(user) => reply(StatusCode::OK, view(user)),
        None => reply(StatusCode::UNAUTHORIZED, json!({"error": "invalid_token"})),
    }
}

#[handler]
fn userinfo_endpoint(Data(state): Data<&Shared>, req: &poem::Request) -> poem::Response {
    as_token_owner(state, req, Value::clone)
}

/// GitHub's `/user/emails`: the mock user's `emails` claim.
#[handler]
fn emails_endpoint(Data(state): Data<&Shared>, req: &poem::Request) -> poem::Response {
    as_token_owner(state, req, |user| {
        user.get("emails").cloned().unwrap_or(json!([]))
    })
}

/// A provider that accepts the connection and never answers.
#[handler]
async fn hang() -> &'static str {
    tokio::time::sleep(Duration::from_secs(120)).await;
    "too late"
}

pub struct MockProvider {
    addr: SocketAddr,
    state: Shared,
}

impl MockProvider {
    pub async fn start() -> Self {
        let state = Shared::default();
        let routes = Route::new()
            .at("/token", post(token_endpoint))
            .at("/userinfo", poem::get(userinfo_endpoint))
            .at("/userinfo/emails", poem::get(emails_endpoint))
            .at("/hang", post(hang))
            .data(state.clone());
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
        let addr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
        tokio::spawn(Server::new_with_acceptor(acceptor).run(routes));
        Self { addr, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The `oauth2.providers[]` entry for this mock, as an `oidc` provider.
    pub fn config(&self) -> Value {
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
    pub fn issue_code(&self, challenge: &str, user: Value) -> String {
        let code = cairn::random::alphanumeric(20);
        self.state
            .lock()
            .unwrap()
            .codes
            .insert(code.clone(), (challenge.to_owned(), user));
        code
    }

    /// The access tokens handed out so far.
    pub fn access_tokens(&self) -> Vec<String> {
        self.state.lock().unwrap().tokens.keys().cloned().collect()
    }

    pub fn token_requests(&self) -> Vec<HashMap<String, String>> {
        self.state.lock().unwrap().token_requests.clone()
    }
}
