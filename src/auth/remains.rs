//! What an account leaves behind in auth's tables: its one-time codes
//! (`_otps`), pending first factors (`_mfas`), remembered sign-in origins
//! (`_authOrigins`), OAuth2 links (`_externalAuths`) and sessions. They
//! point at the record by plain columns, not relation fields, so the
//! record delete cannot settle them itself; they go in its transaction,
//! through the `TxHook` the record services call (records may not call
//! into auth, which reads records). As PocketBase does: left behind, an
//! OTP or an MFA id would sign in whoever is given the same id next (a
//! superuser may choose a new record's id). An auth collection emptied
//! or deleted whole takes all its accounts' rows (`forget_collection`,
//! which the schema runs in that transaction).
//! (`app` wires `Remains` beside the webhooks' outbox.)

use rusqlite::Connection;
use serde_json::{Map, Value};

use crate::{
    records::{
        deps::TxHook,
        events::{ChangeAction, RecordChange},
    },
    schema::{Catalog, Collection, CollectionKind},
};

/// The tables that hold rows of an account, and the columns naming its
/// collection and record. A new table bound to auth records goes here.
const BOUND: &[(&str, &str, &str)] = &[
    ("_otps", "collectionRef", "recordRef"),
    ("_mfas", "collectionRef", "recordRef"),
    ("_authOrigins", "collectionRef", "recordRef"),
    ("_externalAuths", "collectionRef", "recordRef"),
    // Their retired refresh tokens go by the foreign key's cascade.
    ("_sessions", "collectionId", "recordId"),
];

/// Deletes every row of auth record `record_id` of collection
/// `collection_id`, in the open transaction `tx`.
pub fn forget(tx: &Connection, collection_id: &str, record_id: &str) -> rusqlite::Result<()> {
    for (table, collection, record) in BOUND {
        tx.prepare_cached(&format!(
            "DELETE FROM {table} WHERE {collection} = ?1 AND {record} = ?2"
        ))?
        .execute([collection_id, record_id])?;
    }
    Ok(())
}

/// Deletes the rows of every account of auth collection `c`, in the open
/// transaction `tx`: the collection is being deleted or emptied
/// (`schema::AccountHooks::gone`), which deletes its records without a record
/// hook per row. API keys need nothing here: a key whose record was made
/// after it is refused (`keys`).
pub fn forget_collection(tx: &Connection, c: &Collection) -> rusqlite::Result<()> {
    for (table, collection, _) in BOUND {
        tx.execute(&format!("DELETE FROM {table} WHERE {collection} = ?1"), [&c.id])?;
    }
    Ok(())
}

/// What the schema does to accounts' rows as their collection changes.
pub const ACCOUNT_HOOKS: crate::schema::AccountHooks = crate::schema::AccountHooks {
    gone: forget_collection,
    signed_out: super::sessions::end_collection,
};

/// Auth's record hook: an account's rows deleted with it.
pub struct Remains;

impl TxHook for Remains {
    fn wants(&self, c: &Collection, action: ChangeAction) -> bool {
        c.kind == CollectionKind::Auth && action == ChangeAction::Delete
    }

    fn changed(
        &self,
        tx: &Connection,
        _: &Catalog,
        change: &RecordChange,
        _: Option<&Map<String, Value>>,
    ) -> rusqlite::Result<()> {
        if change.action == ChangeAction::Delete
            && change.collection.kind == CollectionKind::Auth
            && let Some(id) = change.record.get("id").and_then(Value::as_str)
        {
            forget(tx, &change.collection.id, id)?;
        }
        Ok(())
    }
}
