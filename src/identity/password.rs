//! Password hashing: argon2id for every new hash (OWASP's parameters: 19 MiB,
//! two passes, one lane). Hashing costs tens of milliseconds of one core by
//! design, so it runs on blocking threads behind a semaphore sized to the
//! cores: a sign-in flood queues up instead of exhausting memory or
//! starving the executor.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString, rand_core::OsRng},
};
use tokio::sync::Semaphore;

use crate::validation::FieldError;

/// PocketBase's bounds for password fields (its upper bound comes from
/// bcrypt; kept so the same passwords are valid on both).
pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 71;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("hashing failed: {0}")]
    Hash(String),
    #[error("the hashing worker stopped")]
    WorkerLost,
    /// Too many hashes already waiting: shed load rather than queue without
    /// end.
    #[error("too many password checks waiting")]
    Busy,
}

fn argon2() -> Argon2<'static> {
    // The defaults of the argon2 crate are OWASP's recommendation; named here
    // so that an upgrade of the crate cannot silently change them.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password against the length bounds.
pub fn check_policy(password: &str) -> Result<(), FieldError> {
    let len = password.chars().count();
    if password.is_empty() {
        Err(FieldError::required())
    } else if !(MIN_LEN..=MAX_LEN).contains(&len) {
        Err(FieldError::new(
            "validation_length_out_of_range",
            format!("The length must be between {MIN_LEN} and {MAX_LEN}."),
        ))
    } else {
        Ok(())
    }
}

/// Hashes on the calling thread; for the CLI and for use inside `Hasher`.
pub fn hash_blocking(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// PocketBase stores bcrypt hashes; an imported account keeps signing in
/// with its password, and is moved to argon2id on its next sign-in.
fn is_bcrypt(stored: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"].iter().any(|p| stored.starts_with(p))
}

/// Whether a stored hash should be replaced by a fresh argon2id hash.
pub fn needs_rehash(stored: &str) -> bool {
    is_bcrypt(stored)
}

/// Verifies on the calling thread. An unparseable stored hash never matches.
pub fn verify_blocking(password: &str, stored: &str) -> bool {
    if is_bcrypt(stored) {
        return bcrypt::verify(password, stored).unwrap_or(false);
    }
    match PasswordHash::new(stored) {
        Ok(parsed) => argon2().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Bounded, off-executor hashing for request handlers: at most one hash
/// per core runs at once, and at most `WAITING_PER_CORE` per core wait;
/// past that a request is refused at once (503) instead of queueing, so a
/// sign-in flood costs neither memory nor minutes of latency for everyone.
#[derive(Clone)]
pub struct Hasher {
    slots: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
}

const WAITING_PER_CORE: usize = 32;

impl Default for Hasher {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::with_limits(cores, cores * WAITING_PER_CORE)
    }
}

/// Counts one waiting request until dropped (also when its future is).
struct Waiting(Arc<AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Hasher {
    pub fn with_limits(running: usize, max_waiting: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(running.max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting,
        }
    }

    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        self.run(move || hash_blocking(&password)).await?
    }

    pub async fn verify(&self, password: String, stored: String) -> Result<bool, PasswordError> {
        self.run(move || verify_blocking(&password, &stored)).await
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let _slot = match self.slots.try_acquire() {
            Ok(slot) => slot,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
                    self.waiting.fetch_sub(1, Ordering::AcqRel);
                    return Err(PasswordError::Busy);
                }
                let _waiting = Waiting(self.waiting.clone());
                self.slots
                    .acquire()
                    .await
                    .map_err(|_| PasswordError::WorkerLost)?
            }
        };
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|_| PasswordError::WorkerLost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let hasher = Hasher::default();
        let hash = hasher.hash("correct horse".into()).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(
            hasher
                .verify("correct horse".into(), hash.clone())
                .await
                .expect("verify")
        );
        assert!(!hasher.verify("wrong horse".into(), hash).await.expect("verify"));
        assert!(!verify_blocking("x", "not a hash"));
    }

    #[tokio::test]
    async fn a_full_queue_sheds_load_instead_of_waiting() {
        let hasher = Hasher::with_limits(1, 1);
        let hash = hash_blocking("pw").expect("hash");
        // One running, one waiting: the third is refused at once.
        let (a, b, c) = tokio::join!(
            hasher.verify("pw".into(), hash.clone()),
            hasher.verify("pw".into(), hash.clone()),
            hasher.verify("pw".into(), hash.clone()),
        );
        let outcomes = [a, b, c];
        assert_eq!(outcomes.iter().filter(|r| matches!(r, Ok(true))).count(), 2);
        assert_eq!(
            outcomes
                .iter()
                .filter(|r| matches!(r, Err(PasswordError::Busy)))
                .count(),
            1
        );
        // Once the queue drains, requests are served again.
        assert!(hasher.verify("pw".into(), hash).await.expect("verify"));
    }

    #[test]
    fn bcrypt_hashes_from_pocketbase_verify() {
        let stored = bcrypt::hash("imported secret", 4).expect("bcrypt");
        assert!(verify_blocking("imported secret", &stored));
        assert!(!verify_blocking("other secret", &stored));
        assert!(needs_rehash(&stored));
        assert!(!needs_rehash(&hash_blocking("x").expect("hash")));
    }

    #[test]
    fn policy_bounds() {
        assert_eq!(
            check_policy("").map_err(|e| e.code),
            Err("validation_required".into())
        );
        assert!(check_policy("1234567").is_err());
        assert!(check_policy("12345678").is_ok());
        assert!(check_policy(&"x".repeat(72)).is_err());
    }
}
