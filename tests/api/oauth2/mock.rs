//! A mock OAuth2/OIDC provider on loopback: it plays the identity provider
//! after the user consented. A test asks it for a code (as the redirect back
//! to the app would carry one), bound to the PKCE challenge the server gave
//! out and to the user the provider will describe; the token endpoint then
//! checks what a real provider checks: the code, the client's id and secret
//! (in the form, or as HTTP Basic credentials, whichever the client used)
//! and the PKCE verifier. `/userinfo` answers the user's profile to a `GET`
//! or a `POST` (a GraphQL query), `/userinfo/emails` GitHub's address list,
//! and `/jwks` the key set that signs the `id_token`s a code may carry.

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

/// The key the mock signs `id_token`s with (test only), and its key set.
pub const SIGNING_KEY: &[u8] = include_bytes!("test_rsa_key.der");
pub const KEY_SET: &str = include_str!("test_jwks.json");

/// What a code was issued for.
#[derive(Clone)]
struct Issued {
    /// Empty when the client uses no PKCE.
    challenge: String,
    user: Value,
    /// More of the token answer (an `id_token`, VK's `email`).
    extra: Value,
}

/// A profile request as the mock received it.
#[derive(Clone, Debug)]
pub struct ProfileRequest {
    pub method: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

#[derive(Default)]
struct MockState {
    codes: HashMap<String, Issued>,
    /// access token -> the user's claims
    tokens: HashMap<String, Value>,
    token_requests: Vec<HashMap<String, String>>,
    profile_requests: Vec<ProfileRequest>,
}

type Shared = Arc<Mutex<MockState>>;

fn reply(status: StatusCode, body: Value) -> poem::Response {
    poem::Response::builder()
        .status(status)
        .content_type("application/json")
        .body(body.to_string())
}

/// The client's credentials as sent: `("basic", id, secret)` from an
/// Authorization header (form-encoded inside, RFC 6749 2.3.1), else
/// `("form", …)` from the form.
fn credentials(req: &poem::Request, form: &HashMap<String, String>) -> (String, String, String) {
    let basic = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    if let Some(pair) = basic {
        let (id, secret) = pair.split_once(':').unwrap_or((&pair, ""));
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("v={s}").as_bytes())
                .next()
                .unwrap()
                .1
                .into_owned()
        };
        return ("basic".into(), decode(id), decode(secret));
    }
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    ("form".into(), field("client_id"), field("client_secret"))
}

#[handler]
fn token_endpoint(
    Data(state): Data<&Shared>,
    req: &poem::Request,
    Form(form): Form<HashMap<String, String>>,
) -> poem::Response {
    let mut s = state.lock().unwrap();
    let (how, id, secret) = credentials(req, &form);
    let mut seen = form.clone();
    seen.insert("(credentials)".into(), how.clone());
    s.token_requests.push(seen);
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    // Credentials one way only: a secret in the form beside Basic ones
    // is refused, as strict providers refuse it.
    if id != CLIENT_ID || secret != CLIENT_SECRET || (how == "basic" && form.contains_key("client_secret")) {
        return reply(StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"}));
    }
    let Some(issued) = s.codes.get(field("code")).cloned() else {
        return reply(StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}));
    };
    let pkce_ok = if issued.challenge.is_empty() {
        !form.contains_key("code_verifier")
    } else {
        URL_SAFE_NO_PAD.encode(Sha256::digest(field("code_verifier").as_bytes())) == issued.challenge
    };
    if field("grant_type") != "authorization_code" || !pkce_ok {
        return reply(StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}));
    }
    s.codes.remove(field("code"));
    let access = cairn::random::alphanumeric(24);
    s.tokens.insert(access.clone(), issued.user);
    let mut answer = json!({"access_token": access, "token_type": "Bearer", "refresh_token": "mock-refresh", "expires_in": 3600});
    if let Value::Object(extra) = issued.extra {
        answer.as_object_mut().unwrap().extend(extra);
    }
    reply(StatusCode::OK, answer)
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
fn userinfo_endpoint(Data(state): Data<&Shared>, req: &poem::Request, body: String) -> poem::Response {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    state.lock().unwrap().profile_requests.push(ProfileRequest {
        method: req.method().to_string(),
        headers,
        body,
    });
    as_token_owner(state, req, Value::clone)
}

/// A 1×1 PNG, the picture `/avatar.png` serves.
pub const AVATAR_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00,
    0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05,
    0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42,
    0x60, 0x82,
];

#[handler]
fn avatar_endpoint() -> poem::Response {
    poem::Response::builder()
        .content_type("image/png")
        .body(AVATAR_PNG)
}

/// A redirect to the picture, as avatar hosts often answer.
#[handler]
fn avatar_redirect() -> poem::Response {
    poem::Response::builder()
        .status(StatusCode::FOUND)
        .header("location", "/avatar.png")
        .finish()
}

#[handler]
fn jwks_endpoint() -> poem::Response {
    reply(StatusCode::OK, serde_json::from_str(KEY_SET).unwrap())
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
            .at("/userinfo", poem::get(userinfo_endpoint).post(userinfo_endpoint))
            .at("/jwks", poem::get(jwks_endpoint))
            .at("/avatar.png", poem::get(avatar_endpoint))
            .at("/avatar", poem::get(avatar_redirect))
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
        self.issue_code_with(challenge, user, json!({}))
    }

    /// A code for `user` whose token answer also carries `extra`; an empty
    /// `challenge` for a client that uses no PKCE.
    pub fn issue_code_with(&self, challenge: &str, user: Value, extra: Value) -> String {
        let code = cairn::random::alphanumeric(20);
        let issued = Issued {
            challenge: challenge.to_owned(),
            user,
            extra,
        };
        self.state.lock().unwrap().codes.insert(code.clone(), issued);
        code
    }

    pub fn profile_requests(&self) -> Vec<ProfileRequest> {
        self.state.lock().unwrap().profile_requests.clone()
    }

    /// The access tokens handed out so far.
    pub fn access_tokens(&self) -> Vec<String> {
        self.state.lock().unwrap().tokens.keys().cloned().collect()
    }

    pub fn token_requests(&self) -> Vec<HashMap<String, String>> {
        self.state.lock().unwrap().token_requests.clone()
    }
}
