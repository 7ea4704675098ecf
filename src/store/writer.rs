//! The writer thread: owns the one read-write connection of a database and
//! runs submitted jobs in order. Jobs arrive over a bounded channel, so a
//! flood of writes waits (asynchronously) instead of piling up in memory.
//!
//! Group commit: the jobs queued when the writer wakes, and those that
//! arrive while they run (up to `MAX_GROUP` in all), share one
//! `BEGIN IMMEDIATE` transaction, each inside its own savepoint. A job
//! that fails is rolled back to its savepoint and answered at once,
//! without touching the others; the rest are answered only after the
//! shared `COMMIT` succeeds (durable to the configured `synchronous`
//! level), and all of them fail if it does not. Under load this turns
//! many small commits, each writing the WAL, into one; with a single
//! writer in flight it is exactly one transaction per job.
//!
//! A job that changes the database in one statement and cannot fail
//! after it (`Isolation::Statement`) runs without a savepoint: SQLite
//! undoes a failed statement by itself, and the savepoint would only copy
//! every page the job touches into the sub-journal. Should such a job
//! fail with a change in place anyway, or should SQLite roll the whole
//! transaction back (as it may on an I/O error), nothing of the group is
//! kept: the jobs that went through are failed, and the ones still queued
//! run in a new transaction.
//!
//! The writer never checkpoints inside a commit: `checkpoint` does that
//! on its own thread, so no write waits on the disk's fsync.

use std::{
    panic::{self, AssertUnwindSafe},
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    thread,
};

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::{StoreError, checkpoint::Checkpointer};
use crate::stats::Histogram;

/// Answers a job whose changes are in the open transaction: with `None`
/// once it committed, with the reason if it did not.
type Completion = Box<dyn FnOnce(Option<StoreError>) + Send>;

/// A write: runs in the group's transaction (`Some`), or is told it
/// cannot (`None`: the transaction did not begin). Returns the completion
/// to call after the commit, or `None` if it failed and has answered.
type WriteJob = Box<dyn FnOnce(Option<&Connection>) -> Option<Completion> + Send>;

/// How a job's changes are kept apart from the other jobs of its group,
/// so that its failure undoes only them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// In a savepoint of its own: for any job.
    Savepoint,
    /// By SQLite's statement atomicity: for a job that changes the
    /// database in at most one statement and does nothing that can fail
    /// after it.
    Statement,
}

struct Write {
    run: WriteJob,
    isolation: Isolation,
}

enum Job {
    Write(Write),
    /// Checkpoints the WAL back into the main file, between transactions.
    Checkpoint(oneshot::Sender<Result<(), StoreError>>),
    /// Runs with the connection itself, between transactions: for work
    /// that opens its own (replacing the whole database from a backup).
    Exclusive(ExclusiveJob),
}

/// Work that needs the writer's connection outside any transaction.
type ExclusiveJob = Box<dyn FnOnce(&mut Connection) + Send>;

/// Requests queued for the writer before senders wait.
const QUEUE_DEPTH: usize = 1024;
/// Most jobs sharing one commit: bounds how long the first of them waits
/// for the others.
const MAX_GROUP: usize = 64;

pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
    /// Transactions committed so far (see `Database::commits`).
    commits: Arc<AtomicU64>,
    pub(super) stats: Arc<WriterStats>,
}

/// Bounds of the group-size histogram: 1 to `MAX_GROUP` jobs a commit.
const GROUP_BOUNDS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

/// What the writer measures of itself.
#[derive(Debug)]
pub struct WriterStats {
    /// Write jobs per committed transaction.
    pub group_size: Histogram,
    /// From `BEGIN` to the end of `COMMIT`, per committed transaction.
    pub commit_seconds: Histogram,
}

impl Default for WriterStats {
    fn default() -> Self {
        Self {
            group_size: Histogram::new(GROUP_BOUNDS),
            commit_seconds: Histogram::latency(),
        }
    }
}

