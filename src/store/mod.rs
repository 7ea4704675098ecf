//! SQLite storage: two database files (`data.db` for collections, records
//! and auth; `auxiliary.db` for request logs and metrics), each with one
//! writer thread through which every write transaction goes and a set of
//! reader threads, each with its own read-only connection.
//!
//! SQLite allows one writer at a time; funnelling writes through one
//! connection turns lock contention (and `SQLITE_BUSY`) into an ordered
//! queue, and keeps the async executor free: callers `await` a channel
//! while the blocking work runs on the writer thread or a reader thread.
//! This module knows nothing about HTTP.

mod checkpoint;
mod connection;
mod migrations;
mod readers;
mod snapshot;
mod writer;

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use rusqlite::Connection;

pub use connection::register_functions;
pub use migrations::{MigrationSet, MigrationStatus};
use readers::Readers;
pub use snapshot::{FileProblem, check_file};
use writer::{Isolation, Writer};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("connection pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("cannot create the data folder {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Migration(String),
    #[error("the database is inconsistent: {0}")]
    Corrupt(String),
    #[error("the database is shut down")]
    Closed,
    #[error("the database worker stopped unexpectedly")]
    WorkerLost,
    #[error("the transaction failed to commit: {0}")]
    CommitFailed(String),
}

/// Both databases of a data folder.
pub struct Store {
    pub data: Database,
    pub auxiliary: Database,
}

impl Store {
    /// Opens (creating if needed) both databases under `dir` and applies
    /// pending migrations. A migration that was changed after it was
    /// applied stops here, before anything is served.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.to_owned(),
            source,
        })?;
        let data = Database::open(&dir.join("data.db"), MigrationSet::Data)?;
        let auxiliary = Database::open(&dir.join("auxiliary.db"), MigrationSet::Auxiliary)?;
        Ok(Self { data, auxiliary })
    }

    /// Checkpoints the WAL of both databases and stops their writers.
    pub async fn close(&self) {
        for db in [&self.data, &self.auxiliary] {
            if let Err(err) = db.close().await {
                tracing::warn!(db = %db.path.display(), error = %err, "closing the database");
            }
        }
    }
}

pub struct Database {
    path: PathBuf,
    writer: Writer,
    readers: Readers,
    migrations: MigrationSet,
}

impl Database {
    fn open(path: &Path, migrations: MigrationSet) -> Result<Self, StoreError> {
        let mut conn = connection::open_writer(path)?;
        migrations.apply(&mut conn)?;
        let writer = Writer::spawn(conn, path)?;
        // r2d2 opens the reader connections (with their PRAGMAs) as the
        // reader threads first need them; each thread keeps its own.
        let pool = r2d2::Pool::builder()
            .max_size(read_pool_size())
            .min_idle(Some(0))
            // A connection to a local file does not go stale; the check
            // would run a statement before every read.
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(10))
            .build(connection::reader_manager(path))?;
        Ok(Self {
            path: path.to_owned(),
            writer,
            readers: Readers::spawn(pool, path)?,
            migrations,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the writer inside a `BEGIN IMMEDIATE` transaction:
    /// its changes are committed if it returns `Ok` (and only then is the
    /// answer given), rolled back if it returns `Err`. Several callers'
    /// closures may share one transaction, each in its own savepoint (see
    /// `writer`), so `f` must not begin, commit or roll back itself.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<rusqlite::Error> + Send + 'static,
    {
        self.writer.transaction(Isolation::Savepoint, f).await
    }

    /// `write`, for an `f` that changes the database in at most one
    /// statement and does nothing that can fail after it (reading back
    /// what it wrote is fine): it needs no savepoint of its own, because
    /// SQLite undoes a failed statement by itself. Cheaper under load;
    /// should `f` break the promise, its whole group is rolled back and
    /// failed rather than left half-written (see `writer`).
    pub async fn write_statement<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<rusqlite::Error> + Send + 'static,
    {
        self.writer.transaction(Isolation::Statement, f).await
    }

    /// How many write transactions this process has committed: a version
    /// of the data for caches of what reads derive from it. It moves
    /// before a write is answered, so whoever reads it after their write
    /// returned sees a newer one. (Writes by another process, such as the
    /// `superuser` command, do not move it.)
    pub fn commits(&self) -> u64 {
        self.writer.commits()
    }

    /// Runs `f` on a read-only connection, on one of the reader threads.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.readers.run(f).await
    }

    /// Which embedded migrations are applied here, and which are pending.
    pub async fn migration_status(&self) -> Result<Vec<MigrationStatus>, StoreError> {
        let set = self.migrations;
        self.read(move |conn| set.status(conn)).await
    }

    /// Proves the writer can take the write lock and commit, within `limit`.
    pub async fn check_writable(&self, limit: Duration) -> Result<(), String> {
        let probe = self.write(|tx| -> Result<(), StoreError> {
            tx.execute_batch("SELECT 1")?;
            Ok(())
        });
        match tokio::time::timeout(limit, probe).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(format!("the database cannot be written: {err}")),
            Err(_) => Err(format!(
                "the database did not accept a write within {} s",
                limit.as_secs()
            )),
        }
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.writer.close().await
    }
}

/// Reader threads (and connections) per database: enough to keep both
/// cores busy while some reads wait on I/O or run long, few enough that
/// each keeps a warm page cache.
fn read_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (cores * 2).clamp(4, 32) as u32
}
