//! Before a data folder is opened for writing, it is looked at read-only:
//! a damaged database, one from a newer Cairn, one that is not Cairn's at
//! all (a PocketBase `data.db` pointed at by mistake, say), or a folder
//! this user cannot write each stop start-up here with the file's name and
//! what to do, before a single byte is written. Opening for writing first
//! would switch a foreign database to WAL mode and add Cairn's tables to
//! it, which is exactly the damage a wrong `--dir` must not do.
//!
//! Not checked here: the pages deep inside a database. `PRAGMA
//! quick_check` reads the whole file, seconds on a large one, at every
//! start; a damaged page is met (and reported) where it is read, and a
//! backup restore runs the full `integrity_check`.

use std::{
    io::ErrorKind,
    path::{Path, PathBuf},
};

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::{MigrationSet, StoreError};

/// What the look found: whether the folder already held Cairn's data (a
/// folder that did not exist, or held no database yet, is new).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preflight {
    pub existing: bool,
}

/// Looks at `dir` and its databases without changing anything.
pub fn check(dir: &Path) -> Result<Preflight, StoreError> {
    match std::fs::metadata(dir) {
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(Preflight { existing: false }),
        Err(err) => return Err(unusable(dir, format!("cannot be read ({err})"), FIX_PERMISSIONS)),
        Ok(meta) if !meta.is_dir() => {
            return Err(unusable(dir, "is not a folder".into(), "point --dir at a folder"));
        }
        Ok(_) => {}
    }
    let mut existing = false;
    for (file, set) in [
        ("data.db", MigrationSet::Data),
        ("auxiliary.db", MigrationSet::Auxiliary),
    ] {
        existing |= check_database(&dir.join(file), set)?;
    }
    check_writable(dir)?;
    Ok(Preflight { existing })
}

/// Litestream's tables (`_litestream_seq`, `_litestream_lock`).
const LITESTREAM_PREFIX: &str = "_litestream_";

const FIX_PERMISSIONS: &str = "run Cairn as the user that owns the data folder, or give that user \
     read and write access to the folder and every file in it (chown -R USER FOLDER)";

const FIX_DAMAGED: &str = "restore the file from a backup; or, to start afresh, move it \
     (with its -wal and -shm files) out of the data folder";

fn unusable(path: &Path, problem: String, fix: &str) -> StoreError {
    StoreError::Unusable {
        path: path.to_owned(),
        problem,
        fix: fix.to_owned(),
    }
}

/// Whether the database at `path` holds Cairn's tables (`false`: absent
/// or empty, so new); an error when it cannot be Cairn's or is damaged.
fn check_database(path: &Path, set: MigrationSet) -> Result<bool, StoreError> {
    match std::fs::metadata(path) {
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(unusable(path, format!("cannot be read ({err})"), FIX_PERMISSIONS)),
        Ok(meta) if !meta.is_file() => {
            return Err(unusable(
                path,
                "is not a file".into(),
                "move it out of the data folder",
            ));
        }
        Ok(meta) if meta.len() == 0 => return Ok(false),
        Ok(_) => {}
    }
    let opened = open_read_only(path).and_then(|conn| {
        let tables = table_names(&conn)?;
        Ok((conn, tables))
    });
    let (conn, mut tables) = opened.map_err(|err| read_failure(path, err))?;
    // Litestream adds its own tables to a database it follows, and it may
    // do so before Cairn's first start has made any (or into a database
    // restored from its replica): they say nothing of whose data it is.
    tables.retain(|t| !t.starts_with(LITESTREAM_PREFIX));
    if tables.is_empty() {
        return Ok(false);
    }
    let is_cairns = tables.iter().any(|t| t == "_migrations")
        && conn.prepare("SELECT checksum FROM _migrations LIMIT 0").is_ok();
    if !is_cairns {
        let looks_like_pocketbase =
            tables.iter().any(|t| t == "_collections") && tables.iter().any(|t| t == "_params");
        let fix = if looks_like_pocketbase {
            "it looks like PocketBase's data.db: bring it in with `cairn import pocketbase PB_DATA --dir NEW_FOLDER`, \
             and point --dir at a Cairn data folder"
        } else {
            "point --dir at a Cairn data folder (or an empty one)"
        };
        return Err(unusable(
            path,
            "is a SQLite database, but not Cairn's (it has no Cairn migration history)".into(),
            fix,
        ));
    }
    set.verify(&conn).map_err(|err| match err {
        StoreError::Migration(message) => unusable(path, message, ""),
        StoreError::Sqlite(err) => read_failure(path, err),
        other => other,
    })?;
    Ok(true)
}

