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

use self::store::{KeyRow, StoredScope};
pub use self::{
    input::{KeyInput, ScopeInput},
    secret::{PREFIX, presented},
};
use crate::{
    auth::caller::AuthRecords,
    datetime,
    identity::{Caller, KeyAction, KeyGrant, Presented, key::Scope},
    schema::{Catalog, CollectionKind, sync::quote},
    store::{Database, StoreError},
    validation::{ErrorTree, FieldError},
};

const ID_LEN: usize = 15;

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

fn info(row: KeyRow, catalog: &Catalog) -> KeyInfo {
    let name_of = |id: &str| {
        catalog
            .by_id(id)
            .map_or_else(|| id.to_owned(), |c| c.name.clone())
    };
    KeyInfo {
        collection_name: name_of(&row.collection_id),
        scopes: row
            .scopes
            .iter()
            .map(|s| ScopeInfo {
                collection_id: s.collection.clone(),
                collection_name: name_of(&s.collection),
                actions: s.actions.clone(),
            })
            .collect(),
        id: row.id,
        name: row.name,
        prefix: row.prefix,
        collection_id: row.collection_id,
        record_id: row.record_id,
        allowed_ips: row.allowed_ips,
        expires: row.expires,
        last_used: row.last_used,
        last_used_ip: row.last_used_ip,
        created: row.created,
        updated: row.updated,
    }
}

