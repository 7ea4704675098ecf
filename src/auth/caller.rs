//! Resolving a request's token to its caller (`identity::Caller`): a guest,
//! or the record (superuser or app user) whose token came in
//! `Authorization` (with or without `Bearer `).
//!
//! An invalid, expired or revoked token makes the caller a guest, as in
//! PocketBase; routes that need more answer 401 or 403 themselves. Auth
//! records are cached so checking a token does not read the database on
//! every request; writes to an auth record invalidate its entry, and a
//! short time-to-live bounds staleness from changes made by another
//! process (the `cairn superuser` command).

use std::{sync::Arc, time::Duration};

use super::{
    sessions::Sessions,
    token::{self, Purpose},
};
use crate::identity::{AuthRecord, Caller, Presented};
use crate::{
    records::shape,
    schema::{Collection, CollectionKind, Schema, sync::quote},
    store::{Database, StoreError},
};
use moka::sync::Cache;
use rusqlite::OptionalExtension;

/// Builds both shapes of an auth record from one read of `row`
/// (`shape::select_list`).
fn auth_record_from_row(
    collection: Arc<Collection>,
    id: String,
    token_key: String,
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<AuthRecord> {
    let whole = shape::row_to_json_whole(&collection, row)?;
    let mut record = whole.clone();
    for f in collection.fields.iter().filter(|f| f.hidden) {
        record.remove(&f.name);
    }
    Ok(AuthRecord {
        collection,
        id,
        token_key,
        record,
        whole: Arc::new(whole),
    })
}

pub struct AuthRecords {
    cache: Cache<(String, String), Arc<AuthRecord>>,
    /// Lookups answered from `cache`, and those that read the database.
    pub lookups: crate::stats::HitRatio,
}

impl Default for AuthRecords {
    fn default() -> Self {
        Self {
            cache: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(60))
                .build(),
            lookups: Default::default(),
        }
    }
}

/// Reads one auth record of `c` by id (`None` if absent).
pub async fn load_auth_record(
    db: &Database,
    c: Arc<Collection>,
    id: String,
) -> Result<Option<Arc<AuthRecord>>, StoreError> {
    db.read(move |conn| {
        let sql = format!(
            "SELECT {} FROM {} WHERE id = ?1",
            shape::select_list(&c),
            quote(&c.name)
        );
        let key_at = c.fields.iter().position(|f| f.name == "tokenKey");
        let found = conn
            .prepare_cached(&sql)?
            .query_row([&id], |row| {
                let token_key: String = match key_at {
                    Some(i) => row.get(i)?,
                    None => String::new(),
                };
                auth_record_from_row(c.clone(), id.clone(), token_key, row)
            })
            .optional()?;
        Ok(found.map(Arc::new))
    })
    .await
}

/// The caller record `id` of auth collection `c` would be once signed
/// in, built from the record as `AuthRecords::identify` builds it from a
/// token, but with no token (the rule tester acts as the account without
/// signing in as it). `None` if `c` is not an auth collection or has no
/// such record.
pub async fn caller_for(db: &Database, c: Arc<Collection>, id: String) -> Result<Option<Caller>, StoreError> {
    if c.kind != CollectionKind::Auth {
        return Ok(None);
    }
    Ok(load_auth_record(db, c, id).await?.map(|record| {
        Caller::Record(
            record,
            Presented {
                token: String::new(),
                refreshable: false,
                session: None,
                key: None,
            },
        )
    }))
}

/// The current `tokenKey` of record `id` of auth collection `c`, read on
/// an open connection (inside a session rotation's transaction).
pub fn read_token_key(
    conn: &rusqlite::Connection,
    c: &Collection,
    id: &str,
) -> rusqlite::Result<Option<String>> {
    if c.kind != CollectionKind::Auth {
        return Ok(None);
    }
    conn.prepare_cached(&format!("SELECT tokenKey FROM {} WHERE id = ?1", quote(&c.name)))?
        .query_row([id], |r| r.get(0))
        .optional()
}

impl AuthRecords {
    /// Forgets every cached record (the database was replaced by a restore).
    pub fn forget_all(&self) {
        self.cache.invalidate_all();
    }

    /// Reads an auth record that was not in the cache.
    async fn load(
        &self,
        db: &Database,
        collection: &Arc<Collection>,
        id: &str,
    ) -> Result<Option<Arc<AuthRecord>>, StoreError> {
        self.lookups.miss();
        load_auth_record(db, collection.clone(), id.to_owned()).await
    }

    pub fn invalidate(&self, collection_id: &str, record_id: &str) {
        self.cache
            .invalidate(&(collection_id.to_owned(), record_id.to_owned()));
    }

    /// Record `id` of auth collection `collection`, from the cache when
    /// it holds the record as of the collection's current definition;
    /// `None` if there is no such record. Tokens and API keys (`keys`)
    /// both name their record through this.
    pub async fn record(
        &self,
        db: &Database,
        collection: &Arc<Collection>,
        id: &str,
    ) -> Result<Option<Arc<AuthRecord>>, StoreError> {
        let key = (collection.id.clone(), id.to_owned());
        if let Some(hit) = self
            .cache
            .get(&key)
            .filter(|r| Arc::ptr_eq(&r.collection, collection))
        {
            self.lookups.hit();
            return Ok(Some(hit));
        }
        let found = self.load(db, collection, id).await?;
        if let Some(fresh) = &found {
            self.cache.insert(key, fresh.clone());
        }
        Ok(found)
    }

    /// Resolves an `Authorization` header value to the caller.
    pub async fn identify(
        &self,
        schema: &Schema,
        db: &Database,
        sessions: &Sessions,
        header: Option<&str>,
    ) -> Result<Caller, StoreError> {
        self.identify_as(schema, db, sessions, header, Purpose::Auth)
            .await
    }

    /// Resolves a file token (`?token=` on a protected file): it names
    /// its record the same way an auth token does.
    pub async fn identify_file(
        &self,
        schema: &Schema,
        db: &Database,
        sessions: &Sessions,
        file_token: Option<&str>,
    ) -> Result<Caller, StoreError> {
        self.identify_as(schema, db, sessions, file_token, Purpose::File)
            .await
    }

    /// Resolves a token of `purpose`.
    async fn identify_as(
        &self,
        schema: &Schema,
        db: &Database,
        sessions: &Sessions,
        header: Option<&str>,
        purpose: Purpose,
    ) -> Result<Caller, StoreError> {
        let token = crate::identity::credential(header.unwrap_or(""));
        if token.is_empty() {
            return Ok(Caller::Guest);
        }
        let Some(claims) = token::peek(token) else {
            return Ok(Caller::Guest);
        };
        let catalog = schema.catalog();
        let Some(collection) = catalog
            .by_id(&claims.collection_id)
            .filter(|c| c.kind == CollectionKind::Auth)
        else {
            return Ok(Caller::Guest);
        };
        let Some(record) = self.record(db, collection, &claims.id).await? else {
            return Ok(Caller::Guest);
        };
        let Some(claims) = token::verify_for(token, collection, purpose, &record.token_key) else {
            return Ok(Caller::Guest);
        };
        // A token issued for a session dies with it.
        if let Some(sid) = &claims.sid
            && !sessions.is_active(db, sid).await?
        {
            return Ok(Caller::Guest);
        }
        // The cached record is shared as is; only what the token says is
        // per request.
        Ok(Caller::Record(
            record,
            Presented {
                token: token.to_owned(),
                refreshable: claims.refreshable,
                session: claims.sid,
                key: None,
            },
        ))
    }
}