/// A connection that changes nothing. A read-only connection to a WAL
/// database still makes its `-wal` and `-shm` files, and leaves them (it
/// may not checkpoint); so when there is no `-wal` (the database was closed
/// cleanly, and no process has it open: an open one keeps its `-wal`) the
/// file is opened as immutable, which makes no file and takes no lock.
/// An empty `-wal` (left by a process that checkpointed it to nothing,
/// but exited with a connection still open) holds no page either, so the
/// file alone is read the same way: a read-only open would rebuild the
/// `-shm` index beside it, a change to the folder. With a non-empty
/// `-wal`, its committed pages matter, and it is read as SQLite reads it.
pub(super) fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if std::fs::metadata(Path::new(&wal)).is_ok_and(|m| m.len() > 0) {
        return Connection::open_with_flags(path, flags);
    }
    let Some(plain) = path.to_str() else {
        return Connection::open_with_flags(path, flags);
    };
    let escaped = plain.replace('%', "%25").replace('?', "%3f").replace('#', "%23");
    Connection::open_with_flags(
        format!("file:{escaped}?immutable=1"),
        flags | OpenFlags::SQLITE_OPEN_URI,
    )
}

fn table_names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
    stmt.query_map([], |r| r.get(0))?.collect()
}

fn read_failure(path: &Path, err: rusqlite::Error) -> StoreError {
    let code = err.sqlite_error_code();
    match code {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => unusable(
            path,
            format!("is damaged or not a SQLite database ({err})"),
            FIX_DAMAGED,
        ),
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
            unusable(path, format!("cannot be opened ({err})"), FIX_PERMISSIONS)
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => unusable(
            path,
            format!("is locked by another process ({err})"),
            "stop the other process using it (another Cairn on the same folder?)",
        ),
        _ => unusable(path, format!("cannot be read ({err})"), FIX_DAMAGED),
    }
}

/// SQLite writes its `-wal` and `-shm` files beside a database, so both
/// the folder and each database file must be writable. Asked of the
/// system by trying (a probe file made and removed at once): permission
/// bits alone say nothing of ownership, ACLs or a read-only mount.
fn check_writable(dir: &Path) -> Result<(), StoreError> {
    let denied = |path: &Path, err: std::io::Error| -> StoreError {
        let problem = match err.kind() {
            ErrorKind::PermissionDenied => "cannot be written by this user".to_owned(),
            ErrorKind::ReadOnlyFilesystem => "is on a read-only file system".to_owned(),
            _ => format!("cannot be written ({err})"),
        };
        unusable(path, problem, FIX_PERMISSIONS)
    };
    let probe: PathBuf = dir.join(format!(".cairn-write-check-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
        }
        Err(err) if err.kind() == ErrorKind::AlreadyExists => {}
        Err(err) => return Err(denied(dir, err)),
    }
    for file in [
        "data.db",
        "data.db-wal",
        "data.db-shm",
        "auxiliary.db",
        "auxiliary.db-wal",
        "auxiliary.db-shm",
    ] {
        let path = dir.join(file);
        if path.exists() {
            // Opening for writing changes nothing until something is written.
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|err| denied(&path, err))?;
        }
    }
    Ok(())
}
