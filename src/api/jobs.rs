//! `/api/jobs` (Cairn's own, superusers only): the durable job queue at a
//! glance (jobs per kind and status, the ones given up) and "try again"
//! for a job given up, e.g. mail after the SMTP settings were fixed.
//! Payloads are never shown: a mail job holds a password-reset link.

use std::sync::Arc;

use poem_openapi::{Object, OpenApi, param::Path, payload::Json};

use super::{ApiTags, collections::Done, guard::Superuser};
use crate::{
    app::AppState,
    http::error::ApiError,
    jobs::{self, JobRow, Status},
    store::StoreError,
};

/// Given-up jobs listed at most.
const DEAD_LISTED: u32 = 50;

#[derive(Object, Default)]
pub struct KindCounts {
    kind: String,
    pending: u64,
    running: u64,
    done: u64,
    dead: u64,
}

/// A job given up, without its payload.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct DeadJob {
    id: i64,
    /// What receivers deduplicate on (a webhook's `webhook-id`).
    uid: String,
    kind: String,
    attempts: u32,
    last_error: String,
    created: String,
    updated: String,
}

impl From<JobRow> for DeadJob {
    fn from(j: JobRow) -> Self {
        Self {
            id: j.id,
            uid: j.uid,
            kind: j.kind,
            attempts: j.attempts,
            last_error: j.last_error,
            created: j.created,
            updated: j.updated,
        }
    }
}

#[derive(Object)]
pub struct QueueSummary {
    /// Jobs per kind and status.
    kinds: Vec<KindCounts>,
    /// The latest jobs given up, newest first.
    dead: Vec<DeadJob>,
}

pub struct JobsApi {
    state: Arc<AppState>,
}

impl JobsApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[OpenApi(tag = "ApiTags::Jobs")]
impl JobsApi {
    /// The job queue: counts per kind and status, and the jobs given up.
    #[oai(path = "/jobs", method = "get")]
    async fn summary(&self, _superuser: Superuser) -> poem::Result<Json<QueueSummary>> {
        let (counts, dead) = self
            .state
            .store
            .data
            .read(|conn| -> Result<_, StoreError> {
                Ok((jobs::counts(conn)?, jobs::dead(conn, DEAD_LISTED)?))
            })
            .await
            .map_err(ApiError::internal)?;
        let mut kinds: Vec<KindCounts> = Vec::new();
        for (kind, status, n) in counts {
            if kinds.last().is_none_or(|k| k.kind != kind) {
                kinds.push(KindCounts {
                    kind,
                    ..KindCounts::default()
                });
            }
            if let Some(k) = kinds.last_mut() {
                match status {
                    Status::Pending => k.pending = n,
                    Status::Done => k.done = n,
                    Status::Dead => k.dead = n,
                }
            }
        }
        // Running jobs are pending in the database; the queue knows them.
        for (kind, n) in self.state.jobs.running_by_kind() {
            if let Some(k) = kinds.iter_mut().find(|k| k.kind == kind) {
                k.running += n;
                k.pending = k.pending.saturating_sub(n);
            }
        }
        Ok(Json(QueueSummary {
            kinds,
            dead: dead.into_iter().map(DeadJob::from).collect(),
        }))
    }

    /// Try a job given up (or done) again: a new job with the same kind,
    /// payload and `uid`. 404 if there is no such finished job.
    #[oai(path = "/jobs/:id/retry", method = "post")]
    async fn retry(&self, _superuser: Superuser, id: Path<i64>) -> poem::Result<Done> {
        let id = id.0;
        let copied = self
            .state
            .store
            .data
            .write(move |tx| -> Result<_, StoreError> { Ok(jobs::requeue(tx, id)?) })
            .await
            .map_err(ApiError::internal)?;
        if copied.is_none() {
            return Err(ApiError::not_found().into());
        }
        self.state.jobs.wake();
        Ok(Done::NoContent)
    }
}
