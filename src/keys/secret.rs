//! The key itself: `cairn_sk_` and 48 characters of `[A-Za-z0-9]` from the
//! operating system's generator (about 285 bits). The prefix makes a
//! leaked key easy to find (secret scanners, `grep`); only the SHA-256 of
//! the whole string is stored. A plain hash is enough here: a password
//! hash (argon2) exists to slow down guessing a low-entropy secret, and
//! this one cannot be guessed, so a lookup by hash costs one SHA-256.

use sha2::{Digest, Sha256};

pub const PREFIX: &str = "cairn_sk_";
const RANDOM_LEN: usize = 48;
/// Characters after `PREFIX` kept for display: enough to tell keys apart,
/// far too few to help guess the rest.
const SHOWN_LEN: usize = 8;

/// A new key: the whole secret (shown once), its hash and its display
/// prefix.
pub struct NewSecret {
    pub secret: String,
    pub hash: String,
    pub shown: String,
}

/// The secret never reaches a log through `{:?}`.
impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSecret").field("shown", &self.shown).finish()
    }
}

pub fn generate() -> NewSecret {
    let secret = format!("{PREFIX}{}", crate::random::alphanumeric(RANDOM_LEN));
    NewSecret {
        hash: hash(&secret),
        shown: secret[..PREFIX.len() + SHOWN_LEN].to_owned(),
        secret,
    }
}

/// The stored form of a presented key.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The key an `Authorization` header presents (`Bearer cairn_sk_…` or the
/// bare `cairn_sk_…` the PocketBase SDKs send), if it presents one.
pub fn presented(header: Option<&str>) -> Option<&str> {
    let value = crate::identity::credential(header?);
    value.starts_with(PREFIX).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_random_and_stored_as_hashes() {
        let a = generate();
        let b = generate();
        assert!(a.secret.starts_with(PREFIX));
        assert_eq!(a.secret.len(), PREFIX.len() + RANDOM_LEN);
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.hash, hash(&a.secret));
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(&a.secret[PREFIX.len()..]));
        assert!(a.secret.starts_with(&a.shown) && a.shown.len() == PREFIX.len() + SHOWN_LEN);
        assert!(!format!("{a:?}").contains(&a.secret));
    }

    #[test]
    fn headers_present_keys_in_both_forms() {
        assert_eq!(presented(Some("Bearer cairn_sk_abc")), Some("cairn_sk_abc"));
        assert_eq!(presented(Some("cairn_sk_abc")), Some("cairn_sk_abc"));
        assert_eq!(presented(Some(" Bearer  cairn_sk_abc ")), Some("cairn_sk_abc"));
        assert_eq!(presented(Some("bearer cairn_sk_abc")), Some("cairn_sk_abc"));
        assert_eq!(presented(Some("Bearer eyJhbGciOi")), None);
        assert_eq!(presented(None), None);
    }
}
