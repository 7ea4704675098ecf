//! When and from where each key was last used, kept in memory and written
//! in one transaction per flush (about once a minute, and at shutdown),
//! never on the request path: a script calling ten times a second must
//! not cost ten writes a second on the one writer. A crash loses at most
//! one interval of last-used times, which are informational.

use std::{collections::HashMap, sync::Mutex};

use crate::store::{Database, StoreError};

#[derive(Default)]
pub struct Usage {
    /// Key id → (when, client address), the latest of each key since the
    /// last flush.
    pending: Mutex<HashMap<String, (String, String)>>,
}

impl Usage {
    pub fn touch(&self, key_id: &str, when: String, ip: String) {
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match pending.get_mut(key_id) {
            Some(entry) => *entry = (when, ip),
            None => {
                pending.insert(key_id.to_owned(), (when, ip));
            }
        }
    }

    /// The latest not yet written for `key_id`, so answers about a key do
    /// not lag behind its use.
    pub fn pending(&self, key_id: &str) -> Option<(String, String)> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key_id)
            .cloned()
    }

    /// Writes what is pending; put back if the write fails, so the next
    /// flush tries again (a newer use recorded meanwhile wins).
    pub async fn flush(&self, db: &Database) -> Result<usize, StoreError> {
        let batch: Vec<(String, (String, String))> = {
            let mut pending = self
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            pending.drain().collect()
        };
        if batch.is_empty() {
            return Ok(0);
        }
        let written = batch.clone();
        let result = db
            .write(move |tx| {
                for (id, (when, ip)) in &written {
                    super::store::record_use(tx, id, when, ip)?;
                }
                Ok::<_, StoreError>(written.len())
            })
            .await;
        if result.is_err() {
            let mut pending = self
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (id, value) in batch {
                pending.entry(id).or_insert(value);
            }
        }
        result
    }
}
