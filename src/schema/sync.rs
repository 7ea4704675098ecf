//! Table DDL for collections, always run inside the caller's transaction
//! so that a failure leaves schema and data exactly as they were.
//!
//! A change to the columns rebuilds the table (create the new shape, copy
//! the rows across by field id, swap): one path for add, rename, remove
//! and single↔multi changes, and a renamed field keeps its data because
//! the copy follows the field's stable id, not its name. Views over the
//! table are set aside and put back around the rebuild (see `rebuild`).

use rusqlite::Connection;

use super::{
    collection::{Collection, CollectionKind},
    field::{Field, FieldKind},
    index::IndexDef,
    view,
};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// An index statement SQLite refused, by its position in `indexes`.
    #[error("index {position}: {message}")]
    Index { position: usize, message: String },
    /// A view the change would leave unable to run, in SQLite's words.
    #[error("{0}")]
    View(String),
}

/// Quotes an identifier that schema validation has already restricted to
/// `[A-Za-z0-9_]`; doubling backticks keeps even a bad name inert.
pub fn quote(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    push_quoted(&mut out, name);
    out
}

/// `quote(name)`, appended to `out`: statements built on every request
/// (a record by id, its columns) are built in one string.
pub fn push_quoted(out: &mut String, name: &str) {
    out.push('`');
    if name.contains('`') {
        out.push_str(&name.replace('`', "``"));
    } else {
        out.push_str(name);
    }
    out.push('`');
}

fn column_sql(field: &Field) -> String {
    if matches!(
        field.kind,
        FieldKind::Text {
            primary_key: true,
            ..
        }
    ) {
        format!(
            "{} TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL",
            quote(&field.name)
        )
    } else {
        format!("{} {}", quote(&field.name), field.kind.column_definition())
    }
}

fn create_table_sql(table: &str, c: &Collection) -> String {
    let columns: Vec<String> = c.fields.iter().map(column_sql).collect();
    format!("CREATE TABLE {} ({})", quote(table), columns.join(", "))
}

pub fn create(conn: &Connection, c: &Collection) -> Result<(), SyncError> {
    if c.kind == CollectionKind::View {
        conn.execute_batch(&super::view::create_sql(conn, c)?)?;
        return Ok(());
    }
    conn.execute_batch(&create_table_sql(&c.name, c))?;
    apply_indexes(conn, c)
}

/// Drops every index on `c`'s table and creates the ones it declares.
pub fn apply_indexes(conn: &Connection, c: &Collection) -> Result<(), SyncError> {
    drop_indexes(conn, &c.name)?;
    for (position, sql) in c.indexes.iter().enumerate() {
        let def = IndexDef::parse(sql).ok_or_else(|| SyncError::Index {
            position,
            message: "Invalid CREATE INDEX expression.".into(),
        })?;
        conn.execute_batch(&def.sql_for(&c.name))
            .map_err(|err| SyncError::Index {
                position,
                message: format!("Failed to create index {} - {err}.", def.name),
            })?;
    }
    Ok(())
}