fn immutable(errors: &mut ErrorTree, field: &str) {
    errors.add(
        &[field],
        FieldError::new(
            "validation_immutable",
            "The bound record cannot be changed; create a new key instead.",
        ),
    );
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

    /// `row` with its last use as known in memory, not yet written.
    fn with_usage(&self, mut row: KeyRow) -> KeyRow {
        if let Some((when, ip)) = self.usage.pending(&row.id) {
            row.last_used = when;
            row.last_used_ip = ip;
        }
        row
    }

    pub async fn list(&self, db: &Database, catalog: &Catalog) -> Result<Vec<KeyInfo>, KeyError> {
        let rows = db.read(|conn| Ok::<_, StoreError>(store::list(conn)?)).await?;
        Ok(rows
            .into_iter()
            .map(|r| info(self.with_usage(r), catalog))
            .collect())
    }

    pub async fn view(&self, db: &Database, catalog: &Catalog, id: &str) -> Result<KeyInfo, KeyError> {
        let id = id.to_owned();
        let row = db
            .read(move |conn| Ok::<_, StoreError>(store::by_id(conn, &id)?))
            .await?
            .ok_or(KeyError::NotFound)?;
        Ok(info(self.with_usage(row), catalog))
    }

    /// Creates a key; answers it and its secret, which is not kept.
    pub async fn create(
        &self,
        db: &Database,
        catalog: &Catalog,
        input: KeyInput,
    ) -> Result<(KeyInfo, String), KeyError> {
        let mut errors = ErrorTree::new();
        let name = input::name(&mut errors, input.name.as_deref().unwrap_or(""));
        let collection = match input.collection.as_deref().map(str::trim).unwrap_or("") {
            "" => {
                errors.add(&["collection"], FieldError::required());
                None
            }
            raw => match catalog.get(raw).filter(|c| c.kind == CollectionKind::Auth) {
                Some(c) => Some(c.clone()),
                None => {
                    errors.add(
                        &["collection"],
                        FieldError::new(
                            "validation_invalid_collection",
                            "Must be the name or id of an auth collection.",
                        ),
                    );
                    None
                }
            },
        };
        let record = input.record.as_deref().map(str::trim).unwrap_or("").to_owned();
        let record_id = match (&collection, record.as_str()) {
            (_, "") => {
                errors.add(&["record"], FieldError::required());
                None
            }
            (None, _) => None,
            (Some(c), _) => {
                let (c, wanted) = (c.clone(), record.clone());
                let found = db
                    .read(move |conn| {
                        let has_email = c.fields.iter().any(|f| f.name == "email");
                        let sql = if has_email {
                            format!(
                                "SELECT id FROM {t} WHERE id = ?1 UNION ALL \
                                 SELECT id FROM {t} WHERE email = ?1 COLLATE NOCASE LIMIT 1",
                                t = quote(&c.name)
                            )
                        } else {
                            format!("SELECT id FROM {} WHERE id = ?1", quote(&c.name))
                        };
                        let mut stmt = conn.prepare_cached(&sql)?;
                        let mut rows = stmt.query([&wanted])?;
                        Ok::<_, StoreError>(match rows.next()? {
                            Some(row) => Some(row.get::<_, String>(0)?),
                            None => None,
                        })
                    })
                    .await?;
                if found.is_none() {
                    errors.add(
                        &["record"],
                        FieldError::new(
                            "validation_invalid_record",
                            "No record of this collection has this id or email.",
                        ),
                    );
                }
                found
            }
        };
        let scopes = input::scopes(&mut errors, catalog, input.scopes.as_deref().unwrap_or(&[]));
        let allowed_ips = input::allowed_ips(&mut errors, input.allowed_ips.as_deref().unwrap_or(&[]));
        let expires = input::expires(&mut errors, input.expires.as_deref().unwrap_or(""));
        let (Some(collection), Some(record_id), true) = (collection, record_id, errors.is_empty()) else {
            return Err(KeyError::Validation(errors));
        };
        let secret = secret::generate();
        let now = datetime::now();
        let row = KeyRow {
            id: crate::random::lower_alphanumeric(ID_LEN),
            name,
            prefix: secret.shown.clone(),
            collection_id: collection.id.clone(),
            record_id,
            scopes,
            allowed_ips,
            expires,
            last_used: String::new(),
            last_used_ip: String::new(),
            created: now.clone(),
            updated: now,
        };
        let (stored, hash) = (row.clone(), secret.hash.clone());
        db.write_statement(move |tx| Ok::<_, StoreError>(store::insert(tx, &stored, &hash)?))
            .await?;
        Ok((info(row, catalog), secret.secret))
    }

    /// Changes a key's name, scopes, allowlist or expiry (those sent);
    /// the change applies to its very next use.
    pub async fn update(
        &self,
        db: &Database,
        catalog: &Catalog,
        id: &str,
        input: KeyInput,
    ) -> Result<KeyInfo, KeyError> {
        let mut errors = ErrorTree::new();
        if input.collection.is_some() {
            immutable(&mut errors, "collection");
        }
        if input.record.is_some() {
            immutable(&mut errors, "record");
        }
        let name = input.name.as_deref().map(|n| input::name(&mut errors, n));
        let scopes: Option<Vec<StoredScope>> = input
            .scopes
            .as_deref()
            .map(|s| input::scopes(&mut errors, catalog, s));
        let allowed_ips = input
            .allowed_ips
            .as_deref()
            .map(|a| input::allowed_ips(&mut errors, a));
        let expires = input.expires.as_deref().map(|e| input::expires(&mut errors, e));
        let wanted = id.to_owned();
        let current = db
            .read(move |conn| Ok::<_, StoreError>(store::by_id(conn, &wanted)?))
            .await?
            .ok_or(KeyError::NotFound)?;
        if !errors.is_empty() {
            return Err(KeyError::Validation(errors));
        }
        let row = KeyRow {
            name: name.unwrap_or(current.name),
            scopes: scopes.unwrap_or(current.scopes),
            allowed_ips: allowed_ips.unwrap_or(current.allowed_ips),
            expires: expires.unwrap_or(current.expires),
            updated: datetime::now(),
            ..current
        };
        let stored = row.clone();
        let hash = db
            .write(move |tx| {
                let hash = store::hash_of(tx, &stored.id)?;
                store::update(tx, &stored)?;
                Ok::<_, StoreError>(hash)
            })
            .await?
            .ok_or(KeyError::NotFound)?;
        self.retire(&row.id, &hash);
        Ok(info(self.with_usage(row), catalog))
    }

    /// Revokes key `id`: it is deleted, and refused from the next request.
    pub async fn delete(&self, db: &Database, id: &str) -> Result<(), KeyError> {
        let wanted = id.to_owned();
        let hash = db
            .write(move |tx| {
                let hash = store::hash_of(tx, &wanted)?;
                store::delete(tx, &wanted)?;
                Ok::<_, StoreError>(hash)
            })
            .await?
            .ok_or(KeyError::NotFound)?;
        self.retire(id, &hash);
        Ok(())
    }
}
