//! Whole-database copies of a live database, and the reverse: what backups
//! are made of and restored from.
//!
//! A snapshot is `VACUUM INTO` on a connection of its own, opened for the
//! occasion: it reads inside one read transaction, so the copy is exactly
//! the database as of its start (every write committed before it, none
//! after), compacted, with no WAL beside it. In WAL mode a reader never
//! blocks the writer, and every checkpoint here is `PASSIVE` (see
//! `checkpoint`), so writes go on meanwhile; the WAL only grows until the
//! snapshot's read ends. A file copy of a live database could catch a page
//! half-written, or miss what is still in the WAL.
//!
//! A restore goes the other way, through SQLite's online backup from the
//! checked file into the writer's own connection, between transactions:
//! one write transaction replaces every page, so readers see either the
//! old database or the new one, never a mix, and their connections stay
//! open (SQLite tells them the schema changed). Writes queued behind it
//! land in the restored database.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, backup::StepResult};

use super::{Database, MigrationSet, StoreError, checkpoint, connection};

/// Litestream's tables, as it creates them.
const LITESTREAM_TABLES: &str =
    "CREATE TABLE IF NOT EXISTS _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER);
     CREATE TABLE IF NOT EXISTS _litestream_lock (id INTEGER);";

impl Database {
    /// Writes a consistent copy of the database to `dest` (which must not
    /// exist yet) while writes go on.
    pub async fn snapshot_into(&self, dest: &Path) -> Result<(), StoreError> {
        let (source, dest) = (self.path.clone(), dest.to_owned());
        tokio::task::spawn_blocking(move || snapshot(&source, &dest))
            .await
            .map_err(|_| StoreError::WorkerLost)?
    }

