//! The two calls to a provider after the user consented: trade the
//! authorization code (with the PKCE verifier) for an access token, then
//! read the user's profile with it. One HTTP client for all providers,
//! rustls only, with a bound on every call so a provider that hangs
//! cannot hold a request (or a worker) for long.
//!
//! Nothing here logs or returns the client secret, the code or the tokens:
//! errors say which step failed and, at most, the provider's status code.

use std::{sync::LazyLock, time::Duration};

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    config::ProviderConfig,
    provider::{ClientAuth, ExternalUser, HeaderValue, Profile, unsigned_claims, verified_claims},
};

/// The whole of one call, connection included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Provider answers are small; a bigger one is refused rather than read.
const MAX_BODY: usize = 1 << 20;

static CLIENT: LazyLock<Result<reqwest::Client, String>> = LazyLock::new(|| {
    reqwest::Client::builder()
        .timeout(CALL_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        // A token endpoint has no business redirecting the code elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("cairn/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
});

#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("the token request failed: {0}")]
    Token(String),
    #[error("the user info request failed: {0}")]
    User(String),
}

/// What the token endpoint granted.
#[derive(Deserialize)]
pub struct Grant {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: String,
    /// Seconds from now; absent when the token does not expire.
    #[serde(default)]
    pub expires_in: Option<i64>,
    /// The rest of the answer (an `id_token`, VK's `email`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The code and what the client sent with it.
pub struct CodeExchange<'a> {
    pub code: &'a str,
    pub code_verifier: &'a str,
    pub redirect_url: &'a str,
}

fn client() -> Result<&'static reqwest::Client, String> {
    CLIENT.as_ref().map_err(Clone::clone)
}

/// Describes a failed call without its URL (which may carry query
/// parameters) or anything the provider echoed back.
fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        format!("no answer within {}s", CALL_TIMEOUT.as_secs())
    } else if err.is_connect() {
        "cannot connect".into()
    } else if let Some(status) = err.status() {
        format!("status {status}")
    } else {
        "unreadable answer".into()
    }
}

async fn read_json(resp: reqwest::Response) -> Result<Value, String> {
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("status {status}"));
    }
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err("answer too large".into());
    }
    let bytes = resp.bytes().await.map_err(|e| describe(&e))?;
    if bytes.len() > MAX_BODY {
        return Err("answer too large".into());
    }
    serde_json::from_slice(&bytes).map_err(|_| "not JSON".into())
}

/// `application/x-www-form-urlencoded` of one value, as HTTP Basic
/// credentials of a token request are encoded (RFC 6749, 2.3.1).
fn form_encoded(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Trades the code for an access token at the provider's token URL.
pub async fn exchange_code(cfg: &ProviderConfig, input: &CodeExchange<'_>) -> Result<Grant, ExchangeError> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", input.code),
        ("redirect_uri", input.redirect_url),
    ];
    if cfg.provider.client_auth == ClientAuth::Form {
        form.push(("client_id", cfg.client_id.as_str()));
        form.push(("client_secret", cfg.client_secret.as_str()));
    }
    if cfg.pkce {
        form.push(("code_verifier", input.code_verifier));
    }
    let mut req = client()
        .map_err(ExchangeError::Token)?
        .post(&cfg.token_url)
        .header(reqwest::header::ACCEPT, "application/json");
    if cfg.provider.client_auth == ClientAuth::Basic {
        req = req.basic_auth(
            form_encoded(&cfg.client_id),
            Some(form_encoded(&cfg.client_secret)),
        );
    }
    let resp = req
        .form(&form)
        .send()
        .await
        .map_err(|e| ExchangeError::Token(describe(&e)))?;
    let body = read_json(resp).await.map_err(ExchangeError::Token)?;
    let grant: Grant = serde_json::from_value(body)
        .map_err(|_| ExchangeError::Token("no access_token in the answer".into()))?;
    if grant.access_token.is_empty() {
        return Err(ExchangeError::Token("an empty access_token".into()));
    }
    Ok(grant)
}

async fn send_json(req: reqwest::RequestBuilder) -> Result<Value, ExchangeError> {
    let resp = req
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| ExchangeError::User(describe(&e)))?;
    read_json(resp).await.map_err(ExchangeError::User)
}

async fn get_json(url: &str, access_token: &str) -> Result<Value, ExchangeError> {
    let http = client().map_err(ExchangeError::User)?;
    send_json(http.get(url).bearer_auth(access_token)).await
}

/// The profile, asked for as the provider wants it.
async fn profile(cfg: &ProviderConfig, grant: &Grant) -> Result<Value, ExchangeError> {
    let http = client().map_err(ExchangeError::User)?;
    let url = &cfg.user_info_url;
    match cfg.provider.profile {
        Profile::Get(headers) => {
            let mut req = http.get(url).bearer_auth(&grant.access_token);
            for (name, value) in headers {
                let value = match value {
                    HeaderValue::Fixed(v) => v,
                    HeaderValue::ClientId => cfg.client_id.as_str(),
                };
                req = req.header(*name, value);
            }
            send_json(req).await
        }
        Profile::PostJson(query) => {
            let req = http
                .post(url)
                .bearer_auth(&grant.access_token)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(query);
            send_json(req).await
        }
        Profile::IdToken { issuer } => {
            // The user info URL is the provider's key set.
            let keys = send_json(http.get(url)).await?;
            verified_claims(id_token(grant), &keys, &cfg.client_id, &[issuer])
                .map_err(|e| ExchangeError::User(e.to_string()))
        }
        Profile::Oidc if !url.is_empty() => send_json(http.get(url).bearer_auth(&grant.access_token)).await,
        Profile::Oidc => {
            let issuers: Vec<&str> = match cfg.extra.get("issuers") {
                Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let jwks = cfg
                .extra
                .get("jwksURL")
                .and_then(Value::as_str)
                .filter(|u| !u.is_empty());
            let claims = match jwks {
                Some(jwks) => {
                    let keys = send_json(http.get(jwks)).await?;
                    verified_claims(id_token(grant), &keys, &cfg.client_id, &issuers)
                }
                None => unsigned_claims(
                    id_token(grant),
                    &cfg.client_id,
                    &issuers,
                    chrono::Utc::now().timestamp(),
                ),
            };
            claims.map_err(|e| ExchangeError::User(e.to_string()))
        }
    }
}

fn id_token(grant: &Grant) -> &str {
    grant.extra.get("id_token").and_then(Value::as_str).unwrap_or("")
}

/// Reads the user's profile (and, where the provider needs it, their
/// verified address) with the granted token.
pub async fn fetch_user(cfg: &ProviderConfig, grant: &Grant) -> Result<ExternalUser, ExchangeError> {
    let raw = profile(cfg, grant).await?;
    let mut user = cfg
        .provider
        .user(raw, &grant.extra)
        .map_err(|why| ExchangeError::User(why.into()))?;
    if user.id.is_empty() {
        return Err(ExchangeError::User("the profile has no user id".into()));
    }
    if user.email.is_empty()
        && let Some(emails) = cfg.provider.emails
    {
        // The address list is a nicety: without it the user simply has no
        // verified email, as when the provider shares none.
        if let Ok(list) = get_json(&(emails.url)(&cfg.user_info_url), &grant.access_token).await {
            user.email = (emails.pick)(&list).unwrap_or_default();
        }
    }
    Ok(user)
}
