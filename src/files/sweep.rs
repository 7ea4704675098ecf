//! Files that no record names. Uploads are written before their record's
//! transaction and dropped files are removed after it (see the module
//! doc), so a crash between the two leaves files behind: an upload whose
//! record never committed, or a file its record had already let go. A
//! file field taken out of a collection (by a change or an import) leaves
//! its files too. Nothing reads them, but they fill the disk and backups;
//! the sweep removes them once the server is up, and again every day.
//!
//! Only files older than `before` are touched: a file written since may be
//! an upload whose record is about to commit, and that is the one race a
//! sweep could lose. At start `before` is the process's start, so no
//! upload can be in flight; the daily sweep takes files older than an
//! hour (`SETTLED`), and an upload is staged only once its whole body has
//! arrived and commits with the next writes, milliseconds later. Restored
//! files are extracted anew, so they are never older than either. A
//! client cannot make a record name a file it does not already hold
//! (`records::files`), so a file found unnamed stays unnamed. A database
//! error skips the collection: a sweep that guesses would delete what it
//! could not read. Removals go through the storage's holds, so a backup
//! that is copying files still finds every file its snapshot names.

use std::{
    collections::HashSet,
    path::Path,
    time::{Duration, SystemTime},
};

use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;

use super::{Storage, storage::Removal};
use crate::{
    schema::{Catalog, CollectionKind, field::FieldKind, sync::quote},
    store::{Database, StoreError},
};

/// What a sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub files: usize,
    pub folders: usize,
}

/// How old a file must be for the daily sweep to take it (see the module
/// doc).
pub const SETTLED: Duration = Duration::from_secs(60 * 60);

/// The daily sweep: files no record names that are older than `SETTLED`.
pub async fn sweep_settled(storage: &Storage, catalog: &Catalog, db: &Database) -> Swept {
    sweep(storage, catalog, db, SystemTime::now() - SETTLED).await
}

/// Removes, under `storage`, the files older than `before` that no record
/// names, then the folders left empty.
pub async fn sweep(storage: &Storage, catalog: &Catalog, db: &Database, before: SystemTime) -> Swept {
    let mut swept = Swept::default();
    let Ok(collections) = std::fs::read_dir(storage.root()) else {
        return swept; // no storage yet: nothing to sweep
    };
    for entry in collections.flatten() {
        let dir = entry.path();
        let Some(collection_id) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        // The SQL that reads a record's file names; `None`: the collection
        // is gone (or never had files), so no record names anything here.
        let query = catalog.by_id(&collection_id).and_then(|c| {
            let columns: Vec<String> = c
                .fields
                .iter()
                .filter(|f| matches!(f.kind, FieldKind::File { .. }))
                .map(|f| quote(&f.name))
                .collect();
            (c.kind != CollectionKind::View && !columns.is_empty()).then(|| {
                format!(
                    "SELECT {} FROM {} WHERE id = ?1",
                    columns.join(", "),
                    quote(&c.name)
                )
            })
        });
        let found = db
            .read(move |conn| -> Result<Vec<Removal>, StoreError> {
                unnamed(conn, &dir, query.as_deref(), before)
            })
            .await;
        let doomed = match found {
            Ok(doomed) => doomed,
            Err(err) => {
                tracing::warn!(collection = %collection_id, error = %err, "file sweep skipped a collection");
                continue;
            }
        };
        let done = remove(storage, doomed).await;
        swept.files += done.files;
        swept.folders += done.folders;
    }
    if swept != Swept::default() {
        tracing::info!(
            files = swept.files,
            folders = swept.folders,
            "removed stored files no record names"
        );
    }
    swept
}

/// What to remove under one collection's folder: files (and thumbnail
/// folders) that no record names and that predate `before`, then the
/// folders that may be left empty.
fn unnamed(
    conn: &Connection,
    dir: &Path,
    query: Option<&str>,
    before: SystemTime,
) -> Result<Vec<Removal>, StoreError> {
    let old = |path: &Path| {
        std::fs::symlink_metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < before)
    };
    let mut doomed = Vec::new();
    for record in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let record_dir = record.path();
        let Some(record_id) = record.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        // `None`: no such record (or no such collection).
        let names = match query {
            Some(sql) => named(conn, sql, &record_id)?,
            None => None,
        };
        let gone = names.is_none();
        let names = names.unwrap_or_default();
        for file in std::fs::read_dir(&record_dir).into_iter().flatten().flatten() {
            let file_name = file.file_name().to_string_lossy().into_owned();
            let own = file_name.strip_prefix("thumbs_").unwrap_or(&file_name);
            if names.contains(own) || !old(&file.path()) {
                continue;
            }
            let thumbs = file_name.starts_with("thumbs_");
            doomed.push(match file.file_type() {
                Ok(t) if t.is_dir() && thumbs => Removal::Tree(file.path()),
                // Fails while not empty: kept.
                Ok(t) if t.is_dir() => Removal::Emptied(file.path()),
                _ => Removal::File(file.path()),
            });
        }
        // The folder of a record that exists stays, even empty: an upload
        // to that record may be about to write into it.
        if gone && old(&record_dir) {
            doomed.push(Removal::Emptied(record_dir));
        }
    }
    if query.is_none() && old(dir) {
        doomed.push(Removal::Emptied(dir.to_owned()));
    }
    Ok(doomed)
}

/// The file names one record holds in its file fields (`None`: there is
/// no such record).
fn named(conn: &Connection, sql: &str, record_id: &str) -> rusqlite::Result<Option<HashSet<String>>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let columns = stmt.column_count();
    let row = stmt
        .query_row([record_id], |r| {
            (0..columns)
                .map(|i| r.get::<_, Option<String>>(i))
                .collect::<Result<Vec<_>, _>>()
        })
        .optional()?;
    let Some(values) = row else {
        return Ok(None);
    };
    let mut names = HashSet::new();
    // One name as plain text, several as a JSON list (a name that happens
    // to read as another JSON value is still itself).
    for value in values.into_iter().flatten() {
        match serde_json::from_str::<Value>(&value) {
            Ok(Value::Array(items)) => {
                names.extend(items.iter().filter_map(Value::as_str).map(str::to_owned))
            }
            Ok(Value::String(name)) => {
                names.insert(name);
            }
            _ => {
                names.insert(value);
            }
        }
    }
    Ok(Some(names))
}

/// Removes (or leaves to a backup's hold) what `unnamed` found; counts
/// what went now.
async fn remove(storage: &Storage, doomed: Vec<Removal>) -> Swept {
    let mut swept = Swept::default();
    for removal in doomed {
        let folder = matches!(removal, Removal::Emptied(_));
        let removed = usize::from(storage.removal(removal).await);
        if folder {
            swept.folders += removed;
        } else {
            swept.files += removed;
        }
    }
    swept
}
