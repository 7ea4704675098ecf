//! What the record services touch, named: the collection definitions,
//! the data database, the file storage, the password hasher, the list
//! totals cache, and whoever must hear of a commit. Borrowed from the
//! application state for one call (`AppState::records`), so a service's
//! signature says what it may reach and a test can hand it just that.

use std::sync::Arc;

use rusqlite::Connection;
use serde_json::{Map, Value};

use super::{
    events::{ChangeAction, RecordChange},
    list::ListCounts,
};
use crate::{
    files::Storage,
    identity::password::Hasher,
    schema::{Catalog, Collection, Schema},
    store::Database,
};

pub struct RecordsDeps<'a> {
    pub schema: &'a Schema,
    pub db: &'a Database,
    pub storage: &'a Storage,
    pub hasher: &'a Hasher,
    pub list_counts: &'a Arc<ListCounts>,
    pub listener: &'a dyn CommitListener,
    /// Told of every change inside its transaction (webhooks' outbox).
    pub tx_hook: &'a Arc<dyn TxHook>,
    /// List queries slower than this are noted with their plans.
    pub slow_query: std::time::Duration,
}

/// Told of every commit, after it: the auth-record cache and the realtime
/// broker, wired together in `app` (records may not call into either:
/// both read records). Neither may block, since writers call them.
pub trait CommitListener: Send + Sync {
    /// Auth record `record_id` of collection `collection_id` was written
    /// or deleted: whatever is cached of it is stale.
    fn auth_record_changed(&self, collection_id: &str, record_id: &str);

    /// Every change of one committed transaction, in order.
    fn committed(&self, changes: Vec<RecordChange>);

    /// A transaction that changed no record committed, and the
    /// `TxHook` may have written beside it (a sign-in's session).
    fn hooked_commit(&self) {}
}

/// Told of every record change inside the transaction that makes it,
/// before the commit: what it writes there stands or falls with the
/// change (the webhooks' outbox, wired in `app`; records may not call
/// into webhooks, which read records). Called on the writer thread, so it
/// must be quick, and `wants` must be an in-memory check: it decides
/// whether the previous record is read at all. It may fail only as the
/// database fails (I/O, a full disk), never for something about the
/// record: a write with no savepoint of its own is in place by then, and
/// its whole group is rolled back (`WritePlan::changes_once`).
pub trait TxHook: Send + Sync {
    /// Whether `changed` has anything to do for `action` on `c`.
    fn wants(&self, c: &Collection, action: ChangeAction) -> bool;

    /// Reads what it needs of record `id` of `c` before an update
    /// changes it (the previous record), if it `wants` the update.
    fn before_update(
        &self,
        _tx: &Connection,
        _c: &Collection,
        _id: &str,
    ) -> rusqlite::Result<Option<Map<String, Value>>> {
        Ok(None)
    }

    /// One change, in the open transaction `tx`: for a create or an
    /// update once the row is written, for a delete while the row is
    /// still there. `previous` is what `before_update` read. An error
    /// rolls the write back.
    fn changed(
        &self,
        tx: &Connection,
        catalog: &Catalog,
        change: &RecordChange,
        previous: Option<&Map<String, Value>>,
    ) -> rusqlite::Result<()>;

    /// An account of `c` signed in (its session is being opened in `tx`).
    fn signed_in(
        &self,
        _tx: &Connection,
        _catalog: &Catalog,
        _c: &Arc<Collection>,
        _record: &Map<String, Value>,
    ) -> rusqlite::Result<()> {
        Ok(())
    }
}

/// Several hooks told in turn, in their order (`app` wires the webhooks'
/// outbox and auth's clean-up of a deleted account). The previous record
/// is the first one any of them reads.
pub struct TxHooks(pub Vec<Arc<dyn TxHook>>);

impl TxHook for TxHooks {
    fn wants(&self, c: &Collection, action: ChangeAction) -> bool {
        self.0.iter().any(|h| h.wants(c, action))
    }

    fn before_update(
        &self,
        tx: &Connection,
        c: &Collection,
        id: &str,
    ) -> rusqlite::Result<Option<Map<String, Value>>> {
        for hook in &self.0 {
            if let Some(previous) = hook.before_update(tx, c, id)? {
                return Ok(Some(previous));
            }
        }
        Ok(None)
    }

    fn changed(
        &self,
        tx: &Connection,
        catalog: &Catalog,
        change: &RecordChange,
        previous: Option<&Map<String, Value>>,
    ) -> rusqlite::Result<()> {
        self.0
            .iter()
            .try_for_each(|h| h.changed(tx, catalog, change, previous))
    }

    fn signed_in(
        &self,
        tx: &Connection,
        catalog: &Catalog,
        c: &Arc<Collection>,
        record: &Map<String, Value>,
    ) -> rusqlite::Result<()> {
        self.0
            .iter()
            .try_for_each(|h| h.signed_in(tx, catalog, c, record))
    }
}
