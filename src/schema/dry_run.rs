//! Checking a collection change without making it: the same validation,
//! table changes and view checks as `Schema::create` / `Schema::update`,
//! inside a savepoint that is always rolled back. The dashboard uses it to
//! show a rule's (or any field's) error while it is typed, before saving.
//!
//! It takes the writer like a real change, since the checks that matter
//! (a unique index over existing rows, a view that would stop working)
//! need the change applied to be seen; nothing of it is kept, and the
//! catalog is not touched.

use rusqlite::Connection;
use serde_json::{Map, Value};

use super::{Catalog, LeftOut, Schema, SchemaError, create_in, keep_views_working, update_in, view};
use crate::store::Database;

impl Schema {
    /// `Ok` when saving `body` would succeed: as a new collection, or as a
    /// change to `existing` (an id or name); otherwise the error saving it
    /// would give.
    pub async fn dry_run(
        &self,
        db: &Database,
        existing: Option<String>,
        body: Map<String, Value>,
    ) -> Result<(), SchemaError> {
        let (check, accounts) = (self.rule_check, self.accounts);
        db.write(move |tx| {
            tx.execute_batch("SAVEPOINT collection_dry_run")?;
            let outcome = attempt(tx, existing.as_deref(), &body, check, accounts);
            tx.execute_batch("ROLLBACK TO collection_dry_run; RELEASE collection_dry_run")?;
            outcome
        })
        .await
    }
}

fn attempt(
    tx: &Connection,
    existing: Option<&str>,
    body: &Map<String, Value>,
    check: super::RuleCheck,
    accounts: super::AccountHooks,
) -> Result<(), SchemaError> {
    let stored = Catalog::load(tx, 0)?;
    let broken_before = view::broken(tx)?;
    match existing {
        Some(id_or_name) => {
            let old = stored.get(id_or_name).ok_or(SchemaError::NotFound)?;
            update_in(tx, &stored, old, body, check, accounts, LeftOut::Deleted)?;
        }
        None => {
            create_in(tx, &stored, body, check)?;
        }
    }
    keep_views_working(tx, &broken_before)
}
