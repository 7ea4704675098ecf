//! View collections: a read-only `SELECT` whose result columns become the
//! collection's fields. A column taken straight from another collection's
//! field keeps that field's type and options; a computed column is `json`.
//! The query must return an `id` column, as every record has one.

use rusqlite::Connection;

use super::{
    catalog::Catalog,
    field::{Field, FieldKind, derive_id},
};

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
