//! View collections: a read-only `SELECT` whose result columns become the
//! collection's fields. A column taken straight from another collection's
//! field keeps that field's type and options; a computed column is `json`.
//! The query must return an `id` column, as every record has one.
//!
//! SQLite keeps views apart from the tables they read, so a table rebuild
//! drops and re-creates them (`stash_all`, `restore`), and every schema
//! change ends by checking that no view it touched stopped compiling
//! (`broken`).
//!
//! `draft` makes the collection a query would give without storing it,
//! for the dashboard's preview before a view is saved.

use rusqlite::Connection;
use serde_json::Map;

use super::{
    Collection, CollectionKind, SchemaError,
    catalog::Catalog,
    collection::Rules,
    field::{Field, FieldKind, derive_id},
    sync::quote,
};

/// The name and id a draft view goes by in its preview's rows.
pub const DRAFT_NAME: &str = "_view_preview";

/// The query as it will be stored: trimmed, without a trailing `;`.
pub fn normalize(query: &str) -> String {
    query.trim().trim_end_matches(';').trim().to_owned()
}

/// Checks `query` and derives the view's fields from its columns.
pub fn infer_fields(conn: &Connection, catalog: &Catalog, query: &str) -> Result<Vec<Field>, String> {
    let head = query.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
    if head != "SELECT" && head != "WITH" {
        return Err("The view query must be a single SELECT statement.".into());
    }
    let stmt = conn
        .prepare(query)
        .map_err(|e| format!("Invalid view query: {e}."))?;
    if !stmt.readonly() {
        return Err("The view query must be read-only.".into());
    }
    let mut fields: Vec<Field> = Vec::new();
    for column in stmt.columns_with_metadata() {
        let name = column.name().to_owned();
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || name.is_empty() {
            return Err(format!("The view column {name:?} needs a plain name (use AS)."));
        }
        if fields.iter().any(|f| f.name.eq_ignore_ascii_case(&name)) {
            return Err(format!("The view query returns the column {name:?} twice."));
        }
        let source = column
            .table_name()
            .zip(column.origin_name())
            .and_then(|(table, origin)| {
                catalog
                    .all()
                    .find(|c| c.name == table)
                    .and_then(|c| c.field(origin))
                    .cloned()
            });
        let field = match source {
            Some(mut f) => {
                f.id = derive_id(f.kind.type_name(), &name);
                f.name = name;
                f.system = f.name == "id";
                f
            }
            None => Field::new(
                &name,
                FieldKind::Json {
                    required: false,
                    max_size: 1,
                },
            ),
        };
        fields.push(field);
    }
    if !fields.iter().any(|f| f.name == "id") {
        return Err("The view query must return an id column.".into());
    }
    Ok(fields)
}

/// The view collection `query` would make, not stored: its fields as
/// saving it would derive them. `Refused` names what is wrong with it.
pub fn draft(conn: &Connection, catalog: &Catalog, query: &str) -> Result<Collection, SchemaError> {
    let query = normalize(query);
    let fields = infer_fields(conn, catalog, &query).map_err(SchemaError::Refused)?;
    Ok(Collection {
        id: DRAFT_NAME.into(),
        name: DRAFT_NAME.into(),
        kind: CollectionKind::View,
        system: false,
        fields,
        indexes: vec![],
        rules: Rules::default(),
        view_query: query,
        options: Map::new(),
        auth: None,
        created: String::new(),
        updated: String::new(),
    })
}

/// A view as SQLite stores it, kept while the table it reads is rebuilt.
pub struct StoredView {
    name: String,
    sql: String,
}

/// Remembers and drops every view, so that a table can be dropped and
/// renamed under them: SQLite re-checks the whole schema on a rename and
/// fails on any view that reads a table missing at that moment. Every
/// view, not only those that read the table: a view over a view reads it
/// too, and working out the chain costs more than re-creating a handful.
pub fn stash_all(conn: &Connection) -> rusqlite::Result<Vec<StoredView>> {
    let views: Vec<StoredView> = conn
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'view' AND sql IS NOT NULL")?
        .query_map([], |r| {
            Ok(StoredView {
                name: r.get(0)?,
                sql: r.get(1)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    for view in &views {
        conn.execute_batch(&format!("DROP VIEW {}", quote(&view.name)))?;
    }
    Ok(views)
}

/// Re-creates what `stash_all` dropped, from SQLite's own text. SQLite
/// does not check a view when it is created, so this cannot fail on a
/// view the change broke: `broken` finds those.
pub fn restore(conn: &Connection, views: &[StoredView]) -> rusqlite::Result<()> {
    for view in views {
        conn.execute_batch(&view.sql)?;
    }
    Ok(())
}

/// The views that do not compile now, each with SQLite's reason.
pub fn broken(conn: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(names
        .into_iter()
        .filter_map(|name| {
            let probe = format!("SELECT * FROM {} LIMIT 0", quote(&name));
            conn.prepare(&probe).err().map(|err| (name, err.to_string()))
        })
        .collect())
}

/// The query of view `name` as SQLite now runs it: after a table is
/// renamed, SQLite has rewritten the views that read it, and the stored
/// query follows so a later edit starts from what runs. `None` when the
/// view's text is not the shape `sync::create` writes.
pub fn current_query(conn: &Connection, name: &str) -> rusqlite::Result<Option<String>> {
    let sql: Option<String> = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'view' AND name = ?1",
            [name],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    // Must match the statement `sync::create` writes.
    let head = format!("CREATE VIEW {} AS ", quote(name));
    Ok(sql.and_then(|sql| sql.strip_prefix(&head).map(str::to_owned)))
}
