//! The durable job queue: work that must happen because a write committed
//! (a mail to send, a webhook to deliver), kept in the `_jobs` table of
//! `data.db` and run by the workers of `queue`.
//!
//! The table lives in `data.db`, beside the records, and not in
//! `auxiliary.db`, because a job is enqueued in the same transaction as
//! the write that causes it (the outbox pattern): SQLite commits one
//! database atomically, so a committed write always has its jobs and a
//! rolled-back one never does; no crash can fall between the two. Two
//! databases joined by `ATTACH` would not give that in WAL mode.
//!
//! Delivery is at least once: a job stays pending until its outcome is
//! recorded, so a crash while it runs has it run again after the restart;
//! its attempts are counted as they start, so the crashed one counts and a
//! job that always crashes its process is given up in the end (see
//! `queue`). `uid` stays the same across attempts and manual requeues,
//! for receivers to deduplicate on. Jobs that share a `key` run one at a
//! time in the order they were enqueued (a record's webhook deliveries);
//! a failing one holds the later ones back until it succeeds or dies.
//!
//! Memory stays bounded however many jobs wait: they wait in the table,
//! and the workers claim only as many as they have free slots.

mod claims;
mod queue;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

pub use self::queue::{Limits, Queue, QueueStats};
use crate::store::{Database, StoreError};

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Which handler runs it (see `Queue::register`).
    pub kind: &'static str,
    /// Jobs sharing a key run one at a time, in enqueue order.
    pub key: Option<String>,
    /// Whom the job belongs to, for listing (a webhook's id).
    pub tag: Option<String>,
    /// What the handler reads; JSON by convention.
    pub payload: String,
    /// Attempts before the job is given up as dead.
    pub max_attempts: u32,
}

/// A claimed job, as its handler sees it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    /// Stable across retries and requeues: the id receivers deduplicate on.
    pub uid: String,
    pub kind: String,
    pub key: Option<String>,
    pub tag: Option<String>,
    pub payload: String,
    /// This attempt's number, from 1.
    pub attempt: u32,
    pub max_attempts: u32,
    pub created: String,
}

/// A handler's success, with what to keep of it (shown in listings).
#[derive(Debug, Clone, Default)]
pub struct Done {
    pub note: String,
}

/// A handler's failure. A permanent one is not retried.
#[derive(Debug, Clone, Default)]
pub struct Failure {
    pub error: String,
    pub note: String,
    pub permanent: bool,
}

impl Failure {
    pub fn retry(error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            ..Self::default()
        }
    }

    pub fn permanent(error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            permanent: true,
            ..Self::default()
        }
    }
}

/// Runs the jobs of one kind. Each call is bounded by `timeout`; a call
/// that runs over counts as a failure and is retried.
pub trait Handler: Send + Sync + 'static {
    fn run<'a>(&'a self, job: &'a Job) -> futures_util::future::BoxFuture<'a, Result<Done, Failure>>;

    /// How long one attempt may take.
    fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(30)
    }
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting, or running (which only the running process knows).
    Pending,
    Done,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "done" => Self::Done,
            "dead" => Self::Dead,
            _ => Self::Pending,
        }
    }
}

/// A job as stored, for listings.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRow {
    pub id: i64,
    pub uid: String,
    pub kind: String,
    pub key: Option<String>,
    pub tag: Option<String>,
    pub payload: String,
    pub status: Status,
    /// Attempts started, the running one included.
    pub attempts: u32,
    pub max_attempts: u32,
    /// When it may next run (pending) or last ran, in Unix milliseconds.
    pub run_at: i64,
    pub last_error: String,
    pub result: String,
    pub created: String,
    pub updated: String,
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Enqueues `job` in the open write transaction `tx`: it exists once,
/// and only if, `tx` commits. Call `Queue::wake` after the commit for it
/// to start at once (the workers also look every second).
pub fn enqueue(tx: &Connection, job: &NewJob) -> rusqlite::Result<i64> {
    insert(tx, job, &crate::random::lower_alphanumeric(15))
}

