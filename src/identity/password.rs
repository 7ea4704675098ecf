//! Password hashing: argon2id for every new hash (OWASP's parameters: 19 MiB,
//! two passes, one lane). Hashing costs about 10 ms of one core by design,
//! so it runs on blocking threads behind a semaphore sized to half the
//! cores: a sign-in flood queues up instead of exhausting memory or
//! starving the executor, and leaves the other half of the machine to
//! every other request. (With a hash per core the soak, whose sign-ins
//! are 1% of its requests but a third of its CPU, fell into a spiral: a
//! backlog of sign-ins took both cores, every other request slowed, the
//! open-loop load piled up, and for 15 s the p50 reached 3 s.)
//!
//! Argon2's working memory (19 MiB a hash) is kept between hashes rather
//! than allocated and freed for each: with a fresh buffer per sign-in the
//! process's resident memory swung by up to 19 MiB per hash in flight
//! (the soak sampled it anywhere between 0 and 2 buffers), the allocator
//! kept freed buffers in per-thread arenas, and every hash first zeroed
//! 19 MiB. At most one buffer per core is kept, as `Hasher` runs no more
//! hashes than that at once.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::{Output, ParamsString, PasswordHash, SaltString, rand_core::OsRng},
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
    let failed = |e: &dyn std::fmt::Display| PasswordError::Hash(e.to_string());
    let salt = SaltString::generate(&mut OsRng);
    let argon = argon2();
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_buf).map_err(|e| failed(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    hash_into(&argon, password.as_bytes(), salt_bytes, &mut out).map_err(|e| failed(&e))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params()).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(hash.to_string())
}

/// Working memory kept between hashes (see the module doc).
static SPARE: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// `argon` over the password and salt into `out`, in a kept buffer when
/// one of the right size is free.
fn hash_into(argon: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
    let count = argon.params().block_count();
    let kept = SPARE.lock().ok().and_then(|mut spare| {
        spare
            .iter()
            .position(|b| b.len() == count)
            .map(|i| spare.swap_remove(i))
    });
    let mut blocks = kept.unwrap_or_else(|| vec![Block::default(); count]);
    let result = argon.hash_password_into_with_memory(password, salt, out, &mut blocks[..]);
    // Only buffers of today's parameters are kept: a hash stored with
    // others (an older setting) is rare and pays its own allocation.
    if count == argon2().params().block_count()
        && let Ok(mut spare) = SPARE.lock()
        && spare.len() < cores()
    {
        spare.push(blocks);
    }
    result
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Whether `password` gives the argon2 hash `stored` under the
/// algorithm, version and parameters it names. The comparison of the
/// outputs is constant-time (`Output`'s equality).
fn verify_argon2(password: &str, stored: &PasswordHash<'_>) -> Option<bool> {
    let algorithm = Algorithm::try_from(stored.algorithm).ok()?;
    let version = match stored.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(stored).ok()?;
    let expected = stored.hash?;
    let mut salt_buf = [0u8; 64];
    let salt = stored.salt?.decode_b64(&mut salt_buf).ok()?;
    let mut out = vec![0u8; expected.len()];
    hash_into(
        &Argon2::new(algorithm, version, params),
        password.as_bytes(),
        salt,
        &mut out,
    )
    .ok()?;
    Some(Output::new(&out).ok()? == expected)
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
        Ok(parsed) => verify_argon2(password, &parsed).unwrap_or(false),
        Err(_) => false,
    }
}

/// Bounded, off-executor hashing for request handlers: at most one hash
/// per two cores runs at once. A request waits for its turn at most
/// `MAX_WAIT`, then is refused (503), so a sign-in flood costs the others
/// seconds, not minutes; and at most `WAITING_PER_CORE` per core wait at
/// all (past that, refused at once), so it cannot cost memory either.
///
/// The wait is bounded by time rather than by a short queue because the
/// queue's right length depends on the machine: with 64 waiting on two
/// loaded cores (the soak, tests/faults/RESULTS.md), a few seconds of CPU
/// contention filled it while each waiter would have been served within
/// two or three seconds, and dozens of sign-ins were refused for nothing.
#[derive(Clone)]
pub struct Hasher {
    slots: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    max_wait: Duration,
}

