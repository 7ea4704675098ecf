//! The workers: one dispatcher task claims due jobs (as many as there are
//! free slots) and runs each on a task of its own, bounded by its
//! handler's timeout; each records its outcome and wakes the dispatcher.
//!
//! The dispatcher first looks on a reader for a job it could claim, and
//! only then takes the writer: an idle queue costs one indexed read a
//! second, never a write (a write would also move `Database::commits`,
//! which caches of list totals are keyed on). Outcomes are single-row
//! updates that the writer's group commit folds together, so a burst of
//! finished jobs costs few commits.
//!
//! A claim is two steps. A read finds the jobs due (an idle queue
//! stops there), then one statement on the writer counts their attempt:
//! a job's attempt is counted when it starts, not when it ends. Which
//! jobs run is this process's knowledge (only one process serves a data
//! folder), kept in memory; a job stays pending in the database while it
//! runs, so should the process die, it is claimable again at the next
//! start and every job runs at least once. Counting at the start is what
//! ends a job that kills the process it runs in (an abort, the memory
//! running out): each crash has used up an attempt, and a job found with
//! none left is given up as dead instead of run again forever. The price
//! is a third write per job (enqueue, claim, outcome), one single-row
//! statement that the group commit folds in with the others. The outcome
//! is recorded only for the job that was claimed (its `uid`), so a
//! restore of a backup while jobs run cannot mark another job done.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    panic::AssertUnwindSafe,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use futures_util::FutureExt;
use rand::Rng;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use super::{
    Failure, Handler, Job,
    claims::{Attempt, claim_in, count_attempts, record},
    now_ms,
};
use crate::store::{Database, StoreError};

/// How many jobs run at once and how failures are spaced.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Jobs running at once.
    pub workers: usize,
    /// The wait after a first failure; it doubles with every further one…
    pub retry_base: Duration,
    /// …up to this.
    pub retry_cap: Duration,
    /// How often the dispatcher looks for due jobs without being woken,
    /// while jobs are pending…
    pub poll: Duration,
    /// …and when none is: every enqueue wakes the queue after its commit,
    /// so an idle queue's look is only a safety net, and an idle server
    /// does no work (it used to read twice a second for nothing).
    pub idle: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            workers: 16,
            retry_base: Duration::from_secs(10),
            retry_cap: Duration::from_secs(3600),
            poll: Duration::from_secs(1),
            idle: Duration::from_secs(30),
        }
    }
}

impl Limits {
    /// The wait before attempt `attempt + 1`: exponential, with "equal
    /// jitter" (half fixed, half random) so that jobs that failed together
    /// (a receiver that was down) do not all come back in the same instant.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let half = self.backoff_floor(attempt);
        half + half.mul_f64(rand::rng().random::<f64>())
    }

    /// The shortest wait `backoff` gives before attempt `attempt + 1`.
    pub fn backoff_floor(&self, attempt: u32) -> Duration {
        let exp = self
            .retry_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.retry_cap);
        exp / 2
    }
}

/// What the queue counts of itself, for the metrics.
#[derive(Default)]
pub struct QueueStats {
    /// Pending jobs when the dispatcher last looked (up to `COUNT_CAP`).
    pub pending: AtomicU64,
    /// Attempts finished, by kind and outcome (`done`, `retry`, `dead`).
    outcomes: Mutex<BTreeMap<(String, &'static str), u64>>,
}

impl QueueStats {
    /// Attempts finished so far: (kind, outcome, count).
    pub fn outcomes(&self) -> Vec<(String, &'static str, u64)> {
        lock(&self.outcomes)
            .iter()
            .map(|((k, o), n)| (k.clone(), *o, *n))
            .collect()
    }

    fn count(&self, kind: &str, outcome: &'static str) {
        *lock(&self.outcomes)
            .entry((kind.to_owned(), outcome))
            .or_default() += 1;
    }
}

/// Pending jobs counted at most: the count is a gauge, and counting a
/// flood of millions every second would cost more than it tells.
const COUNT_CAP: i64 = 100_000;

struct Inner {
    db: Arc<Database>,
    stats: QueueStats,
    limits: Limits,
    handlers: RwLock<HashMap<String, Arc<dyn Handler>>>,
    wake: Notify,
    slots: Arc<Semaphore>,
    stop: CancellationToken,
    /// The jobs running here, with their kinds.
    in_flight: Mutex<HashMap<i64, String>>,
}

/// The queue's runtime; see the module doc.
pub struct Queue {
    inner: Arc<Inner>,
}

impl Queue {
    pub fn new(db: Arc<Database>, limits: Limits) -> Self {
        let workers = limits.workers.max(1);
        Self {
            inner: Arc::new(Inner {
                db,
                limits: Limits { workers, ..limits },
                handlers: RwLock::default(),
                stats: QueueStats::default(),
                wake: Notify::new(),
                slots: Arc::new(Semaphore::new(workers)),
                stop: CancellationToken::new(),
                in_flight: Mutex::default(),
            }),
        }
    }

