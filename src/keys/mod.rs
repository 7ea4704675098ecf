//! API keys (Cairn's addition): long-lived credentials for servers and
//! scripts, created by superusers. A key acts as one auth record (a user
//! of any auth collection, or a superuser), so every rule applies to it
//! unchanged; its scopes (collection × action) may narrow that further,
//! and an expiry and an address allowlist bound where and until when it
//! works. The secret is shown once and stored only as a hash (`secret`).
//!
//! A top-level service rather than a part of `auth`: auth's credentials
//! are all signed in to (a password, a code, a provider) and issue
//! tokens; a key is issued by someone else and issues nothing. It uses
//! auth's cache of auth records (`AuthRecords::record`), so a change to
//! the bound record reaches its key as it reaches its tokens, and auth
//! never needs to know keys exist. The caller value a key resolves to
//! carries its `identity::KeyGrant`, which the services that authorize
//! actions (records, realtime) read.
//!
//! Resolving a key costs one SHA-256 and a cache lookup: resolutions are
//! cached by hash, bounded, and dropped by any change to the key, so an
//! update or revocation applies to the very next request. A change
//! reaches only its own key: a read of that key under way when it lands
//! is made again rather than cached, and nothing of other keys moves. Uses are
//! recorded in memory and written about once a minute (`usage`).

pub mod input;
mod manage;
mod secret;
mod store;
mod usage;

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use moka::sync::Cache;

pub use self::{
    input::{KeyInput, ScopeInput},
    secret::{PREFIX, presented},
    store::{KeyRow, StoredScope},
};
use crate::{
    auth::caller::AuthRecords,
    datetime,
    identity::{Caller, KeyAction, KeyGrant, Presented, key::Scope},
    records::{
        deps::TxHook,
        events::{ChangeAction, RecordChange},
    },
    schema::{Catalog, Collection, CollectionKind},
    settings::Network,
    store::{Database, StoreError},
    validation::ErrorTree,
};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Unknown, revoked, expired, or bound to a record that is gone.
    #[error("invalid API key")]
    Invalid,
    /// A good key, from an address its allowlist leaves out.
    #[error("API key used from an address it does not allow")]
    AddressRefused,
    #[error("no such key")]
    NotFound,
    #[error("invalid key input")]
    Validation(ErrorTree),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for KeyError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Store(err.into())
    }
}

/// A key as a superuser sees it: its row (never its secret, which only
/// `create` returns, once, nor the secret's hash), with the names of the
/// collections it names as they are now. The API's `ApiKey` is its one
/// shape on the wire.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub key: KeyRow,
    /// The bound record's collection as named now (its id if it is gone).
    pub collection_name: String,
    /// Each scope's collection as named now (its id if it is gone), in
    /// the order of `key.scopes`.
    pub scope_names: Vec<String>,
    /// False when the bound record or its collection is gone: the key no
    /// longer works.
    pub bound: bool,
}

/// A key as requests use it, cached by the hash of its secret.
struct Resolved {
    grant: Arc<KeyGrant>,
    collection_id: String,
    record_id: String,
    /// When the key was made: a bound record made after it is another
    /// account that took a deleted one's id.
    made: String,
    allowed: Vec<Network>,
}

/// Reads of a key that gave up to a change landing meanwhile, before the
/// request is refused: a key changed this often while it is being read
/// is being fought over, and a refusal is the safe answer.
const MAX_READS: usize = 16;

pub struct Keys {
    resolved: Cache<String, Arc<Resolved>>,
    /// What a change must reach, under one lock so that a change and the
    /// caching of a read are ordered one way or the other.
    held: Mutex<Held>,
    usage: usage::Usage,
    /// Resolutions answered from the cache, and those that read.
    pub lookups: crate::stats::HitRatio,
}

#[derive(Default)]
struct Held {
    /// Every grant handed out per key id, so a change retires them all,
    /// including those a realtime subscription still holds after the
    /// cache let them go.
    grants: HashMap<String, Vec<Weak<KeyGrant>>>,
    /// Hashes being read from the database: how many reads, and whether a
    /// change to that key landed meanwhile (the read may hold the key as
    /// it was; it is neither cached nor trusted, and is made again). Per
    /// key, so a change to one key never costs another key's reads.
    reading: HashMap<String, Reading>,
}