    /// Replaces the whole database with the content of `source` (a file
    /// that `check_file` accepted), then applies the migrations it lacks.
    /// Runs on the writer after the writes queued before it. On failure
    /// nothing has changed.
    pub async fn restore_from(&self, source: &Path) -> Result<(), StoreError> {
        let (source, migrations) = (source.to_owned(), self.migrations);
        self.writer
            .exclusive(move |conn| {
                let from = Connection::open_with_flags(
                    &source,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                let litestream = checkpoint::followed_by_litestream(conn)?;
                {
                    let backup = rusqlite::backup::Backup::new(&from, conn)?;
                    match backup.step(-1)? {
                        StepResult::Done => {}
                        other => {
                            return Err(StoreError::CommitFailed(format!(
                                "the restore could not take the database ({other:?})"
                            )));
                        }
                    }
                }
                if litestream {
                    // A backup made before Litestream was set up lacks its
                    // tables, which Litestream makes only when it starts
                    // and writes to at each checkpoint: without them its
                    // syncs fail ("no such table: _litestream_lock") and
                    // replication stops (tests/faults/litestream.py
                    // --restore-backup).
                    conn.execute_batch(LITESTREAM_TABLES)?;
                }
                migrations.apply(conn)?;
                Ok(())
            })
            .await
    }

    /// Which set of migrations this database takes.
    pub fn migration_set(&self) -> MigrationSet {
        self.migrations
    }
}

/// A consistent copy of the database file `source` at `dest` (which must
/// not exist), from a connection of its own: what `snapshot_into` does,
/// for a process that does not run the store (`cairn export`, beside a
/// running server).
pub fn snapshot(source: &Path, dest: &Path) -> Result<(), StoreError> {
    let conn = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // Indexes or views may call Cairn's own SQL functions.
    connection::register_functions(&conn)?;
    let dest = dest
        .to_str()
        .ok_or_else(|| StoreError::Migration(format!("{} is not a UTF-8 path", dest.display())))?;
    conn.execute("VACUUM INTO ?1", [dest])?;
    Ok(())
}

/// Why a database file cannot be restored: it is damaged, or it is not a
/// database this build can run (unknown or changed migrations).
#[derive(Debug, thiserror::Error)]
pub enum FileProblem {
    #[error("{file} is not a readable SQLite database: {reason}")]
    Unreadable { file: PathBuf, reason: String },
    #[error("{file} fails the integrity check: {reason}")]
    Damaged { file: PathBuf, reason: String },
    #[error("{file}: {reason}")]
    Foreign { file: PathBuf, reason: String },
}

impl Database {
    /// The page size of the live database: a restored file must have the
    /// same, since SQLite's backup cannot change it under a WAL database.
    pub async fn page_size(&self) -> Result<i64, StoreError> {
        self.read(|conn| Ok(conn.query_row("PRAGMA page_size", [], |r| r.get(0))?))
            .await
    }
}

/// Checks a database file before it replaces a live one whose pages are
/// `page_size` bytes: SQLite's `integrity_check`, the page size, and that
/// its migration history is one this build knows (a backup from a newer
/// Cairn is refused here).
pub fn check_file(path: &Path, set: MigrationSet, page_size: i64) -> Result<(), FileProblem> {
    let file = || path.file_name().map(PathBuf::from).unwrap_or_default();
    let unreadable = |err: rusqlite::Error| FileProblem::Unreadable {
        file: file(),
        reason: err.to_string(),
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(unreadable)?;
    let mut stmt = conn.prepare("PRAGMA integrity_check").map_err(unreadable)?;
    let lines = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(unreadable)?;
    if lines != ["ok"] {
        return Err(FileProblem::Damaged {
            file: file(),
            reason: lines.into_iter().take(3).collect::<Vec<_>>().join("; "),
        });
    }
    let pages: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .map_err(unreadable)?;
    if pages != page_size {
        return Err(FileProblem::Foreign {
            file: file(),
            reason: format!("its pages are {pages} bytes, the live database's {page_size}"),
        });
    }
    set.check(&conn).map_err(|err| FileProblem::Foreign {
        file: file(),
        reason: match err {
            StoreError::Migration(reason) => reason,
            other => other.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Durability;

    #[tokio::test]
    async fn a_snapshot_restores_into_a_live_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Database::open(
            &dir.path().join("data.db"),
            MigrationSet::Data,
            Durability::Normal,
        )
        .expect("open");
        db.write(|tx| {
            tx.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")?;
            Ok::<_, StoreError>(())
        })
        .await
        .expect("write");
        let snap = dir.path().join("snap.db");
        db.snapshot_into(&snap).await.expect("snapshot");
        check_file(&snap, MigrationSet::Data, 4096).expect("a snapshot passes the checks");
        assert!(
            check_file(&snap, MigrationSet::Data, 8192).is_err(),
            "another page size"
        );
        assert!(
            check_file(&snap, MigrationSet::Auxiliary, 4096).is_err(),
            "the other set's history is foreign"
        );
        db.write(|tx| {
            tx.execute_batch("INSERT INTO t VALUES (2); CREATE TABLE u (y);")?;
            Ok::<_, StoreError>(())
        })
        .await
        .expect("write");
        db.restore_from(&snap).await.expect("restore");
        let (rows, u): (i64, i64) = db
            .read(|c| {
                Ok::<_, StoreError>((
                    c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?,
                    c.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'u'", [], |r| {
                        r.get(0)
                    })?,
                ))
            })
            .await
            .expect("read");
        assert_eq!((rows, u), (1, 0), "readers see the snapshot's content");
        db.write(|tx| {
            tx.execute_batch("INSERT INTO t VALUES (3);")?;
            Ok::<_, StoreError>(())
        })
        .await
        .expect("writes go on after a restore");
    }

    /// A restore from a backup made before Litestream was set up keeps
    /// Litestream's tables where it follows the database, and adds none
    /// where it does not (the control).
    #[tokio::test]
    async fn a_restore_keeps_litestreams_tables() {
        for litestream in [false, true] {
            let dir = tempfile::tempdir().expect("tempdir");
            let db = Database::open(
                &dir.path().join("data.db"),
                MigrationSet::Data,
                Durability::Normal,
            )
            .expect("open");
            let snap = dir.path().join("snap.db");
            db.snapshot_into(&snap).await.expect("snapshot");
            if litestream {
                let follower = Connection::open(dir.path().join("data.db")).expect("open");
                follower.execute_batch(LITESTREAM_TABLES).expect("tables");
            }
            db.restore_from(&snap).await.expect("restore");
            let tables: i64 = db
                .read(|c| {
                    Ok::<_, StoreError>(c.query_row(
                        "SELECT count(*) FROM sqlite_master WHERE name IN ('_litestream_seq', '_litestream_lock')",
                        [],
                        |r| r.get(0),
                    )?)
                })
                .await
                .expect("read");
            assert_eq!(tables, if litestream { 2 } else { 0 }, "litestream {litestream}");
        }
    }

    #[test]
    fn a_damaged_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.db");
        std::fs::write(&path, b"not a database at all, just text").expect("write");
        assert!(check_file(&path, MigrationSet::Data, 4096).is_err());
    }
}