const WAITING_PER_CORE: usize = 256;
const MAX_WAIT: Duration = Duration::from_secs(5);

impl Default for Hasher {
    fn default() -> Self {
        let cores = cores();
        Self::with_limits(cores / 2, cores * WAITING_PER_CORE, MAX_WAIT)
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
    pub fn with_limits(running: usize, max_waiting: usize, max_wait: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(running.max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting,
            max_wait,
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
                tokio::time::timeout(self.max_wait, self.slots.acquire())
                    .await
                    .map_err(|_| PasswordError::Busy)?
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
        let hasher = Hasher::with_limits(1, 1, Duration::from_secs(60));
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

    #[tokio::test]
    async fn a_waiter_is_refused_once_its_wait_is_up() {
        // Room for many waiters, but a wait shorter than one hash: the
        // first runs, the second gives up (and stops counting as waiting).
        let hasher = Hasher::with_limits(1, 10, Duration::from_millis(1));
        let hash = hash_blocking("pw").expect("hash");
        let (a, b) = tokio::join!(
            hasher.verify("pw".into(), hash.clone()),
            hasher.verify("pw".into(), hash.clone()),
        );
        assert!(matches!(a, Ok(true)), "{a:?}");
        assert!(matches!(b, Err(PasswordError::Busy)), "{b:?}");
        assert_eq!(hasher.waiting.load(Ordering::Acquire), 0);
        // Positive control: with a wait longer than a hash, both are served.
        let patient = Hasher::with_limits(1, 10, Duration::from_secs(60));
        let (a, b) = tokio::join!(
            patient.verify("pw".into(), hash.clone()),
            patient.verify("pw".into(), hash),
        );
        assert!(matches!((a, b), (Ok(true), Ok(true))));
    }

    /// The kept-buffer path gives the argon2 crate's own results: a hash
    /// of ours verifies with the crate's verifier, one of the crate's
    /// (also with other parameters, which take a buffer of their own)
    /// verifies with ours, and a wrong password or a changed output fails.
    #[test]
    fn kept_memory_hashes_agree_with_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let ours = hash_blocking("correct horse").expect("hash");
        let parsed = PasswordHash::new(&ours).expect("parse");
        assert!(argon2().verify_password(b"correct horse", &parsed).is_ok());
        assert!(argon2().verify_password(b"wrong horse", &parsed).is_err());

        let salt = SaltString::generate(&mut OsRng);
        let theirs = argon2()
            .hash_password(b"battery staple", &salt)
            .expect("hash")
            .to_string();
        let small = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 3, 1, None).expect("params"),
        );
        let theirs_small = small
            .hash_password(b"battery staple", &salt)
            .expect("hash")
            .to_string();
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(4096, 2, 1, None).expect("params"),
        );
        let theirs_i = argon2i
            .hash_password(b"battery staple", &salt)
            .expect("hash")
            .to_string();
        for stored in [&theirs, &theirs_small, &theirs_i] {
            assert!(verify_blocking("battery staple", stored), "{stored}");
            assert!(!verify_blocking("battery stapler", stored), "{stored}");
        }
        // The same hash with one character of its output changed (an
        // inner one: every bit of it is data, so it still parses).
        let at = theirs.len() - 10;
        let old = &theirs[at..=at];
        let flipped = format!(
            "{}{}{}",
            &theirs[..at],
            if old == "A" { "B" } else { "A" },
            &theirs[at + 1..]
        );
        assert!(PasswordHash::new(&flipped).is_ok());
        assert!(!verify_blocking("battery staple", &flipped));
        // Many hashes in a row keep at most one buffer per core.
        for _ in 0..4 {
            assert!(verify_blocking("battery staple", &theirs));
        }
        assert!(SPARE.lock().expect("spare").len() <= cores());
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
