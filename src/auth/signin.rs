//! The end of every sign-in, whatever proved the identity (password, OTP,
//! OAuth2): the one place that turns a proven account into a response.
//! Checks that apply to every method (the collection's MFA requirement,
//! the new-location alert) and Cairn's sessions (a refresh token beside
//! the access token) belong here, so no sign-in method can skip them.
//!
//! The body is PocketBase's `{token, record, meta?}`; fields Cairn adds
//! are ones the SDKs ignore.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{
    alert,
    deps::AuthDeps,
    mfa,
    sessions::{Device, Issued, RefreshCookie, SessionOptions},
    token::{self, TokenError},
};
use crate::{
    query::compile::RuleContext, records::service::RecordError, schema::Collection, store::StoreError,
};

/// How the account proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Password,
    Otp,
    OAuth2,
}

impl Method {
    /// PocketBase's name for the method (as in `_mfas.method`), which is
    /// also its rules' `@request.context`.
    pub fn as_str(self) -> &'static str {
        self.rule_context().as_str()
    }

    /// The `@request.context` of the rules this sign-in checks.
    pub fn rule_context(self) -> RuleContext {
        match self {
            Self::Password => RuleContext::Password,
            Self::Otp => RuleContext::Otp,
            Self::OAuth2 => RuleContext::OAuth2,
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

/// What a sign-in needs to know of the request it came in: read once by
/// the edge, so the sign-in never sees HTTP.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// The client's address as the edge resolved it (`""` if unknown).
    pub ip: String,
    /// The whole `User-Agent` header (`""` if absent or not text).
    pub user_agent: String,
    /// `?mfaId=` from the query string, where the SDKs put it.
    pub mfa_id: Option<String>,
    /// The client asked for the refresh token as a cookie
    /// (`X-Cairn-Auth-Cookie: 1`).
    pub wants_cookie: bool,
}

/// Why a sign-in whose identity is proven still does not complete.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("unknown or expired MFA session")]
    MfaExpired,
    #[error("the MFA session belongs to another account")]
    MfaMismatch,
    #[error("the second factor repeats the first one's method")]
    MfaSameMethod,
    #[error(transparent)]
    Rule(#[from] RecordError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// How a sign-in ends.
pub enum Completed {
    /// Signed in: `{token, record, refreshToken?, meta?}`, and the
    /// refresh token to set as a cookie in cookie mode.
    Session {
        body: Value,
        cookie: Option<RefreshCookie>,
    },
    /// A first factor is proven; the client signs in again with another
    /// method and this `mfaId`.
    MfaRequired(String),
}

/// Finishes a sign-in: opens the session, issues the access token and
/// shapes the response.
pub async fn complete(
    auth: &AuthDeps<'_>,
    meta: &RequestMeta,
    signed_in: SignedIn,
) -> Result<Completed, SignInError> {
    if let mfa::Outcome::SecondFactor(mfa_id) = mfa::check(auth.schema, auth.db, meta, &signed_in).await? {
        return Ok(Completed::MfaRequired(mfa_id));
    }
    alert::note_origin(auth.db, &auth.mailer, meta, &signed_in).await;
    let c = &signed_in.collection;
    // Told in the session's own transaction (webhooks' `auth.signin`):
    // a sign-in that did not open its session is no event.
    let (hook, catalog, c2, record) = (
        auth.tx_hook.clone(),
        auth.schema.catalog(),
        c.clone(),
        signed_in.record.clone(),
    );
    let opened = auth
        .sessions
        .open(
            auth.db,
            c,
            &signed_in.id,
            &signed_in.token_key,
            device(meta),
            move |tx| hook.signed_in(tx, &catalog, &c2, &record),
        )
        .await?;
    auth.listener.hooked_commit();
    let cookie_mode = cookie_mode(meta.wants_cookie, c);
    let mut body = session_body(
        c,
        &signed_in.id,
        &signed_in.token_key,
        signed_in.record,
        &opened,
        cookie_mode,
        token::auth_duration(c)?,
    )?;
    if let Some(meta) = signed_in.meta {
        body["meta"] = meta;
    }
    let cookie = cookie_mode.then(|| RefreshCookie::new(&opened, c));
    Ok(Completed::Session { body, cookie })
}

/// Where the request came from, for the sessions list.
pub fn device(meta: &RequestMeta) -> Device {
    Device {
        user_agent: meta.user_agent.chars().take(300).collect(),
        ip: meta.ip.clone(),
    }
}

/// Whether the refresh token travels as an HttpOnly cookie: the collection
/// says so, or the client asked (`X-Cairn-Auth-Cookie: 1`).
pub fn cookie_mode(requested: bool, c: &Collection) -> bool {
    SessionOptions::of(c).cookie || requested
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
) -> Result<Value, TokenError> {
    let duration = if cookie_mode {
        SessionOptions::of(c).access_token_duration
    } else {
        fallback_duration
    };
    let token = token::issue_for_session(c, record_id, token_key, duration, &session.session_id)?;
    let mut body = json!({"token": token, "record": record});
    if !cookie_mode {
        body["refreshToken"] = json!(session.refresh_token);
    }
    Ok(body)
}
