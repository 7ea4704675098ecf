//! One-time codes by email (`request-otp` / `auth-with-otp`). A code is
//! stored only as a hash, expires after the collection's `otp.duration`,
//! and survives a few wrong guesses only: with 10^8 codes and
//! `MAX_ATTEMPTS` tries per code, guessing is hopeless.
//!
//! An unknown address gets an `otpId` like any other (one that matches no
//! code), so the answer does not reveal which addresses have accounts.

use std::sync::Arc;

use rand::Rng;
use rusqlite::{OptionalExtension, params};

use super::{
    account,
    deps::AuthDeps,
    flows::FlowError,
    password_signin,
    signin::{Method, SignedIn},
};
use crate::{
    identity::email::Email,
    mail::templates::Template,
    schema::{Collection, auth_options::OtpOptions},
    store::StoreError,
    validation::{FieldError, FieldErrors},
};

/// Wrong codes one OTP tolerates before it is discarded.
pub const MAX_ATTEMPTS: i64 = 5;
const INVALID: &str = "Invalid or expired OTP.";

/// An auth collection with OTP sign-in enabled. Checked before the body
/// is read: PocketBase refuses a disabled collection before anything
/// else, a malformed address included.
pub struct Enabled {
    c: Arc<Collection>,
    /// The collection's code length and lifetime.
    length: u64,
    duration: u64,
}

impl Enabled {
    pub fn check(c: Arc<Collection>) -> Result<Self, FlowError> {
        match c.auth().map(|a| &a.otp) {
            Some(&OtpOptions {
                enabled: true,
                length,
                duration,
                ..
            }) => Ok(Self { c, length, duration }),
            _ => Err(FlowError::Forbidden(
                "The collection is not configured to allow OTP authentication.",
            )),
        }
    }
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Removes expired one-time passwords (the scheduled cleanup; a request
/// also clears them as it issues a new one). Returns how many went.
pub async fn purge_expired(db: &crate::store::Database) -> Result<usize, StoreError> {
    db.write(|tx| Ok(tx.execute("DELETE FROM _otps WHERE expires <= ?1", [now_secs()])?))
        .await
}

fn digits(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// Mails a fresh code to the account with `email` and answers its id.
pub async fn request(auth: &AuthDeps<'_>, otp: Enabled, email: &Email) -> Result<String, FlowError> {
    let Enabled { c, length, duration } = otp;
    let otp_id = crate::random::lower_alphanumeric(15);
    let len = length.clamp(4, 32) as usize;
    let code = digits(len);
    // Hashed before the address is looked up: hashing is most of this
    // request's time, and an unknown address must take as long as a known
    // one, or the time would tell which addresses have accounts.
    let hash = auth.hasher.hash(code.clone()).await?;
    let found = account::by_email(auth.db, c.clone(), email.to_string()).await?;
    let duration = i64::try_from(duration).unwrap_or(i64::MAX);
    let (id, c_id, record, to) = (
        otp_id.clone(),
        c.id.clone(),
        found.as_ref().map(|a| a.id.clone()),
        found
            .as_ref()
            .map_or_else(|| email.to_string(), |a| a.email.clone()),
    );
    // The code is stored (and, for an address with no account, taken
    // back in the same transaction), and the mail sent or pretended: an
    // unknown address costs what a known one does.
    auth.db
        .write(move |tx| {
            // Expired codes of anyone are dropped on the way.
            tx.execute("DELETE FROM _otps WHERE expires <= ?1", [now_secs()])?;
            tx.execute(
                "INSERT INTO _otps (id, collectionRef, recordRef, password, sentTo, expires, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    id,
                    c_id,
                    record.as_deref().unwrap_or_default(),
                    hash,
                    to,
                    now_secs().saturating_add(duration),
                    crate::datetime::now()
                ],
            )?;
            if record.is_none() {
                tx.execute("DELETE FROM _otps WHERE id = ?1", [&id])?;
            }
            Ok::<_, StoreError>(())
        })
        .await?;
    let Some(account) = found else {
        auth.mailer
            .pretend(&c, Template::Otp, email.as_str(), &[("OTP", &code)])
            .await?;
        return Ok(otp_id);
    };
    auth.mailer
        .send_template(
            &c,
            Template::Otp,
            &account.email,
            &account.record,
            &[("OTP", &code)],
        )
        .await?;
    Ok(otp_id)
}

struct Stored {
    record: String,
    hash: String,
    sent_to: String,
}

/// Checks `code` against OTP `otp_id`; a right code is used up, a wrong
/// one counts against the OTP's attempts.
pub async fn sign_in(
    auth: &AuthDeps<'_>,
    Enabled { c, .. }: Enabled,
    otp_id: &str,
    code: &str,
    mfa_id: Option<String>,
) -> Result<SignedIn, FlowError> {
    let mut errors = FieldErrors::new();
    for (name, value) in [("otpId", otp_id), ("password", code)] {
        if value.is_empty() {
            errors.insert(name.into(), FieldError::required());
        }
    }
    if !errors.is_empty() {
        return Err(FlowError::Invalid(errors));
    }
    let (id, c_id) = (otp_id.to_owned(), c.id.clone());
    let stored = auth
        .db
        .read(move |conn| {
            conn.query_row(
                "SELECT recordRef, password, sentTo FROM _otps
                 WHERE id = ?1 AND collectionRef = ?2 AND expires > ?3 AND attempts < ?4",
                params![id, c_id, now_secs(), MAX_ATTEMPTS],
                |r| {
                    Ok(Stored {
                        record: r.get(0)?,
                        hash: r.get(1)?,
                        sent_to: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(StoreError::from)
        })
        .await?
        .ok_or(FlowError::Refused(INVALID))?;
    let right = auth.hasher.verify(code.to_owned(), stored.hash).await?;
    let id = otp_id.to_owned();
    auth.db
        .write(move |tx| {
            if right {
                tx.execute("DELETE FROM _otps WHERE id = ?1", [&id])?;
            } else {
                tx.execute("UPDATE _otps SET attempts = attempts + 1 WHERE id = ?1", [&id])?;
                tx.execute(
                    "DELETE FROM _otps WHERE id = ?1 AND attempts >= ?2",
                    params![id, MAX_ATTEMPTS],
                )?;
            }
            Ok::<_, StoreError>(())
        })
        .await?;
    if !right {
        return Err(FlowError::Refused(INVALID));
    }
    let mut account = account::by_id(auth.db, c.clone(), stored.record)
        .await?
        .ok_or(FlowError::Refused(INVALID))?;
    password_signin::check_auth_rule(auth.schema, auth.db, &c, &account.id, Method::Otp).await?;
    // The code reached the address, which proves it, as a verification
    // mail would.
    if !account.verified && account.email.eq_ignore_ascii_case(&stored.sent_to) {
        let verify = account::Change {
            verified: Some(true),
            ..account::Change::default()
        };
        account = account::change(auth, c.clone(), &account.id, verify).await?;
    }
    Ok(signed_in(c, account, mfa_id))
}

fn signed_in(collection: Arc<Collection>, account: account::Account, mfa_id: Option<String>) -> SignedIn {
    SignedIn {
        collection,
        id: account.id,
        token_key: account.token_key,
        record: account.record,
        method: Method::Otp,
        meta: None,
        mfa_id,
    }
}
