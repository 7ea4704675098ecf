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
//! update or revocation applies to the very next request. Uses are
//! recorded in memory and written about once a minute (`usage`).

pub mod input;
mod manage;
mod secret;
mod store;
mod usage;

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use ipnet::IpNet;
use moka::sync::Cache;
use serde::Serialize;

use self::store::KeyRow;
pub use self::{
    input::{KeyInput, ScopeInput},
    secret::{PREFIX, presented},
};
use crate::{
    auth::caller::AuthRecords,
    datetime,
    identity::{Caller, KeyAction, KeyGrant, Presented, key::Scope},
    schema::{Catalog, CollectionKind},
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

/// A key as a superuser sees it (never its secret, which only `create`
/// returns, once).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    pub id: String,
    pub name: String,
    /// `cairn_sk_` and the key's first characters.
    pub prefix: String,
    pub collection_id: String,
    /// The bound record's collection as named now (its id if it is gone).
    pub collection_name: String,
    pub record_id: String,
    pub scopes: Vec<ScopeInfo>,
    pub allowed_ips: Vec<String>,
    pub expires: String,
    pub last_used: String,
    pub last_used_ip: String,
    pub created: String,
    pub updated: String,
    /// False when the bound record or its collection is gone: the key no
    /// longer works.
    pub bound: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeInfo {
    pub collection_id: String,
    pub collection_name: String,
    pub actions: Vec<String>,
}

/// A key as requests use it, cached by the hash of its secret.
struct Resolved {
    grant: Arc<KeyGrant>,
    collection_id: String,
    record_id: String,
    allowed: Vec<IpNet>,
}

pub struct Keys {
    resolved: Cache<String, Arc<Resolved>>,
    /// Every grant handed out per key id, so a change retires them all,
    /// including those a realtime subscription still holds after the cache
    /// let them go.
    grants: Mutex<HashMap<String, Vec<Weak<KeyGrant>>>>,
    usage: usage::Usage,
    /// Moves on every change to any key: a resolution read from the
    /// database while a change committed is neither cached nor trusted
    /// (it may hold the key as it was).
    changes: AtomicU64,
    /// Resolutions answered from the cache, and those that read.
    pub lookups: crate::stats::HitRatio,
}

impl Default for Keys {
    fn default() -> Self {
        Self {
            resolved: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(600))
                .build(),
            grants: Mutex::default(),
            usage: usage::Usage::default(),
            changes: AtomicU64::new(0),
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
        let hash = secret::hash(secret);
        let resolved = match self.resolved.get(&hash) {
            Some(hit) => {
                self.lookups.hit();
                hit
            }
            None => {
                self.lookups.miss();
                let seen = self.changes.load(Ordering::Acquire);
                let lookup = hash.clone();
                let row = db
                    .read(move |conn| Ok::<_, StoreError>(store::by_hash(conn, &lookup)?))
                    .await?
                    .ok_or(KeyError::Invalid)?;
                let fresh = Arc::new(Resolved {
                    grant: self.register(grant_of(&row)),
                    allowed: row.allowed_ips.iter().filter_map(|n| input::network(n)).collect(),
                    collection_id: row.collection_id,
                    record_id: row.record_id,
                });
                if self.changes.load(Ordering::Acquire) == seen {
                    self.resolved.insert(hash, fresh.clone());
                } else {
                    fresh.grant.retire();
                }
                fresh
            }
        };
        let now = datetime::now();
        if !resolved.grant.is_live(&now) {
            return Err(KeyError::Invalid);
        }
        if !resolved.allowed.is_empty() && !resolved.allowed.iter().any(|n| n.contains(&ip)) {
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

    fn register(&self, grant: KeyGrant) -> Arc<KeyGrant> {
        let grant = Arc::new(grant);
        let mut grants = self
            .grants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let held = grants.entry(grant.id.clone()).or_default();
        held.retain(|g| g.strong_count() > 0);
        held.push(Arc::downgrade(&grant));
        grant
    }

    /// Key `id` changed or is gone: no cached resolution or grant handed
    /// out before speaks for it any more.
    fn retire(&self, id: &str, hash: &str) {
        self.changes.fetch_add(1, Ordering::AcqRel);
        self.resolved.invalidate(hash);
        let held = self
            .grants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id)
            .unwrap_or_default();
        for grant in held.iter().filter_map(Weak::upgrade) {
            grant.retire();
        }
    }

    /// Forgets every resolution and retires every grant (the database was
    /// replaced by a restore).
    pub fn forget_all(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
        self.resolved.invalidate_all();
        let held = std::mem::take(
            &mut *self
                .grants
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for grant in held.values().flatten().filter_map(Weak::upgrade) {
            grant.retire();
        }
    }

    /// Writes the pending last-used times (see `usage`).
    pub async fn flush_usage(&self, db: &Database) -> Result<usize, StoreError> {
        self.usage.flush(db).await
    }
}