/// `enqueue`'s work with nothing kept: the job is written and taken out
/// again in the same transaction, so no worker ever sees it (for a
/// request that must cost what a real enqueue costs: `mail::Mailer::pretend`).
pub fn enqueue_nothing(tx: &Connection, job: &NewJob) -> rusqlite::Result<()> {
    let id = enqueue(tx, job)?;
    tx.prepare_cached("DELETE FROM _jobs WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

fn insert(tx: &Connection, job: &NewJob, uid: &str) -> rusqlite::Result<i64> {
    let now = crate::datetime::now();
    tx.prepare_cached(
        "INSERT INTO _jobs (uid, kind, key, tag, payload, maxAttempts, runAt, created, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
    )?
    .execute(params![
        uid,
        job.kind,
        job.key,
        job.tag,
        job.payload,
        job.max_attempts.max(1),
        now_ms(),
        now
    ])?;
    Ok(tx.last_insert_rowid())
}

const COLUMNS: &str = "id, uid, kind, key, tag, payload, status, attempts, maxAttempts, runAt, lastError, result, created, updated";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRow> {
    Ok(JobRow {
        id: r.get(0)?,
        uid: r.get(1)?,
        kind: r.get(2)?,
        key: r.get(3)?,
        tag: r.get(4)?,
        payload: r.get(5)?,
        status: Status::parse(&r.get::<_, String>(6)?),
        attempts: r.get(7)?,
        max_attempts: r.get(8)?,
        run_at: r.get(9)?,
        last_error: r.get(10)?,
        result: r.get(11)?,
        created: r.get(12)?,
        updated: r.get(13)?,
    })
}

/// Jobs of `kind` (for owner `tag`, if given), newest first, `limit` of
/// them, older than id `before` if given.
pub fn list(
    conn: &Connection,
    kind: &str,
    tag: Option<&str>,
    limit: u32,
    before: Option<i64>,
) -> rusqlite::Result<Vec<JobRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM _jobs
         WHERE kind = ?1 AND (?2 IS NULL OR tag = ?2) AND (?3 IS NULL OR id < ?3)
         ORDER BY id DESC LIMIT {limit}"
    );
    conn.prepare_cached(&sql)?
        .query_map(params![kind, tag, before], row)?
        .collect()
}

/// Jobs given up (dead), newest first, `limit` of them.
pub fn dead(conn: &Connection, limit: u32) -> rusqlite::Result<Vec<JobRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM _jobs WHERE status = 'dead' ORDER BY updated DESC, id DESC LIMIT {limit}"
    );
    conn.prepare_cached(&sql)?.query_map([], row)?.collect()
}

/// One job by id.
pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<JobRow>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM _jobs WHERE id = ?1"))?
        .query_row([id], row)
        .optional()
}

/// Enqueues a finished job again as a new job with the same kind, key,
/// tag, payload and `uid` (a manual redelivery is the same message to its
/// receiver). `None` if there is no job `id`, or it has not finished
/// (a pending job, running or not, is delivered anyway; a copy would only run
/// it twice).
pub fn requeue(tx: &Connection, id: i64) -> rusqlite::Result<Option<i64>> {
    let Some(old) = get(tx, id)?.filter(|j| matches!(j.status, Status::Done | Status::Dead)) else {
        return Ok(None);
    };
    // `kind` is a &'static str in `NewJob`; a stored job's kind is copied
    // by SQL instead.
    let now = crate::datetime::now();
    tx.prepare_cached(
        "INSERT INTO _jobs (uid, kind, key, tag, payload, maxAttempts, runAt, created, updated)
         SELECT uid, kind, key, tag, payload, maxAttempts, ?2, ?3, ?3 FROM _jobs WHERE id = ?1",
    )?
    .execute(params![old.id, now_ms(), now])?;
    Ok(Some(tx.last_insert_rowid()))
}

/// Drops the pending jobs of `kind` for owner `tag` (a deleted webhook's
/// deliveries still to send); one running now records its outcome on
/// nothing. How many went.
pub fn discard_pending(tx: &Connection, kind: &str, tag: &str) -> rusqlite::Result<usize> {
    tx.prepare_cached("DELETE FROM _jobs WHERE kind = ?1 AND tag = ?2 AND status = 'pending'")?
        .execute([kind, tag])
}

/// Counts of jobs per status, for metrics and the dashboard.
pub fn counts(conn: &Connection) -> rusqlite::Result<Vec<(String, Status, u64)>> {
    conn.prepare_cached(
        "SELECT kind, status, count(*) FROM _jobs GROUP BY kind, status ORDER BY kind, status",
    )?
    .query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            Status::parse(&r.get::<_, String>(1)?),
            r.get::<_, i64>(2)?.max(0) as u64,
        ))
    })?
    .collect()
}

/// Finished jobs kept this long, for listings and diagnosis.
pub const KEEP_FINISHED_DAYS: i64 = 7;

/// Deletes jobs that finished (done or dead) over `days` ago, a bounded
/// number per transaction so the writer is never held long; how many.
pub async fn prune(db: &Database, days: i64) -> Result<u64, StoreError> {
    let cutoff = crate::datetime::format(chrono::Utc::now() - chrono::Duration::days(days));
    let mut total = 0u64;
    loop {
        let cutoff = cutoff.clone();
        let n = db
            .write(move |tx| -> Result<usize, StoreError> {
                Ok(tx
                    .prepare_cached(
                        "DELETE FROM _jobs WHERE id IN (SELECT id FROM _jobs
                         WHERE status IN ('done', 'dead') AND updated < ?1 LIMIT 1000)",
                    )?
                    .execute([cutoff])?)
            })
            .await?;
        total += n as u64;
        if n < 1000 {
            return Ok(total);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
