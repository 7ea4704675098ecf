//! `cairn export pocketbase`: a Cairn data folder into a new PocketBase
//! 0.40 `pb_data` folder that `pocketbase serve` opens as it is: the same
//! collections (ids, fields, indexes, rules, options, token secrets), every
//! record as stored (ids, timestamps, values, password hashes, token keys),
//! the OAuth2 links, the settings and the uploaded files. The reverse of
//! `import`.
//!
//! Passwords: PocketBase checks bcrypt only. Hashes Cairn still holds as
//! bcrypt (accounts imported from PocketBase that have not signed in since)
//! keep working; argon2id hashes are carried as they are (PocketBase never
//! accepts them) and those accounts are listed: they must reset their
//! password. Tokens keep working both ways, signed alike.
//!
//! The source is read from a snapshot (`store::snapshot`, SQLite's `VACUUM
//! INTO` on a read-only connection), so a Cairn server may keep running on
//! it: every table comes from one moment. Uploaded files are read from the
//! live `storage/` after it; one removed meanwhile is named, not fatal.
//! The folder is built hidden beside OUT_DIR and renamed into place at the
//! end (`import::Staging`), so a failure leaves no partial folder.
//!
//! PocketBase's own tables are written from what PocketBase 0.40.6 makes
//! on an empty folder (`pocketbase`); collection tables, views and indexes
//! through `schema::sync`, which makes them the way PocketBase does.

mod files;
mod pocketbase;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde_json::Value;

use files::FileCopier;

use crate::{
    files::Storage,
    import::{Staging, absolute},
    schema::{
        Collection, CollectionKind,
        catalog::{Catalog, save_row},
        sync::{self, quote},
    },
    store::StoreError,
};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path} is not a Cairn data folder: {why}")]
    NotCairn { path: PathBuf, why: String },
    #[error("{0} is a file; choose a folder (new or empty) for the pb_data")]
    TargetNotFolder(PathBuf),
    #[error("{0} is not empty; choose an empty or new folder, or pass --force to replace it")]
    TargetNotEmpty(PathBuf),
    #[error("the output folder {target} and the Cairn data folder {dir} overlap; choose another")]
    Overlap { dir: PathBuf, target: PathBuf },
    #[error("reading the Cairn data folder: {0}")]
    Source(#[from] StoreError),
    #[error("writing the PocketBase folder: {0}")]
    Target(#[from] rusqlite::Error),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
}

impl ExportError {
    fn io(what: &str, source: std::io::Error) -> Self {
        Self::Io {
            what: what.to_owned(),
            source,
        }
    }
}

/// What to export, and where.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// The Cairn data folder (only read).
    pub source: PathBuf,
    /// The `pb_data` folder to make.
    pub target: PathBuf,
    /// Replace a non-empty target.
    pub force: bool,
    /// Carry the request logs too.
    pub logs: bool,
}

/// What was carried, and what was not.
#[derive(Debug, Default)]
pub struct Summary {
    pub collections: u64,
    pub records: u64,
    /// Records of auth collections, superusers included.
    pub accounts: u64,
    pub superusers: u64,
    pub oauth2_links: u64,
    pub files: u64,
    pub file_bytes: u64,
    pub logs: u64,
    /// `collection: email` of the accounts whose password PocketBase
    /// cannot check (argon2id): they must reset it.
    pub must_reset: Vec<String>,
    pub not_carried: Vec<String>,
    pub elapsed: Duration,
}

/// Runs the export; `progress` hears how it goes, a line at a time.
pub async fn run(
    request: ExportRequest,
    progress: impl FnMut(String) + Send + 'static,
) -> Result<Summary, ExportError> {
    let mut progress = progress;
    tokio::task::spawn_blocking(move || run_blocking(&request, &mut progress))
        .await
        .map_err(|_| ExportError::Source(StoreError::WorkerLost))?
}

