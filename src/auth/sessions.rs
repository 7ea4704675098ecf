//! Sessions: Cairn's refresh tokens, beside PocketBase's access tokens.
//!
//! Every sign-in opens a session and hands out an opaque refresh token.
//! Only its SHA-256 is stored. Refreshing retires the presented token and
//! returns a new one; a retired token presented again means it leaked (or
//! was stolen and used first), so the whole session ends, for whoever holds
//! it. A session also ends when its record's `tokenKey` changes (a new
//! password), when it is revoked by its owner, or when it expires.
//!
//! Access tokens issued for a session carry its id (`sid`), so ending a
//! session also ends the access tokens it issued, within the time-to-live
//! of the small cache of session states kept here.

use std::time::Duration;

use moka::sync::Cache;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use crate::schema::auth_options::SessionOptions;
use crate::{
    datetime,
    schema::Collection,
    store::{Database, StoreError},
};

const REFRESH_TOKEN_LEN: usize = 48;
const SESSION_ID_LEN: usize = 15;

/// Where a sign-in came from, as the sessions list shows it.
#[derive(Debug, Clone, Default)]
pub struct Device {
    pub user_agent: String,
    pub ip: String,
}

/// A session as its owner sees it (the API's shape of it is the edge's:
/// `api::sessions`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub id: String,
    pub user_agent: String,
    pub ip: String,
    pub created: String,
    pub last_used: String,
    pub expires: String,
    /// Whether this is the session of the token that asked.
    pub current: bool,
}

/// A refresh token to hand out as an HttpOnly cookie, and how long the
/// cookie should live (the collection's `sessions.refreshTokenDuration`).
/// The cookie itself (name, path, attributes) is the edge's to write.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshCookie {
    /// The auth collection the session is of (the cookie is named by it).
    pub collection_id: String,
    pub token: String,
    /// Seconds.
    pub max_age: u64,
}

/// The token never reaches a log.
impl std::fmt::Debug for RefreshCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshCookie")
            .field("collection_id", &self.collection_id)
            .field("token", &"<redacted>")
            .field("max_age", &self.max_age)
            .finish()
    }
}

impl RefreshCookie {
    pub fn new(issued: &Issued, c: &Collection) -> Self {
        Self {
            collection_id: c.id.clone(),
            token: issued.refresh_token.clone(),
            max_age: SessionOptions::of(c).refresh_token_duration,
        }
    }
}

/// A new refresh token and the session it belongs to.
#[derive(Debug)]
pub struct Issued {
    pub session_id: String,
    pub refresh_token: String,
    pub collection_id: String,
    pub record_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Unknown, expired or ended: nothing to refresh.
    #[error("invalid or expired refresh token")]
    Invalid,
    /// A retired refresh token came back: the session has been ended.
    #[error("refresh token reuse; session {session_id} revoked")]
    Reused {
        session_id: String,
        collection_id: String,
        record_id: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for SessionError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Store(err.into())
    }
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn after(seconds: u64) -> String {
    let secs = i64::try_from(seconds)
        .unwrap_or(i64::MAX / 2)
        .min(100 * 365 * 86_400);
    datetime::format(chrono::Utc::now() + chrono::Duration::seconds(secs))
}

/// Session states by id, so checking an access token's session does not
/// read the database on every request.
pub struct Sessions {
    active: Cache<String, bool>,
    /// Session checks answered from `active`, and those that read.
    pub lookups: crate::stats::HitRatio,
}

impl Default for Sessions {
    fn default() -> Self {
        Self {
            active: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(30))
                .build(),
            lookups: Default::default(),
        }
    }
}

impl Sessions {
    /// Forgets every cached state (the database was replaced by a restore).
    pub fn forget_all(&self) {
        self.active.invalidate_all();
    }