impl Writer {
    pub(super) fn spawn(conn: Connection, path: &Path) -> Result<Self, StoreError> {
        let (jobs, mut rx) = mpsc::channel::<Job>(QUEUE_DEPTH);
        let commits = Arc::new(AtomicU64::new(0));
        let counter = commits.clone();
        let stats = Arc::new(WriterStats::default());
        let measured = stats.clone();
        let name = format!(
            "cairn-writer-{}",
            path.file_stem().and_then(|s| s.to_str()).unwrap_or("db")
        );
        let mut checkpoints = Checkpointer::start(&conn, path, commits.clone())?;
        thread::Builder::new()
            .name(name)
            .spawn(move || {
                let mut conn = conn;
                let mut next = None;
                while let Some(job) = next.take().or_else(|| rx.blocking_recv()) {
                    match job {
                        Job::Checkpoint(done) => {
                            let _ = done.send(checkpoints.at_rest());
                        }
                        Job::Exclusive(run) => {
                            if panic::catch_unwind(AssertUnwindSafe(|| run(&mut conn))).is_err() {
                                tracing::error!("an exclusive writer job panicked");
                            }
                            if !conn.is_autocommit() {
                                let _ = conn.execute_batch("ROLLBACK");
                            }
                            // Whatever it changed is a new version of the data.
                            counter.fetch_add(1, Ordering::Release);
                        }
                        Job::Write(first) => {
                            // The group takes in writes as long as they keep
                            // coming; anything else runs after it.
                            let mut more = || {
                                if next.is_some() {
                                    return None;
                                }
                                match rx.try_recv() {
                                    Ok(Job::Write(job)) => Some(job),
                                    Ok(other) => {
                                        next = Some(other);
                                        None
                                    }
                                    Err(_) => None,
                                }
                            };
                            if run_group(&conn, first, &mut more, &counter, &measured) {
                                checkpoints.after_commit();
                            }
                        }
                    }
                }
                // Every sender is gone: fold the WAL back into the main file so
                // the data folder is a single consistent file at rest.
                if let Err(err) = checkpoints.at_rest() {
                    tracing::warn!(error = %err, "final WAL checkpoint failed");
                }
            })
            .map_err(|_| StoreError::WorkerLost)?;
        Ok(Self { jobs, commits, stats })
    }

    pub(super) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Acquire)
    }

    /// Jobs waiting in the queue.
    pub(super) fn queued(&self) -> usize {
        self.jobs.max_capacity() - self.jobs.capacity()
    }

    pub(super) async fn transaction<T, E, F>(&self, isolation: Isolation, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<rusqlite::Error> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T, E>>();
        // The caller may have gone away (request cancelled); the work is
        // done regardless, so failed sends are fine.
        let run: WriteJob = Box::new(move |conn| {
            let Some(conn) = conn else {
                let _ = tx.send(Err(StoreError::Closed.into()));
                return None;
            };
            let out = f(conn);
            match out {
                Ok(value) => Some(Box::new(move |failed: Option<StoreError>| {
                    let _ = tx.send(match failed {
                        None => Ok(value),
                        Some(err) => Err(err.into()),
                    });
                }) as Completion),
                Err(err) => {
                    let _ = tx.send(Err(err));
                    None
                }
            }
        });
        self.jobs
            .send(Job::Write(Write { run, isolation }))
            .await
            .map_err(|_| E::from(StoreError::Closed))?;
        rx.await.map_err(|_| E::from(StoreError::WorkerLost))?
    }

    /// Runs `f` with the connection itself, between transactions, after
    /// the writes queued before it; the writes queued after it wait.
    pub(super) async fn exclusive<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let run: ExclusiveJob = Box::new(move |conn| {
            let _ = tx.send(f(conn));
        });
        self.jobs
            .send(Job::Exclusive(run))
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::WorkerLost)?
    }

    /// Checkpoints the WAL now; the thread ends once the last sender is
    /// dropped (the owning `Database` going away).
    pub(super) async fn close(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Job::Checkpoint(tx))
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::WorkerLost)?
    }
}

