//! Apple's client secret: not a fixed string but a JWT the app signs with
//! a private key from Apple's developer account (ES256, at most six months
//! long), which the `apple` provider's `clientSecret` then holds. As
//! PocketBase's `POST /api/settings/apple/generate-client-secret`, Cairn
//! makes it for a superuser from the team id, the key's id and the key, so
//! nobody needs a script of their own. The key is used once and not kept.

use base64::{Engine, engine::general_purpose::STANDARD};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde::Serialize;
use serde_json::json;

use crate::validation::{ErrorTree, FieldError};

/// Apple refuses a client secret that lasts longer (about six months).
pub const MAX_DURATION: i64 = 15_777_000;
const AUDIENCE: &str = "https://appleid.apple.com";
const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

/// What the superuser gives.
pub struct AppleSecretInput {
    /// The Services ID the secret is for (the provider's client id).
    pub client_id: String,
    pub team_id: String,
    pub key_id: String,
    /// The key as Apple gives it: PKCS#8 PEM.
    pub private_key: String,
    /// Seconds.
    pub duration: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum AppleSecretError {
    #[error("invalid input")]
    Invalid(ErrorTree),
    /// The key did not sign: not an EC P-256 key, or not a key at all.
    #[error("{0}")]
    Key(String),
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: [&'a str; 1],
    exp: i64,
    iat: i64,
}

fn exactly(len: usize) -> FieldError {
    FieldError::new(
        "validation_length_invalid",
        format!("The length must be exactly {len}."),
    )
    .with_params(json!({"min": len, "max": len}))
}

/// The DER inside a PKCS#8 PEM block, if that is what `pem` is.
fn pem_body(pem: &str) -> Option<String> {
    let inner = pem.trim().strip_prefix(PEM_BEGIN)?.strip_suffix(PEM_END)?;
    let body: String = inner.chars().filter(|c| !c.is_whitespace()).collect();
    (!body.is_empty()).then_some(body)
}

fn check(input: &AppleSecretInput) -> ErrorTree {
    let mut errors = ErrorTree::new();
    if input.client_id.is_empty() {
        errors.add(&["clientId"], FieldError::required());
    }
    // Apple's ids are ten ASCII letters and digits; counted in bytes.
    for (key, value) in [("teamId", &input.team_id), ("keyId", &input.key_id)] {
        if value.is_empty() {
            errors.add(&[key], FieldError::required());
        } else if value.len() != 10 {
            errors.add(&[key], exactly(10));
        }
    }
    if input.private_key.is_empty() {
        errors.add(&["privateKey"], FieldError::required());
    } else if pem_body(&input.private_key).is_none() {
        errors.add(&["privateKey"], FieldError::bad_format());
    }
    if input.duration == 0 {
        errors.add(&["duration"], FieldError::required());
    } else if input.duration < 1 {
        errors.add(
            &["duration"],
            FieldError::new(
                "validation_min_greater_equal_than_required",
                "Must be no less than 1.",
            )
            .with_params(json!({"threshold": 1})),
        );
    } else if input.duration > MAX_DURATION {
        errors.add(
            &["duration"],
            FieldError::new(
                "validation_max_less_equal_than_required",
                format!("Must be no greater than {MAX_DURATION}."),
            )
            .with_params(json!({"threshold": MAX_DURATION})),
        );
    }
    errors
}

/// The signed client secret, valid from `now` (Unix seconds).
pub fn generate(input: &AppleSecretInput, now: i64) -> Result<String, AppleSecretError> {
    let errors = check(input);
    if !errors.is_empty() {
        return Err(AppleSecretError::Invalid(errors));
    }
    let body = pem_body(&input.private_key).unwrap_or_default();
    let der = STANDARD
        .decode(body)
        .map_err(|_| AppleSecretError::Key("the private key is not base64 inside its PEM lines".into()))?;
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(input.key_id.clone());
    let claims = Claims {
        iss: &input.team_id,
        sub: &input.client_id,
        aud: [AUDIENCE],
        exp: now + input.duration,
        iat: now,
    };
    encode(&header, &claims, &EncodingKey::from_ec_der(&der))
        .map_err(|_| AppleSecretError::Key("the private key is not an EC P-256 (ES256) key".into()))
}
