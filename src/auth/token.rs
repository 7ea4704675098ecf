//! Auth tokens: HS256 JWTs with PocketBase's claims (`id`, `collectionId`,
//! `type`, `exp`, `refreshable`), signed with the record's `tokenKey`
//! joined to its collection's `authToken.secret`. A new `tokenKey` (set on
//! every password change) therefore revokes every token of that record.
//!
//! The account-flow tokens (verification, password reset, email change)
//! are built the same way, each with its own `type`, its own collection
//! secret and duration, and the address it was issued for: a token for an
//! old address stops working once the address changes.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::{
    identity::Caller,
    schema::{
        Collection,
        auth_options::{TokenKind, TokenOptions},
    },
};

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
    /// The address an account-flow token was sent to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The address an email-change token moves the account to.
    #[serde(default, rename = "newEmail", skip_serializing_if = "Option::is_none")]
    pub new_email: Option<String>,
}

pub const AUTH: &str = "auth";

/// What a token is for: PocketBase's `type` claim, and the collection
/// option group holding its secret and duration (`TokenKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Auth,
    Verification,
    PasswordReset,
    EmailChange,
    /// Reading a protected file (`?token=`).
    File,
}

impl Purpose {
    fn kind(self) -> &'static str {
        match self {
            Self::Auth => AUTH,
            Self::Verification => "verification",
            Self::PasswordReset => "passwordReset",
            Self::EmailChange => "emailChange",
            Self::File => "file",
        }
    }

    /// The collection's option group for this purpose.
    fn option_group(self) -> TokenKind {
        match self {
            Self::Auth => TokenKind::Auth,
            Self::Verification => TokenKind::Verification,
            Self::PasswordReset => TokenKind::PasswordReset,
            Self::EmailChange => TokenKind::EmailChange,
            Self::File => TokenKind::File,
        }
    }

    /// The collection's lifetime and secret for this kind of token. Only
    /// a collection that is not an auth collection has none.
    fn config(self, c: &Collection) -> Result<&TokenOptions, TokenError> {
        c.auth()
            .map(|a| a.token(self.option_group()))
            .ok_or_else(|| TokenError::NotAuth(c.name.clone()))
    }
}

/// Why no token could be made.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("collection {0:?} is not an auth collection")]
    NotAuth(String),
    #[error("signing a token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

/// The key a token is signed with: the record's key joined to the
/// collection's secret for that kind of token (never empty: see
/// `schema::auth_options::Secret`).
fn signing_key(config: &TokenOptions, token_key: &str) -> Vec<u8> {
    format!("{token_key}{}", config.secret.expose()).into_bytes()
}

fn sign(config: &TokenOptions, token_key: &str, claims: &Claims) -> Result<String, TokenError> {
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(&signing_key(config, token_key)),
    )?)
}

/// The collection's `authToken.duration`, in seconds.
pub fn auth_duration(c: &Collection) -> Result<u64, TokenError> {
    Ok(Purpose::Auth.config(c)?.duration)
}

/// A refreshable auth token for a record of `c`, valid for the
/// collection's `authToken.duration`.
pub fn issue(c: &Collection, record_id: &str, token_key: &str) -> Result<String, TokenError> {
    issue_with(c, record_id, token_key, auth_duration(c)?, true)
}

/// An auth token with an explicit lifetime; impersonation tokens are not
/// refreshable.
pub fn issue_with(
    c: &Collection,
    record_id: &str,
    token_key: &str,
    duration: u64,
    refreshable: bool,
) -> Result<String, TokenError> {
    let claims = auth_claims(c, record_id, duration, refreshable, None);
    sign(Purpose::Auth.config(c)?, token_key, &claims)
}

/// A refreshable auth token that belongs to session `sid`.
pub fn issue_for_session(
    c: &Collection,
    record_id: &str,
    token_key: &str,
    duration: u64,
    sid: &str,
) -> Result<String, TokenError> {
    let claims = auth_claims(c, record_id, duration, true, Some(sid));
    sign(Purpose::Auth.config(c)?, token_key, &claims)
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
        email: None,
        new_email: None,
    }
}

/// An account-flow token for the record's `email` (and, for an email
/// change, the address it moves to), valid for the collection's duration.
pub fn issue_for(
    c: &Collection,
    purpose: Purpose,
    record_id: &str,
    token_key: &str,
    email: &str,
    new_email: Option<&str>,
) -> Result<String, TokenError> {
    let config = purpose.config(c)?;
    let claims = Claims {
        id: record_id.to_owned(),
        collection_id: c.id.clone(),
        kind: purpose.kind().into(),
        exp: jsonwebtoken::get_current_timestamp() + config.duration,
        refreshable: false,
        sid: None,
        email: Some(email.to_owned()),
        new_email: new_email.map(str::to_owned),
    };
    sign(config, token_key, &claims)
}

/// A short-lived token for reading protected files, valid for the
/// collection's `fileToken.duration`. Like PocketBase's, it names only the
/// record, and is signed with that record's key and the file secret.
pub fn issue_file(c: &Collection, record_id: &str, token_key: &str) -> Result<String, TokenError> {
    let config = Purpose::File.config(c)?;
    let claims = Claims {
        id: record_id.to_owned(),
        collection_id: c.id.clone(),
        kind: Purpose::File.kind().into(),
        exp: jsonwebtoken::get_current_timestamp() + config.duration,
        refreshable: false,
        sid: None,
        email: None,
        new_email: None,
    };
    sign(config, token_key, &claims)
}

/// A file token for the signed-in caller, or `None` for a guest.
pub fn file_token_for(caller: &Caller) -> Result<Option<String>, TokenError> {
    match caller {
        Caller::Record(r, _) => issue_file(&r.collection, &r.id, &r.token_key).map(Some),
        Caller::Guest => Ok(None),
    }
}

/// The claims of a token, unverified: only to find whose key checks it.
pub fn peek(token: &str) -> Option<Claims> {
    jsonwebtoken::dangerous::insecure_decode::<Claims>(token)
        .ok()
        .map(|d| d.claims)
}

/// Verifies signature, expiry and type against the record's key.
pub fn verify(token: &str, c: &Collection, token_key: &str) -> Option<Claims> {
    verify_for(token, c, Purpose::Auth, token_key)
}

/// Verifies a token of `purpose`: its signature (with that purpose's
/// secret), expiry, `type` and collection.
pub fn verify_for(token: &str, c: &Collection, purpose: Purpose, token_key: &str) -> Option<Claims> {
    let config = purpose.config(c).ok()?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(&signing_key(config, token_key)),
        &validation,
    )
    .ok()?;
    (data.claims.kind == purpose.kind() && data.claims.collection_id == c.id).then_some(data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::defaults;

    #[test]
    fn each_purpose_has_its_own_type_and_secret() {
        let c = defaults::users();
        let reset = issue_for(&c, Purpose::PasswordReset, "abc", "key", "a@b.co", None).expect("issued");
        let claims = verify_for(&reset, &c, Purpose::PasswordReset, "key").expect("valid");
        assert_eq!(claims.email.as_deref(), Some("a@b.co"));
        assert_eq!(claims.kind, "passwordReset");
        // Not an auth token, not a verification token, not with another key.
        assert!(verify(&reset, &c, "key").is_none());
        assert!(verify_for(&reset, &c, Purpose::Verification, "key").is_none());
        assert!(verify_for(&reset, &c, Purpose::PasswordReset, "other").is_none());
        let auth = issue(&c, "abc", "key").expect("issued");
        assert!(verify_for(&auth, &c, Purpose::PasswordReset, "key").is_none());
    }
}
