//! Managing keys: listing, creating (the secret made and answered once),
//! changing and revoking them. Every change retires what requests hold of
//! the key (`Keys::retire`), so it applies to the key's next request.

use super::{
    KeyError, KeyInfo, Keys, input,
    input::KeyInput,
    secret,
    store::{self, KeyRow, StoredScope},
};
use crate::{
    datetime,
    schema::{Catalog, CollectionKind},
    store::{Database, StoreError},
    validation::{ErrorTree, FieldError},
};

const ID_LEN: usize = 15;

fn info(key: KeyRow, catalog: &Catalog, bound: bool) -> KeyInfo {
    let name_of = |id: &str| {
        catalog
            .by_id(id)
            .map_or_else(|| id.to_owned(), |c| c.name.clone())
    };
    KeyInfo {
        collection_name: name_of(&key.collection_id),
        scope_names: key.scopes.iter().map(|s| name_of(&s.collection)).collect(),
        key,
        bound,
    }
}

/// Whether each key's record (and its collection) still exists: a key
/// whose record is gone no longer works, and the list says so.
async fn bound(db: &Database, catalog: &Catalog, rows: &[KeyRow]) -> Result<Vec<bool>, KeyError> {
    let wanted: Vec<_> = rows
        .iter()
        .map(|r| {
            let c = catalog
                .by_id(&r.collection_id)
                .filter(|c| c.kind == CollectionKind::Auth)
                .cloned();
            (c, r.record_id.clone())
        })
        .collect();
    Ok(db
        .read(move |conn| {
            wanted
                .iter()
                .map(|(c, id)| match c {
                    Some(c) => store::auth_record_id(conn, c, id).map(|found| found.as_deref() == Some(id)),
                    None => Ok(false),
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(StoreError::from)
        })
        .await?)
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
        let bound = bound(db, catalog, &rows).await?;
        Ok(rows
            .into_iter()
            .zip(bound)
            .map(|(r, b)| info(self.with_usage(r), catalog, b))
            .collect())
    }

    pub async fn view(&self, db: &Database, catalog: &Catalog, id: &str) -> Result<KeyInfo, KeyError> {
        let id = id.to_owned();
        let row = db
            .read(move |conn| Ok::<_, StoreError>(store::by_id(conn, &id)?))
            .await?
            .ok_or(KeyError::NotFound)?;
        let bound = bound(db, catalog, std::slice::from_ref(&row)).await?;
        Ok(info(
            self.with_usage(row),
            catalog,
            bound.first().copied().unwrap_or(false),
        ))
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
        let collection =
            input::auth_collection(&mut errors, catalog, input.collection.as_deref().unwrap_or(""));
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
                    .read(move |conn| Ok::<_, StoreError>(store::auth_record_id(conn, &c, &wanted)?))
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
        Ok((info(row, catalog, true), secret.secret))
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
        if !errors.is_empty() {
            // Nothing is written: an unknown key is still a 404 first.
            db.read(move |conn| Ok::<_, StoreError>(store::by_id(conn, &wanted)?))
                .await?
                .ok_or(KeyError::NotFound)?;
            return Err(KeyError::Validation(errors));
        }
        // Read and written in one step of the writer, so two changes sent
        // at once cannot both start from the same row and lose one.
        let (row, hash) = db
            .write(move |tx| {
                let (Some(current), Some(hash)) = (store::by_id(tx, &wanted)?, store::hash_of(tx, &wanted)?)
                else {
                    return Ok::<_, StoreError>(None);
                };
                let row = KeyRow {
                    name: name.unwrap_or(current.name),
                    scopes: scopes.unwrap_or(current.scopes),
                    allowed_ips: allowed_ips.unwrap_or(current.allowed_ips),
                    expires: expires.unwrap_or(current.expires),
                    updated: datetime::now(),
                    ..current
                };
                store::update(tx, &row)?;
                Ok(Some((row, hash)))
            })
            .await?
            .ok_or(KeyError::NotFound)?;
        self.retire(&row.id, &hash);
        let bound = bound(db, catalog, std::slice::from_ref(&row)).await?;
        Ok(info(
            self.with_usage(row),
            catalog,
            bound.first().copied().unwrap_or(false),
        ))
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
