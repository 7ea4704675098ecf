//! Batches: many record writes in one transaction. Every operation is
//! prepared first (each with its own caller, rules and validation, as if
//! sent alone), then all are applied in order inside one write
//! transaction; the first failure rolls everything back, new files
//! included, and names the operation that failed. After the commit the
//! batch is finished like any single write, with every change at once.

use std::{sync::Arc, time::Instant};

use serde_json::{Map, Value};

use super::{
    delete::DeletePlan,
    deps::RecordsDeps,
    service::{self, RecordError, RecordFiles},
    write::WritePlan,
};
use crate::{schema::Collection, store::StoreError};

pub enum Op {
    Write(Box<WritePlan>),
    Delete(DeletePlan),
}

/// What each operation produced: the record written, or nothing (a delete).
pub type Outcome = Option<Map<String, Value>>;

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

/// Removes the files staged by operations that will not run (a later
/// one failed to prepare).
pub async fn abandon(deps: &RecordsDeps<'_>, ops: &[Op]) {
    let staged = ops
        .iter()
        .filter_map(|op| match op {
            Op::Write(plan) => Some(plan.staged()),
            Op::Delete(_) => None,
        })
        .collect();
    service::discard(deps, staged).await;
}

/// Whether record `id` of `c` is stored now: an upsert of it would
/// update it rather than create it.
pub async fn stored(deps: &RecordsDeps<'_>, c: Arc<Collection>, id: String) -> Result<bool, StoreError> {
    deps.db
        .read(move |conn| Ok(super::persist::exists(conn, &c, &id)?))
        .await
}

/// Applies `ops` in one transaction; gives up (rolling back) once
/// `deadline` has passed, checked before each operation so a batch never
/// commits after its caller was told it failed.
pub async fn run(
    deps: &RecordsDeps<'_>,
    mut ops: Vec<Op>,
    deadline: Instant,
) -> Result<Vec<Outcome>, BatchError> {
    let staged: Vec<RecordFiles> = ops
        .iter()
        .filter_map(|op| match op {
            Op::Write(plan) => Some(plan.staged()),
            Op::Delete(_) => None,
        })
        .collect();
    let catalog = deps.schema.catalog();
    let result = deps
        .db
        .write(move |tx| {
            let (mut outcomes, mut changes, mut unreferenced) = (Vec::new(), Vec::new(), Vec::new());
            for (index, op) in ops.iter_mut().enumerate() {
                if Instant::now() > deadline {
                    return Err(BatchError::Timeout);
                }
                let fail = |error| BatchError::Request { index, error };
                match op {
                    Op::Write(plan) => {
                        let applied = plan.apply(tx, &catalog).map_err(fail)?;
                        let (cid, rid, _) = plan.staged();
                        outcomes.push(Some(applied.change.record.clone()));
                        unreferenced.push((cid, rid, applied.removed_files));
                        changes.push(applied.change);
                    }
                    Op::Delete(plan) => {
                        changes.extend(plan.apply(tx, &catalog).map_err(fail)?);
                        outcomes.push(None);
                    }
                }
            }
            Ok((outcomes, changes, unreferenced))
        })
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
