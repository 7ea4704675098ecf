//! A view query's first rows, shaped as the view's records will be, before
//! the view exists: what the dashboard shows while a view is written
//! (`POST /api/collections/meta/dry-run-view`, as PocketBase has it).
//!
//! It all runs on a read-only connection: the query is checked to be one
//! read-only `SELECT` by `schema::view::draft`, and a reader could not
//! write even if it were not.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::shape::{row_to_json, select_list};
use crate::{
    schema::{Catalog, Collection, SchemaError, view},
    store::Database,
};

/// How many rows a preview shows.
pub const SAMPLE_ROWS: usize = 10;

/// The view `query` would make and its first rows (hidden fields left out,
/// as its records will show them).
pub async fn view_sample(
    db: &Database,
    catalog: Arc<Catalog>,
    query: String,
) -> Result<(Collection, Vec<Map<String, Value>>), SchemaError> {
    db.read(move |conn| {
        let draft = view::draft(conn, &catalog, &query)?;
        // The query stands on lines of its own, so a trailing `--` comment
        // in it cannot swallow the closing parenthesis.
        let sql = format!(
            "SELECT {} FROM (\n{}\n) LIMIT {SAMPLE_ROWS}",
            select_list(&draft),
            draft.view_query
        );
        let invalid = |e: rusqlite::Error| SchemaError::Refused(format!("Invalid view query: {e}."));
        let mut stmt = conn.prepare(&sql).map_err(invalid)?;
        if !stmt.readonly() {
            return Err(SchemaError::Refused("The view query must be read-only.".into()));
        }
        let rows = stmt
            .query_map([], |row| row_to_json(&draft, row))
            .map_err(invalid)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        Ok((draft, rows))
    })
    .await
}
