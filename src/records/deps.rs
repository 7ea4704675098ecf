//! What the record services touch, named: the collection definitions,
//! the data database, the file storage, the password hasher, the list
//! totals cache, and whoever must hear of a commit. Borrowed from the
//! application state for one call (`AppState::records`), so a service's
//! signature says what it may reach and a test can hand it just that.

use std::sync::Arc;

use super::{events::RecordChange, list::ListCounts};
use crate::{files::Storage, identity::password::Hasher, schema::Schema, store::Database};

pub struct RecordsDeps<'a> {
    pub schema: &'a Schema,
    pub db: &'a Database,
    pub storage: &'a Storage,
    pub hasher: &'a Hasher,
    pub list_counts: &'a Arc<ListCounts>,
    pub listener: &'a dyn CommitListener,
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
}
