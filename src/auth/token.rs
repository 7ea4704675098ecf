//! Auth tokens: HS256 JWTs with PocketBase's claims (`id`, `collectionId`,
//! `type`, `exp`, `refreshable`), signed with the record's `tokenKey`
//! joined to its collection's `authToken.secret`. A new `tokenKey` (set on
//! every password change) therefore revokes every token of that record.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::schema::Collection;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub id: String,
    #[serde(rename = "collectionId")]
    pub collection_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub exp: u64,
    #[serde(default)]
    pub refreshable: bool,
}

pub const AUTH: &str = "auth";
pub const FILE: &str = "file";

fn option(c: &Collection, group: &str, key: &str) -> Option<Value> {
    c.options.get(group)?.get(key).cloned()
}

/// The option group that holds each token type's secret and duration.
fn group(kind: &str) -> &'static str {
    if kind == FILE { "fileToken" } else { "authToken" }
}

fn signing_key(c: &Collection, kind: &str, token_key: &str) -> Vec<u8> {
    let secret = option(c, group(kind), "secret")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    format!("{token_key}{secret}").into_bytes()
}

/// A refreshable auth token for a record of `c`, valid for the
/// collection's `authToken.duration`.
pub fn issue(c: &Collection, record_id: &str, token_key: &str) -> String {
    let duration = option(c, "authToken", "duration")
        .and_then(|v| v.as_u64())
        .unwrap_or(86_400);
    issue_with(c, record_id, token_key, duration, true)
}

/// An auth token with an explicit lifetime; impersonation tokens are not
/// refreshable.
pub fn issue_with(
    c: &Collection,
    record_id: &str,
    token_key: &str,
    duration: u64,
    refreshable: bool,
) -> String {
    let claims = Claims {
        id: record_id.to_owned(),
        collection_id: c.id.clone(),
        kind: AUTH.into(),
        exp: jsonwebtoken::get_current_timestamp() + duration,
        refreshable,
    };
    // HS256 over a small struct cannot fail to encode.
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&signing_key(c, AUTH, token_key)),
    )
    .unwrap_or_default()
}

/// The claims of a token, unverified: only to find whose key checks it.
pub fn peek(token: &str) -> Option<Claims> {
    jsonwebtoken::dangerous::insecure_decode::<Claims>(token)
        .ok()
        .map(|d| d.claims)
}

/// A short-lived token for reading protected files, valid for the
/// collection's `fileToken.duration`.
pub fn issue_file(c: &Collection, record_id: &str, token_key: &str) -> String {
    let duration = option(c, "fileToken", "duration")
        .and_then(|v| v.as_u64())
        .unwrap_or(180);
    let claims = Claims {
        id: record_id.to_owned(),
        collection_id: c.id.clone(),
        kind: FILE.into(),
        exp: jsonwebtoken::get_current_timestamp() + duration,
        refreshable: false,
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&signing_key(c, FILE, token_key)),
    )
    .unwrap_or_default()
}

/// Verifies signature, expiry and type against the record's key.
pub fn verify(token: &str, c: &Collection, token_key: &str) -> Option<Claims> {
    verify_kind(token, c, token_key, AUTH)
}

/// Verifies a token of type `kind` (`AUTH` or `FILE`).
pub fn verify_kind(token: &str, c: &Collection, token_key: &str, kind: &str) -> Option<Claims> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(&signing_key(c, kind, token_key)),
        &validation,
    )
    .ok()?;
    (data.claims.kind == kind && data.claims.collection_id == c.id).then_some(data.claims)
}