    /// Opens a session for a record that has just signed in.
    pub async fn open(
        &self,
        db: &Database,
        c: &Collection,
        record_id: &str,
        token_key: &str,
        device: Device,
        then: impl FnOnce(&Connection) -> rusqlite::Result<()> + Send + 'static,
    ) -> Result<Issued, StoreError> {
        let refresh_token = crate::random::alphanumeric(REFRESH_TOKEN_LEN);
        let issued = Issued {
            session_id: crate::random::lower_alphanumeric(SESSION_ID_LEN),
            refresh_token,
            collection_id: c.id.clone(),
            record_id: record_id.to_owned(),
        };
        let (id, token_hash, key_hash) = (
            issued.session_id.clone(),
            sha256_hex(&issued.refresh_token),
            sha256_hex(token_key),
        );
        let (cid, rid) = (c.id.clone(), record_id.to_owned());
        let expires = after(SessionOptions::of(c).refresh_token_duration);
        db.write(move |tx| {
            let now = datetime::now();
            // Ended sessions are removed by the scheduled clean-up
            // (`purge_ended`), not here: a sign-in runs on the one writer,
            // and a soak showed pruning on every sign-in slowing every
            // write as the table grew.
            tx.prepare_cached(
                "INSERT INTO _sessions (id, collectionId, recordId, tokenHash, keyHash, userAgent, ip, created, lastUsed, expires)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)",
            )?
            .execute(params![id, cid, rid, token_hash, key_hash, device.user_agent, device.ip, now, expires])?;
            then(tx)?;
            Ok::<_, StoreError>(())
        })
        .await?;
        self.active.insert(issued.session_id.clone(), true);
        Ok(issued)
    }

    /// Retires `refresh_token` and issues the next one of its session.
    /// `current_key` gives the record's current `tokenKey`, to end sessions
    /// opened before a password change.
    pub async fn rotate(
        &self,
        db: &Database,
        refresh_token: &str,
        current_key: impl Fn(&Connection, &str, &str) -> rusqlite::Result<Option<String>> + Send + 'static,
        durations: impl Fn(&str) -> Option<u64> + Send + 'static,
    ) -> Result<Issued, SessionError> {
        if refresh_token.is_empty() || refresh_token.len() > 256 {
            return Err(SessionError::Invalid);
        }
        let presented = sha256_hex(refresh_token);
        let next = crate::random::alphanumeric(REFRESH_TOKEN_LEN);
        let next_hash = sha256_hex(&next);
        let outcome = db
            .write(move |tx| -> Result<Result<(String, String, String), SessionError>, StoreError> {
                let now = datetime::now();
                let live: Option<(String, String, String, String, String, String)> = tx
                    .prepare_cached(
                        "SELECT id, collectionId, recordId, keyHash, expires, revoked FROM _sessions WHERE tokenHash = ?1",
                    )?
                    .query_row([&presented], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
                    })
                    .optional()?;
                let Some((id, cid, rid, key_hash, expires, revoked)) = live else {
                    // Not a current token: a retired one means reuse.
                    let reused: Option<(String, String, String)> = tx
                        .prepare_cached(
                            "SELECT s.id, s.collectionId, s.recordId FROM _sessionRetiredTokens t
                             JOIN _sessions s ON s.id = t.sessionId WHERE t.tokenHash = ?1",
                        )?
                        .query_row([&presented], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .optional()?;
                    return Ok(Err(match reused {
                        Some((session_id, collection_id, record_id)) => {
                            end(tx, &session_id, &now)?;
                            SessionError::Reused {
                                session_id,
                                collection_id,
                                record_id,
                            }
                        }
                        None => SessionError::Invalid,
                    }));
                };
                let key_matches = current_key(tx, &cid, &rid)?.is_some_and(|k| sha256_hex(&k) == key_hash);
                if !revoked.is_empty() || expires <= now || !key_matches {
                    if revoked.is_empty() {
                        end(tx, &id, &now)?;
                    }
                    return Ok(Err(SessionError::Invalid));
                }
                let Some(duration) = durations(&cid) else {
                    end(tx, &id, &now)?;
                    return Ok(Err(SessionError::Invalid));
                };
                tx.prepare_cached("INSERT INTO _sessionRetiredTokens (tokenHash, sessionId, retired) VALUES (?1, ?2, ?3)")?
                    .execute(params![presented, id, now])?;
                tx.prepare_cached("UPDATE _sessions SET tokenHash = ?1, lastUsed = ?2, expires = ?3 WHERE id = ?4")?
                    .execute(params![next_hash, now, after(duration), id])?;
                Ok(Ok((id, cid, rid)))
            })
            .await?;
        match outcome {
            Ok((session_id, collection_id, record_id)) => Ok(Issued {
                session_id,
                refresh_token: next,
                collection_id,
                record_id,
            }),
            Err(err) => {
                if let SessionError::Reused { session_id, .. } = &err {
                    self.active.insert(session_id.clone(), false);
                }
                Err(err)
            }
        }
    }

