//! The reader threads: a fixed set of OS threads that take read jobs from
//! one shared queue, each holding one read-only connection (checked out of
//! the r2d2 pool on its first job) for as long as it lives.
//!
//! Why not `spawn_blocking` with a connection checked out per read: on a
//! 2-core machine a view by id spent about a third of its CPU on the hop
//! through tokio's blocking pool (its lock, its condition variable, a
//! wake-up each way) and r2d2's check-out. Here the hop is a send on a
//! lock-free queue, whose receivers spin briefly before they sleep, and a
//! oneshot reply; and a connection stays with one thread, so its page
//! cache stays warm on that thread's core.

use std::{
    panic::{self, AssertUnwindSafe},
    path::Path,
    sync::Arc,
    thread,
    time::Instant,
};

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;
use tokio::sync::{Semaphore, oneshot};

use super::StoreError;
use crate::stats::Histogram;

/// A read: runs with the thread's connection, or is told why there is none.
type ReadJob = Box<dyn FnOnce(Result<&Connection, StoreError>) + Send>;

/// Reads queued per reader thread before callers wait (asynchronously).
const QUEUE_PER_THREAD: usize = 256;

pub(super) struct Readers {
    jobs: crossbeam_channel::Sender<ReadJob>,
    /// Bounds the queue: a flood of reads waits here, not in memory.
    slots: Arc<Semaphore>,
    /// How long reads wait for a reader thread (queue and slot).
    pub(super) wait: Arc<Histogram>,
}

impl Readers {
    pub(super) fn spawn(pool: r2d2::Pool<SqliteConnectionManager>, path: &Path) -> Result<Self, StoreError> {
        let threads = pool.max_size() as usize;
        let (jobs, rx) = crossbeam_channel::unbounded::<ReadJob>();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("db");
        for i in 0..threads {
            let (rx, pool) = (rx.clone(), pool.clone());
            thread::Builder::new()
                .name(format!("cairn-read-{stem}-{i}"))
                .spawn(move || {
                    let mut conn = None;
                    // Ends when the `Readers` (the only sender) is dropped.
                    for job in rx.iter() {
                        if conn.is_none() {
                            match pool.get() {
                                Ok(c) => conn = Some(c),
                                Err(err) => {
                                    job(Err(StoreError::Pool(err)));
                                    continue;
                                }
                            }
                        }
                        let Some(c) = conn.as_deref() else { continue };
                        if panic::catch_unwind(AssertUnwindSafe(|| job(Ok(c)))).is_err() {
                            // Its caller sees the reply channel close.
                            tracing::error!("a database read panicked");
                        }
                    }
                })
                .map_err(|_| StoreError::WorkerLost)?;
        }
        Ok(Self {
            jobs,
            slots: Arc::new(Semaphore::new(threads * QUEUE_PER_THREAD)),
            wait: Arc::new(Histogram::latency()),
        })
    }

    pub(super) async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let queued = Instant::now();
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| E::from(StoreError::Closed))?;
        let (tx, rx) = oneshot::channel::<Result<T, E>>();
        let wait = self.wait.clone();
        let job: ReadJob = Box::new(move |conn| {
            let _slot = slot;
            wait.observe_duration(queued.elapsed());
            // A caller that went away (a request cancelled) needs no answer.
            if tx.is_closed() {
                return;
            }
            let _ = tx.send(conn.map_err(E::from).and_then(f));
        });
        self.jobs.send(job).map_err(|_| E::from(StoreError::Closed))?;
        rx.await.map_err(|_| E::from(StoreError::WorkerLost))?
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn readers(dir: &Path, threads: u32) -> Readers {
        let path = dir.join("r.db");
        let conn = super::super::connection::open_writer(&path).expect("open");
        conn.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3);")
            .expect("table");
        let pool = r2d2::Pool::builder()
            .max_size(threads)
            .min_idle(Some(0))
            .build(super::super::connection::reader_manager(&path))
            .expect("pool");
        Readers::spawn(pool, &path).expect("spawn")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_run_side_by_side_on_their_own_connections() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = Arc::new(readers(dir.path(), 3));
        // Three reads that each wait for the others to start: they finish
        // only if three threads run them at once.
        let started = Arc::new(std::sync::Barrier::new(3));
        let mut reads = Vec::new();
        for _ in 0..3 {
            let (r, started) = (r.clone(), started.clone());
            reads.push(tokio::spawn(async move {
                r.run(move |conn| {
                    started.wait();
                    Ok::<_, StoreError>(
                        conn.query_row("SELECT sum(x) FROM t", [], |row| row.get::<_, i64>(0))?,
                    )
                })
                .await
            }));
        }
        for read in reads {
            let sum = tokio::time::timeout(Duration::from_secs(10), read)
                .await
                .expect("the reads ran side by side")
                .expect("task")
                .expect("read");
            assert_eq!(sum, 6);
        }
    }

    #[tokio::test]
    async fn a_panicking_read_fails_alone_and_the_thread_carries_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = readers(dir.path(), 1);
        let lost = r
            .run(|_| -> Result<(), StoreError> { panic!("a bug in a read") })
            .await;
        assert!(matches!(lost, Err(StoreError::WorkerLost)), "{lost:?}");
        let n = r
            .run(|conn| {
                Ok::<_, StoreError>(conn.query_row("SELECT count(*) FROM t", [], |row| row.get::<_, i64>(0))?)
            })
            .await
            .expect("the one thread still reads");
        assert_eq!(n, 3);
        let refused = r
            .run(|conn| Ok::<_, StoreError>(conn.execute_batch("DELETE FROM t")?))
            .await;
        assert!(refused.is_err(), "reader connections are read-only");
    }
}
