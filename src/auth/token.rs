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
    /// Cairn's session id, on tokens issued for a session: the token dies
    /// with the session (see `auth::sessions`). PocketBase's SDKs ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

pub const AUTH: &str = "auth";

fn option(c: &Collection, group: &str, key: &str) -> Option<Value> {
    c.options.get(group)?.get(key).cloned()
}

fn signing_key(c: &Collection, token_key: &str) -> Vec<u8> {
    let secret = option(c, "authToken", "secret")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    format!("{token_key}{secret}").into_bytes()
}

/// The collection's `authToken.duration`, in seconds.
pub fn auth_duration(c: &Collection) -> u64 {
    option(c, "authToken", "duration")
        .and_then(|v| v.as_u64())
        .unwrap_or(86_400)
}

/// A refreshable auth token for a record of `c`, valid for the
/// collection's `authToken.duration`.
pub fn issue(c: &Collection, record_id: &str, token_key: &str) -> String {
    issue_with(c, record_id, token_key, auth_duration(c), true)
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
    sign(
        c,
        token_key,
        auth_claims(c, record_id, duration, refreshable, None),
    )
}

/// A refreshable auth token that belongs to session `sid`.
pub fn issue_for_session(
    c: &Collection,
    record_id: &str,
    token_key: &str,
    duration: u64,
    sid: &str,
) -> String {
    sign(c, token_key, auth_claims(c, record_id, duration, true, Some(sid)))
}

fn auth_claims(
    c: &Collection,
    record_id: &str,
    duration: u64,
    refreshable: bool,
    sid: Option<&str>,
) -> Claims {
    Claims {
        id: record_id.to_owned(),
        collection_id: c.id.clone(),
        kind: AUTH.into(),
        exp: jsonwebtoken::get_current_timestamp() + duration,
        refreshable,
        sid: sid.map(str::to_owned),
    }
}

fn sign(c: &Collection, token_key: &str, claims: Claims) -> String {
    // HS256 over a small struct cannot fail to encode.
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&signing_key(c, token_key)),
    )
    .unwrap_or_default()
}

/// The claims of a token, unverified: only to find whose key checks it.
pub fn peek(token: &str) -> Option<Claims> {
    jsonwebtoken::dangerous::insecure_decode::<Claims>(token)
        .ok()
        .map(|d| d.claims)
}

/// Verifies signature, expiry and type against the record's key.
pub fn verify(token: &str, c: &Collection, token_key: &str) -> Option<Claims> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(&signing_key(c, token_key)),
        &validation,
    )
    .ok()?;
    (data.claims.kind == AUTH && data.claims.collection_id == c.id).then_some(data.claims)
}