    /// Whether session `id` is still live (for access tokens that name it).
    pub async fn is_active(&self, db: &Database, id: &str) -> Result<bool, StoreError> {
        if let Some(active) = self.active.get(id) {
            self.lookups.hit();
            return Ok(active);
        }
        self.lookups.miss();
        let sid = id.to_owned();
        let active = db
            .read(move |conn| {
                let now = datetime::now();
                Ok(conn
                    .prepare_cached(
                        "SELECT count(*) > 0 FROM _sessions WHERE id = ?1 AND revoked = '' AND expires > ?2",
                    )?
                    .query_row(params![sid, now], |r| r.get::<_, bool>(0))?)
                    as Result<bool, StoreError>
            })
            .await?;
        self.active.insert(id.to_owned(), active);
        Ok(active)
    }

    /// The live sessions of one record, newest first: not revoked, not
    /// expired, and opened under its current `token_key` (one opened
    /// before a password change can no longer refresh, so it is not
    /// shown as if it could).
    pub async fn list(
        &self,
        db: &Database,
        collection_id: &str,
        record_id: &str,
        token_key: &str,
        current: Option<&str>,
    ) -> Result<Vec<SessionInfo>, StoreError> {
        let (cid, rid, key_hash) = (
            collection_id.to_owned(),
            record_id.to_owned(),
            sha256_hex(token_key),
        );
        let current = current.map(str::to_owned);
        db.read(move |conn| {
            let now = datetime::now();
            let mut stmt = conn.prepare_cached(
                "SELECT id, userAgent, ip, created, lastUsed, expires FROM _sessions
                 WHERE collectionId = ?1 AND recordId = ?2 AND revoked = '' AND expires > ?3 AND keyHash = ?4
                 ORDER BY created DESC, id",
            )?;
            let rows = stmt.query_map(params![cid, rid, now, key_hash], |r| {
                let id: String = r.get(0)?;
                Ok(SessionInfo {
                    current: current.as_deref() == Some(id.as_str()),
                    id,
                    user_agent: r.get(1)?,
                    ip: r.get(2)?,
                    created: r.get(3)?,
                    last_used: r.get(4)?,
                    expires: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// Ends session `id` if it belongs to the record; whether it did.
    pub async fn revoke(
        &self,
        db: &Database,
        collection_id: &str,
        record_id: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let (cid, rid, sid) = (collection_id.to_owned(), record_id.to_owned(), id.to_owned());
        let ended = db
            .write(move |tx| {
                let now = datetime::now();
                Ok(tx
                    .prepare_cached(
                        "UPDATE _sessions SET revoked = ?1 WHERE id = ?2 AND collectionId = ?3 AND recordId = ?4 AND revoked = ''",
                    )?
                    .execute(params![now, sid, cid, rid])?
                    > 0) as Result<bool, StoreError>
            })
            .await?;
        // Only a real revocation touches the cache: naming a session that
        // is someone else's (or unknown) must not shut it out, even for
        // the cache's lifetime.
        if ended {
            self.active.insert(id.to_owned(), false);
        }
        Ok(ended)
    }

    /// Ends the session a refresh token belongs to (logout by token);
    /// whether there was one.
    pub async fn revoke_by_token(
        &self,
        db: &Database,
        refresh_token: &str,
    ) -> Result<Option<String>, StoreError> {
        let hash = sha256_hex(refresh_token);
        let id = db
            .write(move |tx| {
                let now = datetime::now();
                let id: Option<String> = tx
                    .prepare_cached("SELECT id FROM _sessions WHERE tokenHash = ?1 AND revoked = ''")?
                    .query_row([&hash], |r| r.get(0))
                    .optional()?;
                if let Some(id) = &id {
                    end(tx, id, &now)?;
                }
                Ok::<_, StoreError>(id)
            })
            .await?;
        if let Some(id) = &id {
            self.active.insert(id.clone(), false);
        }
        Ok(id)
    }
}

/// Ends every live session of auth collection `c`, in the open
/// transaction `tx`: its token secret changed (`schema::AccountHooks`).
/// The cache of session states needs nothing: the access tokens that name
/// these sessions were signed with the old secret and no longer verify.
pub fn end_collection(tx: &Connection, c: &Collection) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE _sessions SET revoked = ?1 WHERE collectionId = ?2 AND revoked = ''")?
        .execute(params![datetime::now(), c.id])?;
    Ok(())
}

fn end(tx: &Connection, id: &str, now: &str) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE _sessions SET revoked = ?1 WHERE id = ?2 AND revoked = ''")?
        .execute(params![now, id])?;
    Ok(())
}

/// Removes every session that ended over a week ago (the scheduled
/// cleanup), a bounded batch per transaction so sign-ins are not held up
/// behind one long delete. Returns how many went.
pub async fn purge_ended(db: &Database) -> Result<usize, StoreError> {
    let mut total = 0;
    loop {
        let n = db.write(|tx| Ok::<_, StoreError>(prune(tx)?)).await?;
        total += n;
        if n < PRUNE_BATCH {
            return Ok(total);
        }
    }
}

/// Sessions `prune` removes at most.
const PRUNE_BATCH: usize = 100;

/// Removes a bounded batch of sessions that ended over a week ago, so the
/// table does not grow without end; the week keeps recent reuse evidence.
fn prune(tx: &Connection) -> rusqlite::Result<usize> {
    let cutoff = datetime::format(chrono::Utc::now() - chrono::Duration::days(7));
    tx.prepare_cached(PRUNE)?.execute([cutoff])
}

/// Both halves of the condition use an index (`expires`, and the partial
/// index on revoked sessions), so the clean-up never reads every session.
const PRUNE: &str = "DELETE FROM _sessions WHERE id IN (
   SELECT id FROM _sessions WHERE expires < ?1 OR (revoked != '' AND revoked < ?1) LIMIT 100)";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_clean_up_reads_no_session_it_does_not_remove() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::store::Store::open(dir.path()).expect("store");
        let plan = store
            .data
            .read(|conn| {
                Ok::<_, StoreError>(crate::store::explain::plan(
                    conn,
                    PRUNE,
                    &[rusqlite::types::Value::Text("2026-01-01".into())],
                ))
            })
            .await
            .expect("plan");
        assert!(!plan.is_empty());
        assert!(
            !crate::store::explain::scans(&plan, "_sessions"),
            "a full scan per clean-up batch: {plan:?}"
        );
        store.close().await;
    }

    #[test]
    fn hashes_hide_the_token() {
        let h = sha256_hex("abc");
        assert_eq!(h.len(), 64);
        assert_ne!(h, "abc");
        assert_eq!(h, sha256_hex("abc"));
    }
}
