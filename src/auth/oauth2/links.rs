//! `_externalAuths`: the links between provider identities and auth
//! records, and the account changes a sign-in makes. SQL for the OAuth2
//! flow lives here; it runs only inside store closures.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params, params_from_iter, types::Value as Sql};

use crate::{
    records::service::RecordError,
    schema::{Collection, sync::quote},
    store::{Database, StoreError},
};

/// A provider identity: which provider, and its id for the user.
#[derive(Clone)]
pub struct Identity {
    pub collection_id: String,
    pub provider: String,
    pub provider_id: String,
}

/// The id of the record linked to `identity`, if that record still exists.
pub async fn linked_record(
    db: &Database,
    c: Arc<Collection>,
    identity: Identity,
) -> Result<Option<String>, StoreError> {
    db.read(move |conn| {
        let sql = format!(
            "SELECT r.id FROM _externalAuths ea JOIN {} r ON r.id = ea.recordRef
                 WHERE ea.collectionRef = ?1 AND ea.provider = ?2 AND ea.providerId = ?3",
            quote(&c.name)
        );
        Ok(conn
            .prepare_cached(&sql)?
            .query_row(
                params![identity.collection_id, identity.provider, identity.provider_id],
                |r| r.get(0),
            )
            .optional()?)
    })
    .await
}

/// Links `identity` to `record_id` of `c`. A link of the same identity
/// whose record is gone (removed without going through a record delete,
/// such as by a truncate) is dropped first; one whose record exists is
/// kept, and the new link is refused.
pub fn insert_link(
    conn: &Connection,
    c: &Collection,
    identity: &Identity,
    record_id: &str,
) -> Result<(), RecordError> {
    conn.prepare_cached(&format!(
        "DELETE FROM _externalAuths WHERE collectionRef = ?1 AND provider = ?2 AND providerId = ?3
         AND recordRef NOT IN (SELECT id FROM {})",
        quote(&c.name)
    ))?
    .execute(params![
        identity.collection_id,
        identity.provider,
        identity.provider_id
    ])?;
    let now = crate::datetime::now();
    let inserted = conn
        .prepare_cached(
            "INSERT INTO _externalAuths (id, collectionRef, recordRef, provider, providerId, created, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        )?
        .execute(params![
            crate::random::lower_alphanumeric(15),
            identity.collection_id,
            record_id,
            identity.provider,
            identity.provider_id,
            now
        ]);
    let Err(err) = inserted else {
        return Ok(());
    };
    let message = err.to_string();
    if !message.starts_with("UNIQUE constraint failed") {
        return Err(err.into());
    }
    Err(RecordError::Refused(if message.contains("recordRef") {
        // (collection, record, provider): one identity per provider.
        format!(
            "The account is already linked to another {} identity.",
            identity.provider
        )
    } else {
        // (collection, provider, providerId): a concurrent sign-in of the
        // same identity linked it first; this attempt rolls back whole.
        "The identity was just linked to another account; please sign in again.".into()
    }))
}

/// What signing an existing account in through a provider changes.
pub struct AccountUpdate {
    /// Link the identity (it was found by email or is the signed-in caller).
    pub link: Option<Identity>,
    /// The provider's verified address, when it has one.
    pub email: String,
    /// An account found by an address it never verified: whoever
    /// registered it may not be the address's owner, so its password is
    /// replaced (this hash, with a new token key that ends its sessions).
    pub new_password_hash: Option<String>,
}

/// Applies `update` to `record_id` in one transaction: the link, a missing
/// email filled in, and the account marked verified when the provider
/// vouches for the address it has.
pub async fn update_account(
    db: &Database,
    c: Arc<Collection>,
    record_id: String,
    update: AccountUpdate,
) -> Result<(), RecordError> {
    db.write(move |tx| {
        if let Some(identity) = &update.link {
            insert_link(tx, &c, identity, &record_id)?;
        }
        if update.email.is_empty() {
            return Ok(());
        }
        let table = quote(&c.name);
        let (email, verified): (String, bool) = tx
            .prepare_cached(&format!("SELECT email, verified FROM {table} WHERE id = ?1"))?
            .query_row([&record_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let mut set: Vec<(&str, Sql)> = Vec::new();
        if email.is_empty() {
            set.push(("email", Sql::Text(update.email.clone())));
        }
        if !verified && (email.is_empty() || email.eq_ignore_ascii_case(&update.email)) {
            set.push(("verified", Sql::Integer(1)));
            if let Some(hash) = &update.new_password_hash {
                set.push(("password", Sql::Text(hash.clone())));
                set.push(("tokenKey", Sql::Text(crate::random::alphanumeric(50))));
            }
        }
        if set.is_empty() {
            return Ok(());
        }
        if c.field("updated").is_some() {
            set.push(("updated", Sql::Text(crate::datetime::now())));
        }
        let assignments: Vec<String> = set
            .iter()
            .enumerate()
            .map(|(i, (name, _))| format!("{} = ?{}", quote(name), i + 2))
            .collect();
        let sql = format!("UPDATE {table} SET {} WHERE id = ?1", assignments.join(", "));
        let values = std::iter::once(Sql::Text(record_id.clone())).chain(set.into_iter().map(|(_, v)| v));
        tx.prepare(&sql)?.execute(params_from_iter(values))?;
        Ok(())
    })
    .await
}