/// Runs `first`, then the jobs `more` gives while it has any (up to
/// `MAX_GROUP` in all), in one transaction, each isolated as it asks, and
/// answers every job: failures at once, the rest after the commit (and
/// after `commits` counts it, so a caller's next read sees a new count).
/// Taking in the jobs that arrive while the group runs, rather than only
/// those queued when it began, lets a busy writer commit less often.
/// Returns whether it committed.
fn run_group(
    conn: &Connection,
    first: Write,
    more: &mut dyn FnMut() -> Option<Write>,
    commits: &AtomicU64,
    stats: &WriterStats,
) -> bool {
    let began = std::time::Instant::now();
    let step = |sql: &str| {
        conn.prepare_cached(sql)
            .and_then(|mut s| s.execute([]))
            .map(|_| ())
    };
    if let Err(err) = step("BEGIN IMMEDIATE") {
        tracing::warn!(error = %err, "cannot begin a write transaction");
        let _ = panic::catch_unwind(AssertUnwindSafe(|| (first.run)(None)));
        return false;
    }
    let mut done: Vec<Completion> = Vec::new();
    let mut job = Some(first);
    let mut taken = 0;
    while let Some(Write { run, isolation }) = job.take() {
        taken += 1;
        let savepoint = isolation == Isolation::Savepoint;
        if savepoint && let Err(err) = step("SAVEPOINT cairn_job") {
            // Nothing of this job ran; it fails alone.
            tracing::error!(error = %err, "cannot open a savepoint");
            let _ = panic::catch_unwind(AssertUnwindSafe(|| run(None)));
        } else {
            let before = conn.total_changes();
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| run(Some(conn))));
            let failed = !matches!(outcome, Ok(Some(_)));
            match outcome {
                Ok(Some(completion)) => done.push(completion),
                // Failed, and answered.
                Ok(None) => {}
                // Its caller sees the channel close.
                Err(_) => tracing::error!("a write job panicked; its changes are rolled back"),
            }
            // Whether the transaction still holds exactly the other jobs'
            // changes, and this one's if it went through.
            let kept_apart = if conn.is_autocommit() {
                // SQLite rolled the transaction back (an I/O error, say).
                false
            } else if !failed {
                if savepoint {
                    let _ = step("RELEASE cairn_job");
                }
                true
            } else if savepoint {
                step("ROLLBACK TO cairn_job")
                    .and_then(|()| step("RELEASE cairn_job"))
                    .map_err(|err| tracing::error!(error = %err, "cannot roll back a failed write job"))
                    .is_ok()
            } else {
                conn.total_changes() == before
            };
            if !kept_apart {
                tracing::error!(
                    "a write job could not be kept apart from its group; the whole transaction is rolled back"
                );
                if !conn.is_autocommit() {
                    let _ = step("ROLLBACK");
                }
                for c in done {
                    c(Some(StoreError::CommitFailed(
                        "a write sharing its transaction failed, and the transaction was rolled back".into(),
                    )));
                }
                // The jobs still queued run in a transaction of their own.
                return false;
            }
        }
        if taken < MAX_GROUP {
            job = more();
        }
    }
    match step("COMMIT") {
        Ok(()) => {
            stats.commit_seconds.observe_duration(began.elapsed());
            stats.group_size.observe(taken as f64);
            commits.fetch_add(1, Ordering::Release);
            done.into_iter().for_each(|c| c(None));
            true
        }
        Err(err) => {
            tracing::error!(error = %err, "a write transaction failed to commit");
            let _ = step("ROLLBACK");
            let message = err.to_string();
            let full = err.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull);
            for c in done {
                c(Some(match full {
                    true => StoreError::DiskFull,
                    false => StoreError::CommitFailed(message.clone()),
                }));
            }
            false
        }
    }
}

#[cfg(test)]
mod tests;
