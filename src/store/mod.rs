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
//!
//! Replication with Litestream (`packaging/litestream.yml`) needs no
//! setting: Litestream follows the WAL from its own process, holding a
//! read transaction at all times but during its own checkpoints, and
//! takes a full new snapshot whenever the WAL was truncated or restarted
//! behind its back. Cairn's checkpoints while it serves are all `PASSIVE`
//! (`checkpoint`): they copy pages into the main file but never rewind
//! the WAL, and SQLite cannot rewind it at a write while Litestream's
//! reader is there, so only Litestream's checkpoints start it over
//! (measured: one snapshot in a 20 s flood of creates, the first; the WAL
//! stayed at 13 MB). The one `TRUNCATE`, at shutdown, is the exception:
//! it waited the whole busy timeout (10 s) for Litestream's reader, and
//! had it won it would have cost a snapshot. So it is left out where
//! Litestream's `_litestream_seq` table exists, looked up at shutdown
//! rather than by a flag: a flag can be forgotten, Litestream may start
//! after Cairn, and a table left from an earlier use of Litestream costs
//! little (the `PASSIVE` pass then copies every frame: `data.db` alone is
//! complete, the `-wal` file stays).
//!
//! Statements are prepared once per connection (`prepare_cached`) and
//! must stay prepared: a `LIMIT` is therefore written into the SQL as a
//! literal, never bound. SQLite (3.53) reads a bound limit while planning
//! and marks the statement to be prepared again whenever that parameter is
//! bound anew, which is on every run; a list query paid a whole parse and
//! plan each time for it.
//!
//! Litestream's tables are no collections (those are the rows of
//! `_collections`), `preflight` ignores them, and a backup restore keeps
//! them (`snapshot`).

mod checkpoint;
mod connection;
pub mod explain;
mod migrations;
pub mod nocase;
mod preflight;
mod readers;
mod snapshot;
mod writer;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use rusqlite::Connection;

pub use connection::register_functions;
pub use migrations::{MigrationSet, MigrationStatus};
use readers::Readers;
pub use snapshot::{FileProblem, check_file, snapshot};
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
    /// The disk (or the file system's quota) has no room for the write;
    /// nothing of it was kept, and writes work again once there is room.
    #[error("the disk is full")]
    DiskFull,
    /// The data folder or a file in it cannot be used as it is; `fix`
    /// says what the person running Cairn can do (empty: `problem` says).
    #[error("{}: {problem}{}", path.display(), if fix.is_empty() { String::new() } else { format!(".\n  To fix: {fix}.") })]
    Unusable {
        path: PathBuf,
        problem: String,
        fix: String,
    },
}

/// When a write is acknowledged, what it survives. WAL with `synchronous
/// = NORMAL` (the default, and PocketBase's) syncs at checkpoints, not at
/// every commit: a crash of the process loses nothing acknowledged (the
/// WAL is in the OS's cache), but a power loss or a kernel crash may lose
/// the last transactions before the checkpoint. `Full` syncs the WAL at
/// every commit, which survives those too, at a cost per write group (see
/// the README for the measured cost; group commit shares one sync among the
/// writes that arrive together).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    #[default]
    Normal,
    Full,
}

/// Why `Database::check_writable` found a database not writable.
#[derive(Debug, thiserror::Error)]
pub enum NotWritable {
    #[error("the database did not accept a write within {} s", .0.as_secs())]
    Timeout(Duration),
    #[error("the database cannot be written: {0}")]
    Failed(StoreError),
}

impl StoreError {
    /// Whether the write failed for want of disk space (the client may
    /// try again later; nothing is wrong with its request or our data).
    pub fn is_disk_full(&self) -> bool {
        match self {
            Self::DiskFull => true,
            Self::Sqlite(err) => err.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull),
            _ => false,
        }
    }
}

/// Both databases of a data folder.
pub struct Store {
    /// Shared with the job queue's workers, which run apart from requests.
    pub data: Arc<Database>,
    /// Shared with the log's writer task, which outlives no request but
    /// runs apart from them.
    pub auxiliary: Arc<Database>,
}

