//! View collections: a read-only `SELECT` whose result columns become the
//! collection's fields, typed as PocketBase types them (`infer`, which
//! reads the query's outline with `select`). The query must return an
//! `id` column, as every record has one, and it is always text
//! (`create_sql`).
//!
//! SQLite keeps views apart from the tables they read, so a table rebuild
//! drops and re-creates them (`stash_all`, `restore`), and every schema
//! change ends by checking that no view it touched stopped compiling
//! (`broken`).
//!
//! `draft` makes the collection a query would give without storing it,
//! for the dashboard's preview before a view is saved.

mod infer;
mod select;
mod tokens;

use rusqlite::Connection;
use serde_json::Map;

pub use self::infer::{file_source, infer_fields};
use super::{Collection, CollectionKind, SchemaError, catalog::Catalog, collection::Rules, sync::quote};

/// The name and id a draft view goes by in its preview's rows.
pub const DRAFT_NAME: &str = "_view_preview";

/// The query as it will be stored: trimmed, without a trailing `;`.
pub fn normalize(query: &str) -> String {
    query.trim().trim_end_matches(';').trim().to_owned()
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
/// view's text is not the shape `create_sql` writes.
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
    let head = format!("CREATE VIEW {} AS ", quote(name));
    Ok(sql.and_then(|sql| sql.strip_prefix(&head).map(|body| unwrapped(body).to_owned())))
}

/// Opens the statement `create_sql` wraps a query in; marked, so the query
/// inside is found again (`unwrapped`) and told from a query of that shape.
const TEXT_ID_HEAD: &str = "SELECT /* cairn: text ids */ CAST(`id` AS TEXT) AS `id`";

/// The statement that makes view `c` (`sync::create` runs it).
///
/// Record ids are text, and a record is found with `id = ?` and a text
/// value; SQLite does not find the integer 1 that way for `'1'`. So when
/// the query's `id` is not a column SQLite knows to be `TEXT` (a
/// `ROW_NUMBER()`, a number field), the view casts it, as PocketBase's
/// does. A `TEXT` id column is left bare, so a lookup by id can still use
/// the primary key of the table it comes from.
///
/// `current_query` reads the query back out of what this writes: change
/// the two together.
pub fn create_sql(conn: &Connection, c: &Collection) -> rusqlite::Result<String> {
    let head = format!("CREATE VIEW {} AS ", quote(&c.name));
    let stmt = conn.prepare(&c.view_query)?;
    let columns = stmt.columns();
    let text_id = columns
        .iter()
        .any(|col| col.name() == "id" && col.decl_type().is_some_and(|t| t.eq_ignore_ascii_case("TEXT")));
    if text_id {
        return Ok(format!("{head}{}", c.view_query));
    }
    let mut list = TEXT_ID_HEAD.to_owned();
    for col in columns.iter().filter(|col| col.name() != "id") {
        list.push_str(", ");
        super::sync::push_quoted(&mut list, col.name());
    }
    // The query stands on lines of its own, so a trailing `--` comment
    // in it cannot swallow the closing parenthesis.
    Ok(format!("{head}{list} FROM (\n{}\n)", c.view_query))
}

/// The query of a view's text after `CREATE VIEW … AS `: as it is, or
/// from inside the wrapper `create_sql` casts its id in.
fn unwrapped(body: &str) -> &str {
    body.strip_prefix(TEXT_ID_HEAD)
        .and_then(|rest| rest.split_once(" FROM (\n"))
        .and_then(|(_, inner)| inner.strip_suffix("\n)"))
        .unwrap_or(body)
}
