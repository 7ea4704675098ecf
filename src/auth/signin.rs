//! The end of every sign-in, whatever proved the identity (password, OTP,
//! OAuth2): the one place that turns a proven account into a response.
//! Checks that apply to every method (the collection's MFA requirement,
//! the new-location alert) and Cairn's sessions (a refresh token beside
//! the access token) belong here, so no sign-in method can skip them.
//!
//! The body is PocketBase's `{token, record, meta?}`; fields Cairn adds
//! are ones the SDKs ignore.

use std::sync::Arc;

use poem::Request;
use poem_openapi::{ApiResponse, payload::Json};
use serde_json::{Map, Value, json};

use super::{
    alert, mfa,
    sessions::{self, Device, Issued, SessionOptions},
    token,
};
use crate::{
    app::AppState,
    http::{client::ClientInfo, error::ApiError},
    schema::Collection,
};

/// How the account proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Password,
    Otp,
    OAuth2,
}

impl Method {
    /// PocketBase's name for the method (as in `_mfas.method`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Otp => "otp",
            Self::OAuth2 => "oauth2",
        }
    }
}

/// An account whose identity has just been proven.
pub struct SignedIn {
    pub collection: Arc<Collection>,
    pub id: String,
    pub token_key: String,
    /// The record as the API shows it.
    pub record: Map<String, Value>,
    pub method: Method,
    /// Extra details for the response (OAuth2's provider data).
    pub meta: Option<Value>,
    /// The first factor this sign-in completes, when MFA asked for one.
    pub mfa_id: Option<String>,
}

#[derive(ApiResponse)]
pub enum AuthResponse {
    /// Signed in: an access token and the account's record.
    #[oai(status = 200)]
    Ok(Json<Value>, #[oai(header = "Set-Cookie")] Option<String>),
    /// A first factor is proven; sign in again with another method and
    /// this `{mfaId}`.
    #[oai(status = 401)]
    MfaRequired(Json<Value>),
}

/// Finishes a sign-in: opens the session, issues the access token and
/// shapes the response.
pub async fn complete(
    state: &AppState,
    req: &Request,
    signed_in: SignedIn,
) -> Result<AuthResponse, ApiError> {
    if let mfa::Outcome::SecondFactor(mfa_id) = mfa::check(state, req, &signed_in).await? {
        return Ok(AuthResponse::MfaRequired(Json(json!({"mfaId": mfa_id}))));
    }
    alert::note_origin(state, req, &signed_in).await;
    let c = &signed_in.collection;
    let opened = state
        .sessions
        .open(
            &state.store.data,
            c,
            &signed_in.id,
            &signed_in.token_key,
            device(req),
        )
        .await
        .map_err(ApiError::internal)?;
    let cookie_mode = cookie_mode(req, c);
    let mut body = session_body(
        c,
        &signed_in.id,
        &signed_in.token_key,
        signed_in.record,
        &opened,
        cookie_mode,
        token::auth_duration(c),
    );
    if let Some(meta) = signed_in.meta {
        body["meta"] = meta;
    }
    let cookie = cookie_mode.then(|| refresh_cookie(&opened.refresh_token, c));
    Ok(AuthResponse::Ok(Json(body), cookie))
}

/// Where the request came from, for the sessions list.
pub fn device(req: &Request) -> Device {
    let user_agent = req
        .headers()
        .get(poem::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(300)
        .collect();
    let ip = req
        .extensions()
        .get::<ClientInfo>()
        .map(|c| c.ip.to_string())
        .unwrap_or_default();
    Device { user_agent, ip }
}

/// Whether the refresh token travels as an HttpOnly cookie: the collection
/// says so, or the client asked with `X-Cairn-Auth-Cookie: 1`.
pub fn cookie_mode(req: &Request, c: &Collection) -> bool {
    SessionOptions::of(c).cookie
        || req
            .headers()
            .get(sessions::COOKIE_MODE_HEADER)
            .is_some_and(|v| v.as_bytes() == b"1")
}

/// `{token, record, refreshToken?}` for a session. Session clients in
/// cookie mode get the collection's short access-token lifetime (they can
/// refresh silently) and no refresh token in the body; others get
/// `fallback_duration` and the refresh token in the body.
pub fn session_body(
    c: &Collection,
    record_id: &str,
    token_key: &str,
    record: Map<String, Value>,
    session: &Issued,
    cookie_mode: bool,
    fallback_duration: u64,
) -> Value {
    let duration = if cookie_mode {
        SessionOptions::of(c).access_token_duration
    } else {
        fallback_duration
    };
    let token = token::issue_for_session(c, record_id, token_key, duration, &session.session_id);
    let mut body = json!({"token": token, "record": record});
    if !cookie_mode {
        body["refreshToken"] = json!(session.refresh_token);
    }
    body
}

/// The `Set-Cookie` value carrying a refresh token, scoped to the sessions
/// endpoints. Always `Secure`: browsers accept secure
/// cookies from `localhost` over plain HTTP, and nowhere else should a
/// refresh token travel in clear.
pub fn refresh_cookie(token: &str, c: &Collection) -> String {
    cookie(token, SessionOptions::of(c).refresh_token_duration)
}

/// The `Set-Cookie` value that removes the refresh-token cookie.
pub fn clear_cookie() -> String {
    cookie("", 0)
}

fn cookie(value: &str, max_age: u64) -> String {
    format!(
        "{}={value}; Path=/api/sessions; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict",
        sessions::COOKIE
    )
}