#[derive(Default)]
struct Reading {
    reads: usize,
    changed: bool,
}

/// One read of a key under way. Dropped unfinished (the request went away
/// mid-read), it still counts the read as over, so the key is never left
/// marked as being read, nor its map entry kept.
struct ReadTicket<'a> {
    keys: &'a Keys,
    hash: &'a str,
    done: bool,
}

impl<'a> ReadTicket<'a> {
    fn take(keys: &'a Keys, hash: &'a str) -> Self {
        keys.lock().reading.entry(hash.to_owned()).or_default().reads += 1;
        Self {
            keys,
            hash,
            done: false,
        }
    }

    /// The read is over; whether a change to the key landed during it.
    fn finish(mut self, held: &mut Held) -> bool {
        self.done = true;
        held.done_reading(self.hash)
    }
}

impl Drop for ReadTicket<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.keys.lock().done_reading(self.hash);
        }
    }
}

impl Held {
    /// One read of `hash` is over; whether a change landed during it.
    fn done_reading(&mut self, hash: &str) -> bool {
        let Some(reading) = self.reading.get_mut(hash) else {
            return true;
        };
        let changed = reading.changed;
        reading.reads -= 1;
        if reading.reads == 0 {
            self.reading.remove(hash);
        }
        changed
    }

    fn register(&mut self, grant: KeyGrant) -> Arc<KeyGrant> {
        let grant = Arc::new(grant);
        let held = self.grants.entry(grant.id.clone()).or_default();
        held.retain(|g| g.strong_count() > 0);
        held.push(Arc::downgrade(&grant));
        grant
    }
}

impl Default for Keys {
    fn default() -> Self {
        Self {
            resolved: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(600))
                .build(),
            held: Mutex::default(),
            usage: usage::Usage::default(),
            lookups: Default::default(),
        }
    }
}

fn grant_of(row: &KeyRow) -> KeyGrant {
    let scopes = row
        .scopes
        .iter()
        .map(|s| Scope {
            collection_id: s.collection.clone(),
            actions: s.actions.iter().filter_map(|a| KeyAction::parse(a)).collect(),
        })
        .collect();
    KeyGrant::new(row.id.clone(), scopes, row.expires.clone())
}

impl Keys {
    /// The caller `secret` speaks for, as a request from `ip` presents it.
    pub async fn identify(
        &self,
        records: &AuthRecords,
        catalog: &Catalog,
        db: &Database,
        secret: &str,
        ip: IpAddr,
    ) -> Result<Caller, KeyError> {
        let resolved = self.resolve(db, &secret::hash(secret)).await?;
        // A change that lands from here on meets this request already
        // under way, as it would a moment later: only an expiry refuses.
        let now = datetime::now();
        if resolved.grant.is_expired(&now) {
            return Err(KeyError::Invalid);
        }
        if !resolved.allowed.is_empty() && !resolved.allowed.iter().any(|n| n.contains(ip)) {
            return Err(KeyError::AddressRefused);
        }
        let collection = catalog
            .by_id(&resolved.collection_id)
            .filter(|c| c.kind == CollectionKind::Auth)
            .ok_or(KeyError::Invalid)?;
        let record = records
            .record(db, collection, &resolved.record_id)
            .await?
            .ok_or(KeyError::Invalid)?;
        // A record made after the key is not the one it was made for: its
        // account was deleted and the id taken again (a create may choose
        // its id). Keys go with their account (`TxHook for Keys`); this
        // stops those left by an account deleted before they did.
        if let Some(created) = record.whole.get("created").and_then(|v| v.as_str())
            && created > resolved.made.as_str()
        {
            return Err(KeyError::Invalid);
        }
        self.usage.touch(&resolved.grant.id, now, ip.to_string());
        Ok(Caller::Record(
            record,
            Presented {
                token: String::new(),
                refreshable: false,
                session: None,
                key: Some(resolved.grant.clone()),
            },
        ))
    }

