//! The token options of an auth collection: for each kind of token it
//! signs, a lifetime and a signing secret (`authToken`,
//! `verificationToken`, …). A secret is never empty: reading a collection
//! whose secret is missing fails (`OptionsError::MissingSecret`), and a
//! save that would store one is refused, so no token is ever signed with
//! the record's key alone.

use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};

use super::{OptionsError, group};
use crate::validation::{ErrorTree, FieldError};

/// The kinds of token a collection signs, each with its own option group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Auth,
    Verification,
    PasswordReset,
    EmailChange,
    File,
}

impl TokenKind {
    pub const ALL: [Self; 5] = [
        Self::Auth,
        Self::PasswordReset,
        Self::EmailChange,
        Self::Verification,
        Self::File,
    ];

    /// The option group that configures this kind (`authToken`, …).
    pub fn option_key(self) -> &'static str {
        match self {
            Self::Auth => "authToken",
            Self::Verification => "verificationToken",
            Self::PasswordReset => "passwordResetToken",
            Self::EmailChange => "emailChangeToken",
            Self::File => "fileToken",
        }
    }

    /// PocketBase's lifetime for a new collection, in seconds; also the
    /// lifetime of a stored group that lacks one.
    pub fn default_duration(self) -> u64 {
        match self {
            Self::Auth => 432_000,
            Self::Verification => 86_400,
            Self::PasswordReset | Self::EmailChange => 1_800,
            Self::File => 180,
        }
    }
}

/// A token signing secret: never empty, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    const GENERATED_LEN: usize = 50;

    /// A fresh random secret, as a new collection gets.
    pub fn generate() -> Self {
        Self(crate::random::alphanumeric(Self::GENERATED_LEN))
    }

    /// `None` for a missing, non-text or blank secret.
    fn parse(raw: Option<&Value>) -> Option<Self> {
        let s = raw?.as_str()?;
        (!s.trim().is_empty()).then(|| Self(s.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// One token group: `{duration, secret}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenOptions {
    /// Lifetime in seconds.
    pub duration: u64,
    pub secret: Secret,
}

/// Every token group of a collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Tokens {
    auth: TokenOptions,
    verification: TokenOptions,
    password_reset: TokenOptions,
    email_change: TokenOptions,
    file: TokenOptions,
}

impl Tokens {
    pub fn get(&self, kind: TokenKind) -> &TokenOptions {
        match kind {
            TokenKind::Auth => &self.auth,
            TokenKind::Verification => &self.verification,
            TokenKind::PasswordReset => &self.password_reset,
            TokenKind::EmailChange => &self.email_change,
            TokenKind::File => &self.file,
        }
    }

    /// Every group with its default lifetime (`auth_duration` for auth
    /// tokens) and a fresh secret.
    pub(super) fn generate(auth_duration: u64) -> Self {
        let fresh = |kind: TokenKind| TokenOptions {
            duration: if kind == TokenKind::Auth {
                auth_duration
            } else {
                kind.default_duration()
            },
            secret: Secret::generate(),
        };
        Self {
            auth: fresh(TokenKind::Auth),
            verification: fresh(TokenKind::Verification),
            password_reset: fresh(TokenKind::PasswordReset),
            email_change: fresh(TokenKind::EmailChange),
            file: fresh(TokenKind::File),
        }
    }

    pub(super) fn parse(collection: &str, options: &Map<String, Value>) -> Result<Self, OptionsError> {
        let read = |kind: TokenKind| {
            let g = group(Some(options), kind.option_key());
            let secret = Secret::parse(g.and_then(|g| g.get("secret"))).ok_or_else(|| {
                OptionsError::MissingSecret {
                    collection: collection.to_owned(),
                    option: kind.option_key(),
                }
            })?;
            let duration = g
                .and_then(|g| g.get("duration"))
                .and_then(Value::as_u64)
                .unwrap_or(kind.default_duration());
            Ok(TokenOptions { duration, secret })
        };
        Ok(Self {
            auth: read(TokenKind::Auth)?,
            verification: read(TokenKind::Verification)?,
            password_reset: read(TokenKind::PasswordReset)?,
            email_change: read(TokenKind::EmailChange)?,
            file: read(TokenKind::File)?,
        })
    }

    /// The groups as stored, keyed by option name.
    pub(super) fn insert_json(&self, out: &mut Map<String, Value>) {
        for kind in TokenKind::ALL {
            out.insert(kind.option_key().into(), json!(self.get(kind)));
        }
    }
}

/// Refuses to save an auth collection without every token secret, with
/// PocketBase's error (a client that creates a collection with
/// `"authToken": {"secret": ""}` would otherwise sign with no secret).
pub fn validate_secrets(
    options: &Map<String, Value>,
    old: Option<&Map<String, Value>>,
    errors: &mut ErrorTree,
) {
    let secret_of = |o: Option<&Map<String, Value>>, kind: TokenKind| {
        group(o, kind.option_key()).and_then(|g| g.get("secret")).cloned()
    };
    for kind in TokenKind::ALL {
        let secret = secret_of(Some(options), kind);
        let Some(parsed) = Secret::parse(secret.as_ref()) else {
            errors.add(&[kind.option_key(), "secret"], FieldError::required());
            continue;
        };
        // A new secret is held to PocketBase's bounds; one already stored
        // (an import's, say) is left as it is.
        let len = parsed.expose().chars().count();
        let changed = old.is_none_or(|o| secret_of(Some(o), kind) != secret);
        if changed && !(SECRET_MIN..=SECRET_MAX).contains(&len) {
            errors.add(
                &[kind.option_key(), "secret"],
                FieldError::new(
                    "validation_length_out_of_range",
                    format!("The length must be between {SECRET_MIN} and {SECRET_MAX}."),
                )
                .with_params(json!({"min": SECRET_MIN, "max": SECRET_MAX})),
            );
        }
    }
}

/// The lengths a secret a client sets may have.
const SECRET_MIN: usize = 30;
const SECRET_MAX: usize = 255;

/// Whether the secret that signs a collection's auth tokens differs
/// between two versions of its options (a rotation: every token it
/// signed ends, and `AccountHooks::signed_out` runs).
pub fn auth_secret_changed(old: &Map<String, Value>, new: &Map<String, Value>) -> bool {
    let secret = |o: &Map<String, Value>| {
        group(Some(o), TokenKind::Auth.option_key())
            .and_then(|g| g.get("secret"))
            .cloned()
    };
    secret(old) != secret(new)
}