fn run_blocking(request: &ExportRequest, progress: &mut dyn FnMut(String)) -> Result<Summary, ExportError> {
    let started = Instant::now();
    check_source(&request.source)?;
    check_target(request)?;
    let staging =
        Staging::create(&request.target, "export").map_err(|e| ExportError::io("the new folder", e))?;
    progress(format!(
        "Exporting {} into {}",
        request.source.display(),
        request.target.display()
    ));
    // The snapshot sits beside the new folder's files and goes before the
    // rename; `Staging` removes it with the rest on a failure.
    let snapshot = staging.path.join(".cairn-snapshot.db");
    crate::store::snapshot(&request.source.join("data.db"), &snapshot)?;
    let mut summary = build(request, &staging.path, &snapshot, progress)?;
    std::fs::remove_file(&snapshot).map_err(|e| ExportError::io("removing the snapshot", e))?;
    staging
        .finish(&request.target)
        .map_err(|e| ExportError::io("the new folder", e))?;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// A Cairn data folder: `data.db` with collections and Cairn's own
/// migration history (PocketBase's has no checksums).
fn check_source(dir: &Path) -> Result<(), ExportError> {
    let not_cairn = |why: &str| ExportError::NotCairn {
        path: dir.to_owned(),
        why: why.to_owned(),
    };
    if !dir.is_dir() {
        return Err(not_cairn("it is not a folder"));
    }
    let db = dir.join("data.db");
    if !db.is_file() {
        return Err(not_cairn("it has no data.db"));
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&db, flags).map_err(|e| not_cairn(&e.to_string()))?;
    let columns = |table: &str| -> Result<Vec<String>, ExportError> {
        let mut stmt = (conn.prepare("SELECT name FROM pragma_table_info(?1)"))
            .map_err(|e| not_cairn(&e.to_string()))?;
        let names = stmt
            .query_map([table], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| not_cairn(&e.to_string()))?;
        Ok(names)
    };
    if columns("_collections")?.is_empty() {
        return Err(not_cairn("its data.db has no _collections table"));
    }
    if !columns("_migrations")?.iter().any(|c| c == "checksum") {
        return Err(not_cairn(
            "its data.db is not Cairn's (a PocketBase pb_data? `cairn import pocketbase` reads those)",
        ));
    }
    Ok(())
}

fn check_target(request: &ExportRequest) -> Result<(), ExportError> {
    let target = &request.target;
    if target.exists() && !target.is_dir() {
        return Err(ExportError::TargetNotFolder(target.clone()));
    }
    let (s, t) = (absolute(&request.source), absolute(target));
    if s.starts_with(&t) || t.starts_with(&s) {
        return Err(ExportError::Overlap { dir: s, target: t });
    }
    if target.exists() {
        let empty = std::fs::read_dir(target)
            .map_err(|e| ExportError::io(&format!("reading {}", target.display()), e))?
            .next()
            .is_none();
        if !empty && !request.force {
            return Err(ExportError::TargetNotEmpty(target.clone()));
        }
    }
    Ok(())
}

fn build(
    request: &ExportRequest,
    out: &Path,
    snapshot: &Path,
    progress: &mut dyn FnMut(String),
) -> Result<Summary, ExportError> {
    let conn = Connection::open(out.join("data.db"))?;
    conn.execute_batch("PRAGMA journal_mode = WAL")?;
    let source = snapshot
        .to_str()
        .ok_or_else(|| ExportError::io("the snapshot", std::io::Error::other("not a UTF-8 path")))?;
    conn.execute("ATTACH DATABASE ?1 AS cairn", [source])?;
    // The catalog reads `_collections` unqualified, which here would be
    // PocketBase's (still empty) table: it reads the snapshot on its own.
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let catalog = Catalog::load(&Connection::open_with_flags(snapshot, flags)?, 0)?;
    let mut summary = Summary::default();
    let now = crate::datetime::now();

    let tx = conn.unchecked_transaction()?;
    pocketbase::write_system(&tx, &now)?;
    let collections: Vec<Collection> = catalog.all().map(|c| (**c).clone()).collect();
    for c in &collections {
        save_row(&tx, c)?;
        // Stored as read back (a view's query included), less Cairn's own keys.
        let stored: String = tx.query_row(
            "SELECT options FROM main._collections WHERE id = ?1",
            [&c.id],
            |r| r.get(0),
        )?;
        let mut options = serde_json::from_str(&stored).unwrap_or_default();
        let left = pocketbase::strip_options(c.kind.as_str(), &mut options);
        if !left.is_empty() {
            summary.not_carried.push(format!(
                "options of {:?} PocketBase does not have: {} (Cairn's own)",
                c.name,
                left.join(", ")
            ));
        }
        tx.execute(
            "UPDATE main._collections SET options = ?1 WHERE id = ?2",
            rusqlite::params![Value::Object(options).to_string(), c.id],
        )?;
    }
    // Tables first, then the views that read them, in the order made.
    for c in collections.iter().filter(|c| c.kind != CollectionKind::View) {
        sync::create(&tx, c).map_err(sync_error)?;
        let n = copy_rows(&tx, c)?;
        progress(format!("  {}: {n} records", c.name));
        summary.records += n;
        if c.kind == CollectionKind::Auth {
            summary.accounts += n;
            summary.must_reset.extend(must_reset(&tx, c)?);
        }
        if c.name == "_superusers" {
            summary.superusers = n;
        }
        if c.id == crate::schema::defaults::EXTERNAL_AUTHS_ID {
            summary.oauth2_links = n;
        }
    }
    for c in collections.iter().filter(|c| c.kind == CollectionKind::View) {
        sync::create(&tx, c).map_err(sync_error)?;
    }
    summary.collections = collections.len() as u64;
    progress(format!("  {} collections", collections.len()));

    let stored: Option<String> = tx
        .query_row("SELECT value FROM cairn._params WHERE id = 'settings'", [], |r| {
            r.get(0)
        })
        .optional()?;
    let cairn_settings = stored
        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        .unwrap_or(Value::Null);
    let (settings, left) = pocketbase::settings(&cairn_settings);
    if !left.is_empty() {
        summary.not_carried.push(format!(
            "settings PocketBase has no place for: {}",
            left.join(", ")
        ));
    }
    tx.execute(
        "INSERT INTO _params (id, value, created, updated) VALUES ('settings', ?1, ?2, ?2)",
        rusqlite::params![settings.to_string(), now],
    )?;
    summary.not_carried.extend(cairn_only(&tx)?);
    tx.commit()?;

    let mut files = FileCopier {
        from: Storage::new(&request.source),
        to: Storage::new(out),
        files: 0,
        bytes: 0,
        missing: Vec::new(),
    };
    for c in collections.iter().filter(|c| c.kind != CollectionKind::View) {
        files.copy_collection(&conn, c)?;
    }
    summary.files = files.files;
    summary.file_bytes = files.bytes;
    if !files.missing.is_empty() {
        summary.not_carried.push(format!(
            "{} files records name but storage/ no longer had (removed after the snapshot?): {}",
            files.missing.len(),
            files.missing.join(", ")
        ));
    }
    progress(format!("  {} files", files.files));
    conn.execute_batch("DETACH DATABASE cairn; PRAGMA wal_checkpoint(TRUNCATE)")?;
    drop(conn);

    let (logs, note) = auxiliary(&request.source, out, request.logs)?;
    summary.logs = logs;
    summary.not_carried.extend(note);
    if request
        .source
        .join("backups")
        .read_dir()
        .is_ok_and(|mut d| d.next().is_some())
    {
        summary.not_carried.push(
            "the backups in backups/: they are Cairn's (make a new one from PocketBase once it runs)".into(),
        );
    }
    Ok(summary)
}

fn sync_error(err: sync::SyncError) -> ExportError {
    match err {
        sync::SyncError::Sqlite(e) => ExportError::Target(e),
        other => ExportError::Source(StoreError::Corrupt(other.to_string())),
    }
}

/// Copies every row of `c`'s table from the snapshot, column by column
/// (both sides have PocketBase's columns and encodings).
fn copy_rows(tx: &Connection, c: &Collection) -> Result<u64, ExportError> {
    let columns: Vec<String> = c.fields.iter().map(|f| quote(&f.name)).collect();
    let list = columns.join(", ");
    let table = quote(&c.name);
    let n = tx.execute(
        &format!("INSERT INTO main.{table} ({list}) SELECT {list} FROM cairn.{table} ORDER BY rowid"),
        [],
    )?;
    Ok(n as u64)
}

/// The accounts of `c` whose password hash PocketBase cannot check: not
/// bcrypt (`$2a$`, `$2b$`, `$2y$`), and not empty (an account without a
/// password signs in another way on both).
fn must_reset(tx: &Connection, c: &Collection) -> Result<Vec<String>, ExportError> {
    let sql = format!(
        "SELECT email, id FROM main.{} WHERE password != '' AND substr(password, 1, 3) NOT IN ('$2a', '$2b', '$2y') ORDER BY email",
        quote(&c.name)
    );
    let mut stmt = tx.prepare(&sql)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .map(|(email, id)| {
            let who = if email.is_empty() { id } else { email };
            format!("{}: {who}", c.name)
        })
        .collect())
}