    /// The key whose secret hashes to `hash`, as it stands now: from the
    /// cache, or read (and cached) when the cache has it not, or only as
    /// it was before a change.
    async fn resolve(&self, db: &Database, hash: &str) -> Result<Arc<Resolved>, KeyError> {
        for _ in 0..MAX_READS {
            // A retired grant still cached was met just as its change
            // landed: the key is read again, never refused for it.
            if let Some(hit) = self.resolved.get(hash).filter(|r| !r.grant.is_retired()) {
                self.lookups.hit();
                return Ok(hit);
            }
            self.lookups.miss();
            let ticket = ReadTicket::take(self, hash);
            let lookup = hash.to_owned();
            let read = db
                .read(move |conn| Ok::<_, StoreError>(store::by_hash(conn, &lookup)?))
                .await;
            let mut held = self.lock();
            let changed = ticket.finish(&mut held);
            // No row is the key's answer even mid-change: nothing turns a
            // revoked key back into one.
            let row = read?.ok_or(KeyError::Invalid)?;
            if changed {
                continue;
            }
            let fresh = Arc::new(Resolved {
                grant: held.register(grant_of(&row)),
                allowed: row.allowed_ips.iter().filter_map(|n| n.parse().ok()).collect(),
                collection_id: row.collection_id,
                record_id: row.record_id,
                made: row.created,
            });
            self.resolved.insert(hash.to_owned(), fresh.clone());
            return Ok(fresh);
        }
        Err(KeyError::Invalid)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Key `id` (its secret hashing to `hash`) changed or is gone, the
    /// change committed: no cached resolution, grant handed out or read
    /// under way before speaks for it any more. Other keys are untouched.
    fn retire(&self, id: &str, hash: &str) {
        let held = {
            let mut held = self.lock();
            if let Some(reading) = held.reading.get_mut(hash) {
                reading.changed = true;
            }
            self.resolved.invalidate(hash);
            held.grants.remove(id).unwrap_or_default()
        };
        for grant in held.iter().filter_map(Weak::upgrade) {
            grant.retire();
        }
    }

    /// Forgets every resolution and retires every grant (the database was
    /// replaced by a restore).
    pub fn forget_all(&self) {
        let held = {
            let mut held = self.lock();
            for reading in held.reading.values_mut() {
                reading.changed = true;
            }
            self.resolved.invalidate_all();
            std::mem::take(&mut held.grants)
        };
        for grant in held.values().flatten().filter_map(Weak::upgrade) {
            grant.retire();
        }
    }

    /// Writes the pending last-used times (see `usage`).
    pub async fn flush_usage(&self, db: &Database) -> Result<usize, StoreError> {
        self.usage.flush(db).await
    }
}

/// An account's keys go with it, in the transaction that deletes it: a
/// key left behind would pass to whoever is given the same id next (a
/// create may choose its id). Retired at once, so no cached resolution
/// outlives the row.
impl TxHook for Keys {
    fn wants(&self, c: &Collection, action: ChangeAction) -> bool {
        c.kind == CollectionKind::Auth && action == ChangeAction::Delete
    }

    fn changed(
        &self,
        tx: &rusqlite::Connection,
        _: &Catalog,
        change: &RecordChange,
        _: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> rusqlite::Result<()> {
        let Some(record_id) = change.record.get("id").and_then(|v| v.as_str()) else {
            return Ok(());
        };
        if !self.wants(&change.collection, change.action) {
            return Ok(());
        }
        let gone: Vec<(String, String)> = tx
            .prepare_cached(
                "DELETE FROM _apiKeys WHERE collectionId = ?1 AND recordId = ?2 RETURNING id, secretHash",
            )?
            .query_map([change.collection.id.as_str(), record_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (id, hash) in gone {
            self.retire(&id, &hash);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request that goes away mid-read (its future dropped) leaves no
    /// mark: a mark left behind made every later read of the key, once
    /// the key changed, count as overlapping a change, and the key was
    /// refused until a restart.
    #[test]
    fn a_read_cut_short_leaves_no_mark() {
        let keys = Keys::default();
        drop(ReadTicket::take(&keys, "hash"));
        assert!(keys.lock().reading.is_empty());
        // The control: a read a change overlaps says so, and is over after.
        let ticket = ReadTicket::take(&keys, "hash");
        keys.retire("id", "hash");
        assert!(ticket.finish(&mut keys.lock()));
        assert!(keys.lock().reading.is_empty());
        let ticket = ReadTicket::take(&keys, "hash");
        assert!(!ticket.finish(&mut keys.lock()));
    }
}
