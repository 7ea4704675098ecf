//! The writer thread: owns the one read-write connection of a database and
//! runs submitted jobs in order, each in its own `BEGIN IMMEDIATE`
//! transaction. Jobs arrive over a bounded channel, so a flood of writes
//! waits (asynchronously) instead of piling up in memory.

use std::{
    panic::{self, AssertUnwindSafe},
    path::Path,
    thread,
};

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use super::StoreError;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// Requests queued for the writer before senders wait.
const QUEUE_DEPTH: usize = 1024;

pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    pub(super) fn spawn(mut conn: Connection, path: &Path) -> Result<Self, StoreError> {
        let (jobs, mut rx) = mpsc::channel::<Job>(QUEUE_DEPTH);
        let name = format!(
            "cairn-writer-{}",
            path.file_stem().and_then(|s| s.to_str()).unwrap_or("db")
        );
        thread::Builder::new()
            .name(name)
            .spawn(move || {
                while let Some(job) = rx.blocking_recv() {
                    // A panicking job must not take the writer down with it:
                    // its transaction rolls back as it unwinds, its caller
                    // sees `WorkerLost`, and the next job runs as usual.
                    if panic::catch_unwind(AssertUnwindSafe(|| job(&mut conn))).is_err() {
                        tracing::error!("a write job panicked; its transaction was rolled back");
                    }
                }
                // Every sender is gone: fold the WAL back into the main file so
                // the data folder is a single consistent file at rest.
                if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
                    tracing::warn!(error = %err, "final WAL checkpoint failed");
                }
            })
            .map_err(|_| StoreError::WorkerLost)?;
        Ok(Self { jobs })
    }

    async fn submit<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Connection) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            // The caller may have gone away (request cancelled); the work is
            // done and committed regardless, so a failed send is fine.
            let _ = tx.send(job(conn));
        });
        self.jobs.send(job).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::WorkerLost)
    }

    pub(super) async fn transaction<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<rusqlite::Error> + Send + 'static,
    {
        self.submit(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await?
    }

    /// Checkpoints the WAL now; the thread ends once the last sender is
    /// dropped (the owning `Database` going away).
    pub(super) async fn close(&self) -> Result<(), StoreError> {
        self.submit(|conn| {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .map_err(StoreError::from)
        })
        .await?
    }
}