/// Cairn's tables with no PocketBase counterpart, named with how much
/// they held.
fn cairn_only(tx: &Connection) -> Result<Vec<String>, ExportError> {
    let count = |sql: &str| -> Result<i64, ExportError> {
        Ok(tx
            .query_row(sql, [], |r| r.get::<_, i64>(0))
            .optional()?
            .unwrap_or(0))
    };
    let mut notes = Vec::new();
    let sessions = count("SELECT count(*) FROM cairn._sessions WHERE revoked = ''")?;
    if sessions > 0 {
        notes.push(format!(
            "{sessions} refresh-token sessions (Cairn's own): PocketBase accepts the tokens apps hold until they expire, then they sign in again"
        ));
    }
    let outbox = count("SELECT count(*) FROM cairn._outbox")?;
    if outbox > 0 {
        notes.push(format!(
            "{outbox} messages in the development outbox (Cairn's own)"
        ));
    }
    let webhooks = count("SELECT count(*) FROM cairn._webhooks")?;
    if webhooks > 0 {
        notes.push(format!(
            "{webhooks} webhooks (Cairn's own; PocketBase has none), and their deliveries"
        ));
    }
    for (table, what) in [
        ("_otps", "pending one-time codes"),
        ("_mfas", "pending multi-factor sign-ins"),
        (
            "_authOrigins",
            "remembered sign-in origins (each account's next sign-in is remembered without a new-location alert)",
        ),
    ] {
        let n = count(&format!("SELECT count(*) FROM cairn.{table}"))?;
        if n > 0 {
            notes.push(format!("{n} {what} ({table}; Cairn's shape differs)"));
        }
    }
    let params = count("SELECT count(*) FROM cairn._params WHERE id != 'settings'")?;
    if params > 0 {
        notes.push(format!("{params} of Cairn's own system values (_params)"));
    }
    Ok(notes)
}