fn drop_indexes(conn: &Connection, table: &str) -> rusqlite::Result<()> {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL")?
        .query_map([table], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for name in names {
        conn.execute_batch(&format!("DROP INDEX {}", quote(&name)))?;
    }
    Ok(())
}

/// The value expression that carries `old`'s column into `new`'s.
fn carry(old: &Field, new: &Field) -> String {
    let col = quote(&old.name);
    match (old.kind.is_multi(), new.kind.is_multi()) {
        (false, true) => format!("CASE WHEN IFNULL({col}, '') = '' THEN '[]' ELSE json_array({col}) END"),
        (true, false) => format!("IFNULL(json_extract({col}, '$[#-1]'), '')"),
        _ => col,
    }
}

fn same_columns(old: &Collection, new: &Collection) -> bool {
    old.fields.len() == new.fields.len()
        && old
            .fields
            .iter()
            .zip(&new.fields)
            .all(|(a, b)| a.id == b.id && a.name == b.name && column_sql(a) == column_sql(b))
}

/// Brings the table of `old` to the shape of `new`. Views that read the
/// table are carried along: a rename lets SQLite rewrite them, a rebuild
/// drops and re-creates them; whether they still compile is the caller's
/// check, made once for every kind of change (`Schema::change`).
pub fn update(conn: &Connection, old: &Collection, new: &Collection) -> Result<(), SyncError> {
    if new.kind == CollectionKind::View {
        conn.execute_batch(&format!("DROP VIEW IF EXISTS {}", quote(&old.name)))?;
        return create(conn, new);
    }
    if old.name != new.name {
        // First and on its own, with the views in place: SQLite (with
        // `legacy_alter_table` off, its default) rewrites the views that
        // name the table, which a rebuild under a new name would not.
        if old.name.eq_ignore_ascii_case(&new.name) {
            // SQLite names are case-blind, so `posts` → `Posts` is "already
            // exists" to it: go through a free name, in this transaction.
            let via = unused_name(conn, &format!("_cairn_rename_{}", new.name))?;
            rename_table(conn, &old.name, &via)?;
            rename_table(conn, &via, &new.name)?;
        } else {
            rename_table(conn, &old.name, &new.name)?;
        }
    }
    if !same_columns(old, new) {
        rebuild(conn, old, new)?;
    }
    apply_indexes(conn, new)
}

/// `base`, or `base` with a number appended, whichever no table, view or
/// index holds (a collection may be named anything, `_cairn_…` included).
fn unused_name(conn: &Connection, base: &str) -> rusqlite::Result<String> {
    let mut held = conn.prepare_cached("SELECT 1 FROM sqlite_master WHERE name = ?1 COLLATE NOCASE")?;
    let mut candidate = base.to_owned();
    let mut n = 0u32;
    while held.exists([&candidate])? {
        n += 1;
        candidate = format!("{base}_{n}");
    }
    Ok(candidate)
}

fn rename_table(conn: &Connection, from: &str, to: &str) -> Result<(), SyncError> {
    conn.execute_batch(&format!("ALTER TABLE {} RENAME TO {}", quote(from), quote(to)))
        .map_err(|err| {
            // SQLite re-checks every view on a rename and names the one it
            // cannot read: a refusal to report, not a fault.
            if err.to_string().contains("error in view") {
                SyncError::View(err.to_string())
            } else {
                SyncError::Sqlite(err)
            }
        })
}

/// SQLite's procedure for a change `ALTER TABLE` cannot make
/// (https://sqlite.org/lang_altertable.html, "Making Other Kinds Of Table
/// Schema Changes"), inside the caller's transaction: set the views
/// aside, create the new shape, copy the rows by field id, drop the old
/// table, rename the new one into place, put the views back. The table
/// already carries `new`'s name.
fn rebuild(conn: &Connection, old: &Collection, new: &Collection) -> Result<(), SyncError> {
    drop_indexes(conn, &new.name)?;
    let views = view::stash_all(conn)?;
    let staging = format!("_cairn_rebuild_{}", new.name);
    conn.execute_batch(&create_table_sql(&staging, new))?;
    let (mut targets, mut sources) = (Vec::new(), Vec::new());
    for field in &new.fields {
        if let Some(previous) = old.field_by_id(&field.id) {
            targets.push(quote(&field.name));
            sources.push(carry(previous, field));
        }
    }
    if !targets.is_empty() {
        conn.execute_batch(&format!(
            "INSERT INTO {} ({}) SELECT {} FROM {}",
            quote(&staging),
            targets.join(", "),
            sources.join(", "),
            quote(&new.name)
        ))?;
    }
    conn.execute_batch(&format!(
        "DROP TABLE {}; ALTER TABLE {} RENAME TO {};",
        quote(&new.name),
        quote(&staging),
        quote(&new.name)
    ))?;
    // SQLite's procedure ends with `PRAGMA foreign_key_check`; it has
    // nothing to find here, as collection tables declare no foreign keys
    // (relations are checked by the records service).
    Ok(view::restore(conn, &views)?)
}

pub fn drop(conn: &Connection, c: &Collection) -> rusqlite::Result<()> {
    if c.kind == CollectionKind::View {
        return conn.execute_batch(&format!("DROP VIEW IF EXISTS {}", quote(&c.name)));
    }
    conn.execute_batch(&format!("DROP TABLE IF EXISTS {}", quote(&c.name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_with_backticks_doubled() {
        assert_eq!(quote("title"), "`title`");
        assert_eq!(quote("we`ird"), "`we``ird`");
        let mut sql = String::from("SELECT ");
        push_quoted(&mut sql, "a`b");
        assert_eq!(sql, "SELECT `a``b`");
    }
}
