//! The installer: when a data folder has no superuser yet, `serve` prints
//! a link to the admin UI carrying a short-lived signed token; whoever
//! holds it may create the first superuser, once. The signing secret lives
//! only in this process, so a restart invalidates every installer token.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub const TOKEN_TTL: Duration = Duration::from_secs(30 * 60);
const TOKEN_TYPE: &str = "installer";

#[derive(Serialize, Deserialize)]
struct Claims {
    #[serde(rename = "type")]
    kind: String,
    exp: u64,
}

pub struct Installer {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl Default for Installer {
    fn default() -> Self {
        Self::new()
    }
}

impl Installer {
    pub fn new() -> Self {
        let secret = crate::random::alphanumeric(64);
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
        }
    }

    pub fn issue(&self) -> String {
        let claims = Claims {
            kind: TOKEN_TYPE.into(),
            exp: jsonwebtoken::get_current_timestamp() + TOKEN_TTL.as_secs(),
        };
        // HS256 over a small struct cannot fail to encode.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).unwrap_or_default()
    }

    /// Whether `token` is an unexpired installer token from this process.
    pub fn verify(&self, token: &str) -> bool {
        let token = crate::identity::credential(token);
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .is_ok_and(|data| data.claims.kind == TOKEN_TYPE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_their_own_secret() {
        let a = Installer::new();
        let b = Installer::new();
        let token = a.issue();
        assert!(a.verify(&token));
        assert!(a.verify(&format!("Bearer {token}")));
        assert!(!b.verify(&token));
        assert!(!a.verify("garbage"));
        assert!(!a.verify(""));
    }
}