/// `auxiliary.db` with PocketBase's logs table, and Cairn's request logs
/// in it when asked (both have PocketBase's `_logs` columns).
fn auxiliary(source: &Path, out: &Path, carry: bool) -> Result<(u64, Option<String>), ExportError> {
    let conn = Connection::open(out.join("auxiliary.db"))?;
    conn.execute_batch("PRAGMA journal_mode = WAL")?;
    conn.execute_batch(pocketbase::AUXILIARY_DDL)?;
    let from = source.join("auxiliary.db");
    if !from.is_file() {
        return Ok((0, None));
    }
    let path = from
        .to_str()
        .ok_or_else(|| ExportError::io("auxiliary.db", std::io::Error::other("not a UTF-8 path")))?;
    conn.execute("ATTACH DATABASE ?1 AS cairn", [format!("file:{path}?mode=ro")])
        .or_else(|_| conn.execute("ATTACH DATABASE ?1 AS cairn", [path]))?;
    let result = if carry {
        // One statement: one read of the source, consistent in itself.
        // `_logs` is a table in a folder last opened before migration
        // auxiliary/0005 and a view after it; this reads either.
        let n = conn.execute(
            "INSERT INTO main._logs (id, level, message, data, created)
             SELECT id, level, message, data, created FROM cairn._logs ORDER BY created, id",
            [],
        )?;
        (n as u64, None)
    } else {
        let n: i64 = conn
            .query_row("SELECT count(*) FROM cairn._logs", [], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        let note = (n > 0).then(|| format!("{n} request logs (pass --logs to carry them)"));
        (0, note)
    };
    conn.execute_batch("DETACH DATABASE cairn; PRAGMA wal_checkpoint(TRUNCATE)")?;
    Ok(result)
}
