//! Batches: many record writes in one transaction. Every operation is
//! prepared first (each with its own caller, rules and validation, as if
//! sent alone), then all are applied in order inside one write
//! transaction; the first failure rolls everything back, new files
//! included, and names the operation that failed. Where one could not
//! be prepared, the ones before it are rehearsed (applied and rolled
//! back) so the failure named is the first in order, as if each had
//! run in turn. After the commit the
//! batch is finished like any single write, with every change at once.

use std::{sync::Arc, time::Instant};

use rusqlite::Connection;
use serde_json::{Map, Value};

use super::{
    access::Requester,
    delete::DeletePlan,
    deps::RecordsDeps,
    events::RecordChange,
    expand::{self, ExpandTree},
    reveal,
    service::{self, RecordError, RecordFiles},
    write::WritePlan,
};
use crate::{
    schema::{Catalog, Collection},
    store::StoreError,
};

pub enum Op {
    Write(Box<WritePlan>),
    Delete(DeletePlan),
}

/// What each operation produced: the record written, or nothing (a delete).
pub type Outcome = Option<Map<String, Value>>;

/// How a write's record is expanded for its answer, inside the batch's
/// transaction: PocketBase answers each request at its turn, so its
/// expansions show the data as that request left it, not as the whole
/// batch did (a relation a later request changes or deletes).
pub struct Expansion {
    pub requester: Requester,
    pub tree: ExpandTree,
}

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("request {index}: {error}")]
    Request { index: usize, error: RecordError },
    #[error("the batch ran out of time")]
    Timeout,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for BatchError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Store(err.into())
    }
}

/// Where the writes among `ops` staged their new files.
fn staged(ops: &[Op]) -> Vec<RecordFiles> {
    ops.iter()
        .filter_map(|op| match op {
            Op::Write(plan) => Some(plan.staged()),
            Op::Delete(_) => None,
        })
        .collect()
}

/// Whether record `id` of `c` is stored now: an upsert of it would
/// update it rather than create it.
pub async fn stored(deps: &RecordsDeps<'_>, c: Arc<Collection>, id: String) -> Result<bool, StoreError> {
    deps.db
        .read(move |conn| Ok(super::persist::exists(conn, &c, &id)?))
        .await
}

/// Applies `ops` in a transaction that is always rolled back, and
/// answers with the first of them to fail (`Ok` when none does). A
/// batch whose request N could not be prepared (refused, or no record
/// route) asks this of the requests before N: PocketBase runs a batch's
/// requests one by one and names the first that fails, so an earlier
/// request's field errors must win over a later one's refusal. Their
/// staged files are removed either way.
pub async fn rehearse(deps: &RecordsDeps<'_>, mut ops: Vec<Op>, deadline: Instant) -> Result<(), BatchError> {
    if ops.is_empty() {
        return Ok(());
    }
    let staged = staged(&ops);
    let catalog = deps.schema.catalog();
    let outcome = deps
        .db
        .write(move |tx| {
            tx.execute_batch("SAVEPOINT batch_rehearsal")?;
            let outcome = apply_all(tx, &catalog, &mut ops, &[], deadline).map(drop);
            tx.execute_batch("ROLLBACK TO batch_rehearsal; RELEASE batch_rehearsal")?;
            outcome
        })
        .await;
    service::discard(deps, staged).await;
    outcome
}

type Applied = (Vec<Outcome>, Vec<RecordChange>, Vec<RecordFiles>);

/// Applies `ops` in order inside `tx`, up to the first that fails; a
/// write's record is expanded as `expansions` (by index) asks, at once.
fn apply_all(
    tx: &Connection,
    catalog: &Catalog,
    ops: &mut [Op],
    expansions: &[Option<Expansion>],
    deadline: Instant,
) -> Result<Applied, BatchError> {
    let (mut outcomes, mut changes, mut unreferenced) = (Vec::new(), Vec::new(), Vec::new());
    for (index, op) in ops.iter_mut().enumerate() {
        if Instant::now() > deadline {
            return Err(BatchError::Timeout);
        }
        let fail = |error| BatchError::Request { index, error };
        match op {
            Op::Write(plan) => {
                let applied = plan.apply(tx, catalog).map_err(fail)?;
                let (cid, rid, _) = plan.staged();
                let mut record = applied.change.record.clone();
                if let Some(Some(x)) = expansions.get(index) {
                    let c = plan.collection();
                    reveal::fill_kept(&x.requester.caller, &mut record, &applied.change.hidden);
                    let records = std::slice::from_mut(&mut record);
                    expand::apply(tx, catalog, &x.requester, c, records, &x.tree).map_err(fail)?;
                }
                outcomes.push(Some(record));
                unreferenced.push((cid, rid, applied.removed_files));
                changes.push(applied.change);
            }
            Op::Delete(plan) => {
                changes.extend(plan.apply(tx, catalog).map_err(fail)?);
                outcomes.push(None);
            }
        }
    }
    Ok((outcomes, changes, unreferenced))
}

/// Applies `ops` in one transaction; gives up (rolling back) once
/// `deadline` has passed, checked before each operation so a batch never
/// commits after its caller was told it failed.
pub async fn run(
    deps: &RecordsDeps<'_>,
    mut ops: Vec<Op>,
    expansions: Vec<Option<Expansion>>,
    deadline: Instant,
) -> Result<Vec<Outcome>, BatchError> {
    let staged = staged(&ops);
    let catalog = deps.schema.catalog();
    let result = deps
        .db
        .write(move |tx| apply_all(tx, &catalog, &mut ops, &expansions, deadline))
        .await;
    match result {
        Ok((outcomes, changes, unreferenced)) => {
            service::finish(deps, changes, unreferenced).await;
            Ok(outcomes)
        }
        Err(err) => {
            service::discard(deps, staged).await;
            Err(err)
        }
    }
}