    /// Makes `handler` run the jobs of `kind`. Register every kind before
    /// `start`: a job whose kind has no handler is given up as dead.
    pub fn register(&self, kind: &str, handler: Arc<dyn Handler>) {
        let mut handlers = match self.inner.handlers.write() {
            Ok(h) => h,
            Err(poisoned) => poisoned.into_inner(),
        };
        handlers.insert(kind.to_owned(), handler);
    }

    /// Starts the dispatcher. Nothing needs recovering first: a job that
    /// was running when a process died is still pending.
    pub fn start(&self) {
        tokio::spawn(dispatch(self.inner.clone()));
    }

    pub fn stats(&self) -> &QueueStats {
        &self.inner.stats
    }

    /// Jobs running now.
    pub fn running(&self) -> usize {
        lock(&self.inner.in_flight).len()
    }

    /// The ids of the jobs running now (the database shows them as
    /// pending, their attempt already counted).
    pub fn running_ids(&self) -> HashSet<i64> {
        lock(&self.inner.in_flight).keys().copied().collect()
    }

    /// Jobs running now, by kind (the database shows them as pending).
    pub fn running_by_kind(&self) -> HashMap<String, u64> {
        let mut out = HashMap::new();
        for kind in lock(&self.inner.in_flight).values() {
            *out.entry(kind.clone()).or_default() += 1;
        }
        out
    }

