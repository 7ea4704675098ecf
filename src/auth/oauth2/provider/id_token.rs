//! A provider's `id_token` (Apple's only source of who signed in, and an
//! OIDC provider's when it has no user info URL): a JWT signed by the
//! provider, checked against its published key set. The key is the one
//! the token's `kid` names, and only a public-key algorithm is accepted,
//! so a token signed with a shared secret (or `none`) never passes; the
//! issuer, the audience (this app's client id) and the expiry are checked
//! as well, with five minutes' leeway for clocks that differ.
//!
//! An OIDC provider configured without a key set (`extra.jwksURL`) has its
//! token's claims checked but not its signature, as PocketBase does: the
//! token came straight from the provider's token endpoint over the
//! connection Cairn opened, which is what OpenID Connect allows.

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

/// Clocks may differ by this much (seconds).
const LEEWAY: u64 = 300;

/// The claims of `token` once it verifies against `key_set` (a JWKS
/// document), issued for `client_id` by one of `issuers` (any, if none).
pub fn verified_claims(
    token: &str,
    key_set: &Value,
    client_id: &str,
    issuers: &[&str],
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
    validation.leeway = LEEWAY;
    validation.set_audience(&[client_id]);
    if !issuers.is_empty() {
        validation.set_issuer(issuers);
    }
    validation.set_required_spec_claims(&["exp", "aud", "sub"]);
    decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| IdTokenError::Invalid(e.to_string()))
}

/// The claims of `token` with its audience, times and issuer checked but
/// not its signature (see the module's note on when that is enough).
pub fn unsigned_claims(
    token: &str,
    client_id: &str,
    issuers: &[&str],
    now: i64,
) -> Result<Value, IdTokenError> {
    if token.is_empty() {
        return Err(IdTokenError::Missing);
    }
    let claims = jsonwebtoken::dangerous::insecure_decode::<Value>(token)
        .map_err(|_| IdTokenError::Malformed)?
        .claims;
    let invalid = |why: &str| Err(IdTokenError::Invalid(why.into()));
    let audience_ok = match &claims["aud"] {
        Value::String(a) => a == client_id,
        Value::Array(list) => list.iter().any(|a| a == client_id),
        _ => false,
    };
    if !audience_ok {
        return invalid("InvalidAudience");
    }
    let leeway = LEEWAY as i64;
    match claims["exp"].as_i64() {
        Some(exp) if exp + leeway >= now => {}
        _ => return invalid("ExpiredSignature"),
    }
    if claims["iat"].as_i64().is_some_and(|iat| iat - leeway > now) {
        return invalid("ImmatureSignature");
    }
    let issuer = claims["iss"].as_str().unwrap_or_default();
    if !issuers.is_empty() && !issuers.contains(&issuer) {
        return invalid("InvalidIssuer");
    }
    Ok(claims)
}
