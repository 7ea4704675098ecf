//! A provider's `id_token` (Apple's only source of who signed in): a JWT
//! signed by the provider, checked against its published key set. The
//! key is the one the token's `kid` names, and only a public-key
//! algorithm is accepted, so a token signed with a shared secret (or
//! `none`) never passes; the issuer, the audience (this app's client id)
//! and the expiry are checked as well.

use jsonwebtoken::{
    Algorithm, DecodingKey, Validation, decode, decode_header,
    jwk::{AlgorithmParameters, JwkSet},
};
use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdTokenError {
    #[error("the token answer carries no id_token")]
    Missing,
    #[error("the id_token is not a JWT")]
    Malformed,
    #[error("the id_token names no key of the provider's key set")]
    UnknownKey,
    #[error("the id_token's signing algorithm is not accepted")]
    Algorithm,
    #[error("the id_token does not verify: {0}")]
    Invalid(String),
}

/// Public-key algorithms only: an HMAC "signature" would be made with a
/// key anyone holding the key set has.
const ACCEPTED: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The claims of `token` once it verifies against `key_set` (a JWKS
/// document), issued by `issuer` for `client_id`.
pub fn verified_claims(
    token: &str,
    key_set: &Value,
    client_id: &str,
    issuer: &str,
) -> Result<Value, IdTokenError> {
    if token.is_empty() {
        return Err(IdTokenError::Missing);
    }
    let header = decode_header(token).map_err(|_| IdTokenError::Malformed)?;
    if !ACCEPTED.contains(&header.alg) {
        return Err(IdTokenError::Algorithm);
    }
    let keys: JwkSet = serde_json::from_value(key_set.clone()).map_err(|_| IdTokenError::UnknownKey)?;
    let jwk = header
        .kid
        .as_deref()
        .and_then(|kid| keys.find(kid))
        .ok_or(IdTokenError::UnknownKey)?;
    if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
        return Err(IdTokenError::Algorithm);
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|_| IdTokenError::UnknownKey)?;
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[client_id]);
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| IdTokenError::Invalid(e.to_string()))
}
