//! Who a request is from, and the credentials' building blocks: the
//! caller value (`Caller`, the signed-in `AuthRecord`, the token it
//! `Presented`), email addresses and password hashing. Records (rules,
//! hidden fields, password fields) and auth (sign-in, sessions, flows)
//! both use these; they live below both so that neither has to import
//! the other for them. Resolving a token to a caller is auth's
//! (`auth::caller`).

pub mod email;
pub mod key;
pub mod password;

use std::sync::Arc;

use serde_json::{Map, Value};

pub use self::key::{KeyAction, KeyGrant};
use crate::schema::{Collection, defaults};

/// The credential an `Authorization` header value carries: the value
/// without its `Bearer ` scheme, which is optional (the PocketBase SDKs
/// send the bare token) and, as every HTTP auth scheme, case-insensitive
/// (RFC 9110 §11.1; PocketBase takes `bearer ` and `BEARER ` too).
/// Auth tokens and API keys (`keys::presented`) are both read through it.
pub fn credential(header: &str) -> &str {
    let raw = header.trim();
    let scheme = "bearer ";
    match raw.get(..scheme.len()) {
        Some(head) if head.eq_ignore_ascii_case(scheme) => raw[scheme.len()..].trim(),
        _ => raw,
    }
}

#[derive(Debug)]
pub struct AuthRecord {
    pub collection: Arc<Collection>,
    pub id: String,
    pub token_key: String,
    /// The record as the API shows it.
    pub record: Map<String, Value>,
    /// The record with its hidden fields, as rules see it under
    /// `@request.auth` (PocketBase's rules see the whole record, so a
    /// hidden `role` or `banned` can decide access). Never sent to a
    /// client; shared, not copied, into each request's rule context.
    pub whole: Arc<Map<String, Value>>,
}

#[derive(Debug, Clone)]
pub enum Caller {
    Guest,
    /// A signed-in record, and the token it signed in with.
    Record(Arc<AuthRecord>, Presented),
}

/// The verified claims of the caller's token, kept for endpoints that
/// answer about the token itself (auth-refresh).
#[derive(Debug, Clone)]
pub struct Presented {
    pub token: String,
    pub refreshable: bool,
    /// The session the token was issued for, if any (`auth::sessions`).
    pub session: Option<String>,
    /// Set when the credential was an API key (`keys`) rather than a
    /// token: what the key narrows the record's rights to.
    pub key: Option<Arc<KeyGrant>>,
}

impl Caller {
    /// The signed-in record as rules see it (`@request.auth`), hidden
    /// fields included; `None` for guests.
    pub fn rule_auth(&self) -> Option<Arc<Map<String, Value>>> {
        match self {
            Self::Record(r, _) => Some(r.whole.clone()),
            Self::Guest => None,
        }
    }

    pub fn is_superuser(&self) -> bool {
        matches!(self, Self::Record(r, _) if r.collection.id == defaults::SUPERUSERS_ID)
    }

    /// Whether the caller has every right of a superuser: one in person,
    /// or through an API key without scopes. Only such a caller may do
    /// what only superusers may, and its own filters and sorts compile as
    /// trusted (hidden fields, `@collection.*`, relations past their list
    /// rules); a key with scopes must not read beyond them by probing.
    pub fn is_full_superuser(&self) -> bool {
        self.is_superuser() && self.key().is_none_or(|k| k.scopes.is_empty())
    }

    /// The only collections the caller's own filters and sorts may enter
    /// through relations (`query::compile::Scope::reach`): those its API
    /// key's scopes let it list or view; `None` when nothing narrows it
    /// (no key, or a key without scopes, which is its record).
    pub fn filter_reach(&self) -> Option<&[String]> {
        self.key().and_then(|k| k.filter_reach())
    }

    /// The API key the caller presented, if it was one.
    pub fn key(&self) -> Option<&Arc<KeyGrant>> {
        match self {
            Self::Record(_, p) => p.key.as_ref(),
            Self::Guest => None,
        }
    }

    /// Whether the caller may take `action` on collection `collection_id`
    /// as far as its credential goes: always, unless it is an API key
    /// whose scopes leave it out. The collection's rules still apply.
    pub fn may(&self, collection_id: &str, action: KeyAction) -> bool {
        self.key().is_none_or(|k| k.allows(collection_id, action))
    }

    pub fn record_id(&self) -> Option<&str> {
        match self {
            Self::Record(r, _) => Some(&r.id),
            Self::Guest => None,
        }
    }
}