impl Store {
    /// Opens (creating if needed) both databases under `dir` and applies
    /// pending migrations. A migration that was changed after it was
    /// applied stops here, before anything is served.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, Durability::default(), |_, _| Ok(()))
    }

    /// `open`, after a look at the folder that changes nothing (see
    /// `preflight`): a folder that cannot be Cairn's, or cannot be
    /// written, is refused before anything in it is changed, and `also`
    /// may refuse it too, given a read-only connection to a `data.db` that
    /// held Cairn's data before (`None`: a new folder).
    pub fn open_with(
        dir: &Path,
        durability: Durability,
        also: impl FnOnce(&Path, Option<&Connection>) -> Result<(), StoreError>,
    ) -> Result<Self, StoreError> {
        let found = preflight::check(dir)?;
        let data_path = dir.join("data.db");
        match found.existing {
            true => also(dir, Some(&preflight::open_read_only(&data_path)?))?,
            false => also(dir, None)?,
        }
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.to_owned(),
            source,
        })?;
        let data = Database::open(&dir.join("data.db"), MigrationSet::Data, durability)?;
        // Request logs and metrics: a lost last second of them is not worth
        // a sync per write.
        let auxiliary = Arc::new(Database::open(
            &dir.join("auxiliary.db"),
            MigrationSet::Auxiliary,
            Durability::Normal,
        )?);
        Ok(Self {
            data: Arc::new(data),
            auxiliary,
        })
    }

    /// Checkpoints the WAL of both databases and stops their writers.
    pub async fn close(&self) {
        for db in [&*self.data, &*self.auxiliary] {
            if let Err(err) = db.close().await {
                tracing::warn!(db = %db.path.display(), error = %err, "closing the database");
            }
        }
    }
}

/// See `Database::stats`.
#[derive(Debug, Clone)]
pub struct DatabaseStats {
    pub queued: usize,
    pub commits: u64,
    pub group_size: crate::stats::HistogramSnapshot,
    pub commit_seconds: crate::stats::HistogramSnapshot,
    pub read_wait_seconds: crate::stats::HistogramSnapshot,
    pub file_bytes: u64,
    pub wal_bytes: u64,
}

pub struct Database {
    path: PathBuf,
    writer: Writer,
    readers: Readers,
    migrations: MigrationSet,
}

impl Database {
    fn open(path: &Path, migrations: MigrationSet, durability: Durability) -> Result<Self, StoreError> {
        let mut conn = connection::open_writer(path)?;
        if durability == Durability::Full {
            conn.execute_batch("PRAGMA synchronous = FULL;")?;
        }
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

    /// What the database's writer and readers measure of themselves, and
    /// its files' sizes, for the metrics.
    pub fn stats(&self) -> DatabaseStats {
        let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        DatabaseStats {
            queued: self.writer.queued(),
            commits: self.writer.commits(),
            group_size: self.writer.stats.group_size.snapshot(),
            commit_seconds: self.writer.stats.commit_seconds.snapshot(),
            read_wait_seconds: self.readers.wait.snapshot(),
            file_bytes: size(&self.path),
            wal_bytes: size(Path::new(&wal)),
        }
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
    pub async fn check_writable(&self, limit: Duration) -> Result<(), NotWritable> {
        let probe = self.write(|tx| -> Result<(), StoreError> {
            tx.execute_batch("SELECT 1")?;
            Ok(())
        });
        match tokio::time::timeout(limit, probe).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(NotWritable::Failed(err)),
            Err(_) => Err(NotWritable::Timeout(limit)),
        }
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.writer.close().await
    }

    /// Lets SQLite refresh its query planner statistics where they are
    /// stale (`PRAGMA optimize`): a scheduled job, as PocketBase runs one.
    pub async fn optimize(&self) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute_batch("PRAGMA optimize")?;
            Ok::<_, StoreError>(())
        })
        .await
    }
}

/// Reader threads (and connections) per database: enough to keep both
/// cores busy while some reads wait on I/O or run long, few enough that
/// each keeps a warm page cache.
fn read_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (cores * 2).clamp(4, 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The durability setting reaches the writer, the one connection that
    /// commits (1 = NORMAL, 2 = FULL); the auxiliary database stays NORMAL.
    #[tokio::test]
    async fn full_durability_syncs_the_data_writer_only() {
        for (durability, want) in [(Durability::Normal, 1), (Durability::Full, 2)] {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = Store::open_with(dir.path(), durability, |_, _| Ok(())).expect("open");
            async fn sync(db: &Database) -> i64 {
                db.write(|c| -> Result<i64, StoreError> {
                    Ok(c.query_row("PRAGMA synchronous", [], |r| r.get(0))?)
                })
                .await
                .expect("PRAGMA synchronous")
            }
            assert_eq!(sync(&store.data).await, want, "{durability:?}");
            assert_eq!(sync(&store.auxiliary).await, 1);
            store.close().await;
        }
    }
}
