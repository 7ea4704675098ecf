//! The OAuth2 providers Cairn knows, the same names PocketBase 0.40
//! accepts, so a collection moved from PocketBase keeps its sign-in
//! buttons. Each is a description, not code: where it lives by default,
//! which scopes it asks for, how its token endpoint takes the client's
//! credentials, how its profile is asked for, and how the profile reads
//! (`catalog.rs`). The HTTP calls are shared (`exchange.rs`).
//!
//! An address becomes the user's email only where the provider vouches
//! that it is the user's and verified (a flag, a confirmation date, or a
//! list of verified addresses): an email links an existing account, so an
//! address taken on trust would be a way into someone else's account.
//! Where PocketBase takes an address on less, the catalog says so.

mod catalog;
mod id_token;
mod read;

use serde_json::{Map, Value};

pub use self::{
    id_token::{IdTokenError, unsigned_claims, verified_claims},
    read::primary_verified_email,
};

/// A user as an OAuth2 provider describes them.
#[derive(Debug, Clone, Default)]
pub struct ExternalUser {
    /// The provider's stable id for the user (OIDC `sub`).
    pub id: String,
    pub name: String,
    pub username: String,
    /// Empty unless the provider vouches that the address is verified:
    /// an unverified address must never link or create an account.
    pub email: String,
    pub avatar_url: String,
    /// The profile as the provider sent it.
    pub raw: Value,
}

/// How the token endpoint takes the client's id and secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// In the form, beside the code.
    Form,
    /// As HTTP Basic credentials (some providers take no other way).
    Basic,
}

/// A header value of a profile request.
#[derive(Debug, Clone, Copy)]
pub enum HeaderValue {
    Fixed(&'static str),
    /// The collection's client id for this provider.
    ClientId,
}

/// How the profile is asked for, with the granted token.
#[derive(Debug, Clone, Copy)]
pub enum Profile {
    /// `GET` the user info URL with these extra headers.
    Get(&'static [(&'static str, HeaderValue)]),
    /// `POST` this JSON (a GraphQL query) to the user info URL.
    PostJson(&'static str),
    /// No profile endpoint: the claims are the token answer's `id_token`,
    /// checked against the key set at the user info URL.
    IdToken { issuer: &'static str },
    /// OpenID Connect: `GET` the user info URL when there is one, else
    /// the `id_token`'s claims (checked against `extra.jwksURL`'s key set
    /// when given, from `extra.issuers` when given).
    Oidc,
}

/// Reads a profile (and the token answer, which some providers put the
/// address in) into a user, or says why this account may not sign in.
pub type Reader = fn(profile: &Value, grant: &Map<String, Value>) -> Result<ExternalUser, &'static str>;

/// Where a provider lists the user's addresses when its profile vouches
/// for none, and how to pick the verified primary one from the list.
#[derive(Clone, Copy)]
pub struct Emails {
    pub url: fn(user_info_url: &str) -> String,
    pub pick: fn(&Value) -> Option<String>,
}

pub struct Provider {
    /// The name in `oauth2.providers[].name`.
    pub name: &'static str,
    pub display_name: &'static str,
    pub auth_url: &'static str,
    pub token_url: &'static str,
    pub user_info_url: &'static str,
    /// Scopes for the authorization URL, space-separated there.
    pub scopes: &'static [&'static str],
    /// More parameters of the authorization URL (Apple answers the name
    /// and address scopes only to a form POST back).
    pub auth_params: &'static [(&'static str, &'static str)],
    /// Whether PKCE is used when the collection's config leaves it unset
    /// (some providers refuse its parameters).
    pub pkce: bool,
    pub client_auth: ClientAuth,
    pub profile: Profile,
    pub read: Reader,
    pub emails: Option<Emails>,
}

impl Provider {
    /// Reads the profile; the raw profile goes with the user.
    pub fn user(&self, raw: Value, grant: &Map<String, Value>) -> Result<ExternalUser, &'static str> {
        let mut user = (self.read)(&raw, grant)?;
        user.raw = raw;
        Ok(user)
    }
}

/// Every provider, in the order PocketBase's names sort.
pub fn all() -> &'static [Provider] {
    catalog::PROVIDERS
}

/// The provider of this name, if Cairn knows it.
pub fn by_name(name: &str) -> Option<&'static Provider> {
    all().iter().find(|p| p.name == name)
}

/// The text at `pointer` (a JSON pointer, `/data/0/id`; numbers as
/// their digits), or empty.
pub(crate) fn text_at(raw: &Value, pointer: &str) -> String {
    match raw.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// A flag some providers send as `true`, some as `"true"`, some as `1`.
pub(crate) fn flag_at(raw: &Value, pointer: &str) -> bool {
    match raw.pointer(pointer) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
