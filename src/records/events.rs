//! Record changes, announced once their transaction has committed.
//!
//! Every write path (the record service, cascade deletes, batches) reports
//! what it changed here and nowhere else, only after the commit: a
//! rolled-back write announces nothing. Listeners (the realtime broker,
//! wired in `app` as a `deps::CommitListener`) hang off `committed`; they
//! must not block, since writers call it.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::deps::CommitListener;
use crate::schema::Collection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeAction {
    Create,
    Update,
    Delete,
}

impl ChangeAction {
    /// The name PocketBase's realtime events use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

/// One committed change to one record.
#[derive(Debug, Clone)]
pub struct RecordChange {
    pub action: ChangeAction,
    pub collection: Arc<Collection>,
    /// The record as the API shows it (hidden fields left out): after the
    /// write for create and update, as it was for delete.
    pub record: Map<String, Value>,
    /// The hidden fields a superuser sees of the record as this change left
    /// it (as it was, for a delete), `reveal::kept` in the write's
    /// transaction: by the time the change is announced its row may have
    /// changed again or be gone. Realtime checks rules against these values
    /// and `record`, so a producer that leaves this empty makes a rule on a
    /// hidden field read it as empty.
    pub hidden: Map<String, Value>,
}

/// Called after a write commits, with every record it changed, in order.
pub fn committed(listener: &dyn CommitListener, changes: Vec<RecordChange>) {
    listener.committed(changes);
}
