//! Records, copied row by row: Cairn's collection tables have PocketBase's
//! columns (same names, types and encodings: JSON arrays for multi-valued
//! fields, 0/1 for booleans, PocketBase's datetime text), so each value
//! goes across as SQLite holds it, with its id, timestamps, password hash
//! and token key. Rows were validated by PocketBase when written; running
//! them through Cairn's record validation again would only refuse data
//! PocketBase serves today.
//!
//! Writes go through the store's writer in batches of `BATCH` rows per
//! transaction. Measured with tests/bench/import.py (100,000 records,
//! 1,000 files, debug build, a 2-core machine under load 15-18): one
//! transaction per row took 20-23 s, batches of 1,000 to 20,000 rows
//! 6-11 s, one batch of everything no better (11 s) while it holds the
//! whole collection in memory. The files a row names are copied as the
//! row is read.

use rusqlite::types::Value as SqlValue;
use tokio::runtime::Handle;

use super::{ImportError, files::FileCopier, source::Source};
use crate::{
    schema::{Collection, field::FieldKind, sync::quote},
    store::{Database, StoreError},
};

const BATCH: usize = 20_000;

/// PocketBase's stand-in superuser, made at first start so its installer
/// link can be signed; the import leaves it behind so Cairn's own
/// installer runs when there is no real superuser.
pub const INSTALLER_EMAIL: &str = "__pbinstaller@example.com";

/// Copies every row of `c`'s table; returns the number copied.
pub fn copy(
    rt: &Handle,
    source: &Source,
    target: &Database,
    c: &Collection,
    files: &mut FileCopier,
    progress: &mut dyn FnMut(String),
) -> Result<u64, ImportError> {
    let present = source.columns(&c.name)?;
    if present.is_empty() {
        return Err(ImportError::Corrupt {
            path: source.dir.join("data.db"),
            detail: format!("the collection {:?} has no table", c.name),
        });
    }
    let columns: Vec<String> = (c.fields.iter())
        .filter(|f| present.contains(&f.name))
        .map(|f| f.name.clone())
        .collect();
    let at = |name: &str| columns.iter().position(|c| c == name);
    let id_at = at("id").ok_or_else(|| ImportError::Corrupt {
        path: source.dir.join("data.db"),
        detail: format!("the collection {:?} has no id column", c.name),
    })?;
    let file_at: Vec<usize> = (c.fields.iter())
        .filter(|f| matches!(f.kind, FieldKind::File { .. }))
        .filter_map(|f| at(&f.name))
        .collect();
    let installer_at = (c.name == "_superusers").then(|| at("email")).flatten();
    let sql = insert_sql(&c.name, &columns);
    let total = source.count(&c.name)?;
    let mut done = 0u64;
    let mut batch: Vec<Vec<SqlValue>> = Vec::with_capacity(BATCH.min(total as usize));
    let mut flush = |batch: &mut Vec<Vec<SqlValue>>, done: &mut u64| -> Result<(), ImportError> {
        let rows = std::mem::take(batch);
        let n = rows.len() as u64;
        let sql = sql.clone();
        rt.block_on(target.write(move |tx| {
            let mut stmt = tx.prepare_cached(&sql)?;
            for row in rows {
                stmt.execute(rusqlite::params_from_iter(row))?;
            }
            Ok::<_, StoreError>(())
        }))?;
        *done += n;
        if total > BATCH as u64 {
            progress(format!("  {}: {done}/{total} records", c.name));
        }
        Ok(())
    };
    source.rows(&c.name, &columns, |row| {
        if let Some(i) = installer_at
            && matches!(&row[i], SqlValue::Text(e) if e == INSTALLER_EMAIL)
        {
            return Ok(());
        }
        if let SqlValue::Text(id) = &row[id_at] {
            for &i in &file_at {
                for name in file_names(&row[i]) {
                    files.copy((&c.id, &c.name), id, &name)?;
                }
            }
        }
        batch.push(row);
        if batch.len() >= BATCH {
            flush(&mut batch, &mut done)?;
        }
        Ok(())
    })?;
    if !batch.is_empty() {
        flush(&mut batch, &mut done)?;
    }
    Ok(done)
}

fn insert_sql(table: &str, columns: &[String]) -> String {
    let names: Vec<String> = columns.iter().map(|c| quote(c)).collect();
    let marks = vec!["?"; columns.len()].join(", ");
    format!(
        "INSERT INTO {} ({}) VALUES ({marks})",
        quote(table),
        names.join(", ")
    )
}

/// The file names a file column holds: one name, or a JSON list of them
/// (PocketBase's storage and Cairn's alike; the export reads them too).
pub(crate) fn file_names(value: &SqlValue) -> Vec<String> {
    let SqlValue::Text(raw) = value else {
        return Vec::new();
    };
    let raw = raw.trim();
    if raw.starts_with('[') {
        serde_json::from_str::<Vec<String>>(raw).unwrap_or_default()
    } else if raw.is_empty() {
        Vec::new()
    } else {
        vec![raw.to_owned()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_columns_hold_one_name_or_a_list() {
        let text = |s: &str| SqlValue::Text(s.into());
        assert_eq!(file_names(&text("a.png")), ["a.png"]);
        assert_eq!(file_names(&text(r#"["a.png","b.txt"]"#)), ["a.png", "b.txt"]);
        assert!(file_names(&text("")).is_empty());
        assert!(file_names(&text("[]")).is_empty());
        assert!(file_names(&SqlValue::Null).is_empty());
    }
}