    /// Tells the dispatcher that jobs were enqueued (after their commit).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Stops claiming jobs and waits up to `limit` for those running to
    /// finish and be recorded. Any still running after that stay pending
    /// and run again after the next start; the attempt they were cut
    /// short in was counted when it began, so a job that outlasts every
    /// stop's grace still reaches its last attempt instead of starting
    /// over each time.
    pub async fn stop(&self, limit: Duration) {
        self.inner.stop.cancel();
        let workers = self.inner.limits.workers as u32;
        let _ = tokio::time::timeout(limit, self.inner.slots.acquire_many(workers)).await;
    }
}

async fn dispatch(inner: Arc<Inner>) {
    let mut counted: Option<std::time::Instant> = None;
    loop {
        if inner.stop.is_cancelled() {
            return;
        }
        // The backlog gauge, at most once a second: counting a large
        // backlog on every claim would cost more than the claims.
        if counted.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            match count_pending(&inner.db).await {
                Ok(n) => inner.stats.pending.store(n, Ordering::Relaxed),
                Err(err) => tracing::warn!(error = %err, "cannot count pending jobs"),
            }
            counted = Some(std::time::Instant::now());
        }
        let free = inner.slots.available_permits();
        let mut wait = inner.limits.poll;
        if free > 0 {
            let skip: Vec<i64> = lock(&inner.in_flight).keys().copied().collect();
            let claimed = match due(&inner.db, free, skip).await {
                Ok((jobs, next_at)) => {
                    let full = jobs.len() == free;
                    start(&inner, jobs).await.map(|()| (full, next_at))
                }
                Err(err) => Err(err),
            };
            match claimed {
                Ok((true, _)) => continue,
                Ok((false, next_at)) => {
                    wait = match next_at {
                        Some(at) => wait.min(Duration::from_millis((at - now_ms()).max(0) as u64)),
                        None if lock(&inner.in_flight).is_empty() => inner.limits.idle,
                        // Those running wake the queue when they end.
                        None => wait,
                    };
                }
                Err(err) => tracing::warn!(error = %err, "cannot claim jobs"),
            }
        }
        tokio::select! {
            _ = inner.wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = inner.stop.cancelled() => return,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

async fn count_pending(db: &Database) -> Result<u64, StoreError> {
    db.read(|conn| -> Result<u64, StoreError> {
        let n: i64 = conn
            .prepare_cached(&format!(
                "SELECT count(*) FROM (SELECT 1 FROM _jobs WHERE status = 'pending' LIMIT {COUNT_CAP})"
            ))?
            .query_row([], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    })
    .await
}

/// Up to `n` claimable jobs, oldest due first, leaving out those already
/// running here (`skip`); and, when fewer are due, when the next one is.
/// A read: the claim's write (`start`) follows only if there are any.
async fn due(db: &Database, n: usize, skip: Vec<i64>) -> Result<(Vec<Job>, Option<i64>), StoreError> {
    db.read(move |conn| claim_in(conn, now_ms(), n, &skip)).await
}

/// Claims `jobs` (just read as due): marks them running here, counts
/// their attempt in one statement, and runs those that had one left. One
/// whose attempts were all used up by runs cut short (the process died
/// or stopped while it ran) is given up as dead instead.
async fn start(inner: &Arc<Inner>, jobs: Vec<Job>) -> Result<(), StoreError> {
    // Only the dispatcher takes permits, and it read as many jobs as
    // there were free.
    let jobs: Vec<(Job, OwnedSemaphorePermit)> = jobs
        .into_iter()
        .map_while(|job| inner.slots.clone().try_acquire_owned().ok().map(|p| (job, p)))
        .collect();
    if jobs.is_empty() {
        return Ok(());
    }
    // Running before their attempt is counted, so that whoever reads a
    // counted attempt of a pending job also sees it running.
    {
        let mut running = lock(&inner.in_flight);
        for (job, _) in &jobs {
            running.insert(job.id, job.kind.clone());
        }
    }
    let ids: Vec<(i64, String)> = jobs.iter().map(|(j, _)| (j.id, j.uid.clone())).collect();
    let counted = inner.db.write_statement(move |tx| count_attempts(tx, &ids)).await;
    let counted = match counted {
        Ok(counted) => counted,
        Err(err) => {
            let mut running = lock(&inner.in_flight);
            for (job, _) in &jobs {
                running.remove(&job.id);
            }
            return Err(err);
        }
    };
    let mut finished = false;
    for (mut job, permit) in jobs {
        match counted.get(&job.id) {
            Some(Attempt::Run(n)) => {
                job.attempt = *n;
                tokio::spawn(run(inner.clone(), job, permit));
                continue;
            }
            Some(Attempt::UsedUp) => {
                inner.stats.count(&job.kind, "dead");
                tracing::warn!(
                    kind = %job.kind, job = job.id, attempts = job.max_attempts,
                    "job given up: its last attempt was cut short by a stop or a crash"
                );
            }
            // Gone since it was read: deleted (its webhook was), or the
            // database was restored from a backup.
            None => {}
        }
        lock(&inner.in_flight).remove(&job.id);
        finished = true;
    }
    if finished {
        // A later job of the same key may be claimable now.
        inner.wake.notify_one();
    }
    Ok(())
}

async fn run(inner: Arc<Inner>, job: Job, _slot: OwnedSemaphorePermit) {
    let handler = match inner.handlers.read() {
        Ok(h) => h.get(&job.kind).cloned(),
        Err(poisoned) => poisoned.into_inner().get(&job.kind).cloned(),
    };
    let outcome = match handler {
        None => Err(Failure::permanent(format!(
            "no handler for jobs of kind {:?}",
            job.kind
        ))),
        Some(handler) => {
            let limit = handler.timeout();
            match tokio::time::timeout(limit, AssertUnwindSafe(handler.run(&job)).catch_unwind()).await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(_)) => Err(Failure::retry("the job's handler panicked")),
                Err(_) => Err(Failure::retry(format!(
                    "timed out after {} s",
                    limit.as_secs_f64()
                ))),
            }
        }
    };
    let retry_at = match &outcome {
        Err(f) if !f.permanent && job.attempt < job.max_attempts => {
            Some(now_ms() + inner.limits.backoff(job.attempt).as_millis() as i64)
        }
        _ => None,
    };
    let counted = match (&outcome, retry_at) {
        (Ok(_), _) => "done",
        (Err(_), Some(_)) => "retry",
        (Err(_), None) => "dead",
    };
    inner.stats.count(&job.kind, counted);
    match &outcome {
        Ok(_) => {}
        Err(f) if retry_at.is_some() => tracing::info!(
            kind = %job.kind, job = job.id, attempt = job.attempt, error = %f.error,
            "job failed; it will be retried"
        ),
        Err(f) => tracing::warn!(
            kind = %job.kind, job = job.id, attempts = job.attempt, error = %f.error,
            "job failed and was given up"
        ),
    }
    let id = (job.id, job.uid.clone());
    let recorded = inner
        .db
        .write_statement(move |tx| record(tx, id, outcome, retry_at))
        .await;
    if let Err(err) = recorded {
        tracing::warn!(kind = %job.kind, job = job.id, error = %err, "cannot record a job's outcome; it will run again");
        // Not at once: a database that cannot be written (a full disk)
        // would otherwise have the job run again and again.
        tokio::time::sleep(inner.limits.poll).await;
    }
    // Only now claimable again (if it is to be retried): its outcome is
    // committed, so the next read sees it.
    lock(&inner.in_flight).remove(&job.id);
    inner.wake.notify_one();
}
