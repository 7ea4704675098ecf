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

use super::{alert, mfa, token};
use crate::{app::AppState, http::error::ApiError, schema::Collection};

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

/// Finishes a sign-in: issues the token and shapes the response.
pub async fn complete(
    state: &AppState,
    req: &Request,
    signed_in: SignedIn,
) -> Result<AuthResponse, ApiError> {
    if let mfa::Outcome::SecondFactor(mfa_id) = mfa::check(state, req, &signed_in).await? {
        return Ok(AuthResponse::MfaRequired(Json(json!({"mfaId": mfa_id}))));
    }
    alert::note_origin(state, req, &signed_in).await;
    let token = token::issue(&signed_in.collection, &signed_in.id, &signed_in.token_key);
    let mut body = json!({"token": token, "record": signed_in.record});
    if let Some(meta) = signed_in.meta {
        body["meta"] = meta;
    }
    Ok(AuthResponse::Ok(Json(body), None))
}
