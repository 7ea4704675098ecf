//! A view's fields, derived from its query's columns as PocketBase 0.40.6
//! derives them (each rule measured against it):
//!
//! - `id` is always the view's text primary key, whatever makes it
//!   (`(ROW_NUMBER() OVER()) AS id`, `author AS id`);
//! - a column that is a collection's field, `name` or `t.name`, keeps
//!   that field (type and options) under its own name; one that is a
//!   collection's `id` under another name is a single relation to that
//!   collection, so `expand` follows it. A column without a table is
//!   looked for in the first table of the `FROM`, as PocketBase does;
//! - `count(…)` is an integer, `total(…)` a number, and `CAST(… AS T)`
//!   is text, an integer, a number or a bool for `T` = `TEXT`,
//!   `INTEGER`/`INT`, `REAL`/`NUMERIC`, `BOOLEAN`/`BOOL`;
//! - everything else is `json`: other expressions, and columns read
//!   through a subquery or a `WITH` table, where PocketBase does not
//!   follow them either (`select` says why Cairn does not).
//!
//! Where Cairn goes further, it only accepts more: expressions
//! PocketBase's parser refuses (`age * 2`, `CASE …`, `->>`, window
//! functions) are `json` here, since SQLite has checked them.
//!
//! PocketBase also refuses, before saving, a query whose rows have an
//! empty id or share one (`ids_are_keys`): a record is found by its id.

use rusqlite::Connection;

use std::sync::Arc;

use super::select::{self, Column, Outline, Source};
use crate::schema::{
    Collection, CollectionKind,
    catalog::Catalog,
    field::{Field, FieldKind, derive_id},
};

/// Checks `query` and derives the view's fields from its columns.
pub fn infer_fields(conn: &Connection, catalog: &Catalog, query: &str) -> Result<Vec<Field>, String> {
    let head = query.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
    if head != "SELECT" && head != "WITH" {
        return Err(select::Refusal::NotSelect.to_string());
    }
    let stmt = conn
        .prepare(query)
        .map_err(|e| format!("Invalid view query: {e}."))?;
    if !stmt.readonly() {
        return Err("The view query must be read-only.".into());
    }
    if stmt.parameter_count() > 0 {
        // SQLite would refuse it only when the view is made, as a failure
        // of the write rather than of the query.
        return Err(
            "The view query cannot have parameters (`?`, `:name`): a view has no values to fill them.".into(),
        );
    }
    let outline = select::outline(query).map_err(|refusal| refusal.to_string())?;
    // The outline must see the columns SQLite sees, or it types none.
    let outline = outline.filter(|o| o.columns.len() == stmt.column_count());
    let mut fields: Vec<Field> = Vec::new();
    for (i, name) in stmt.column_names().into_iter().enumerate() {
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || name.is_empty() {
            return Err(format!("The view column {name:?} needs a plain name (use AS)."));
        }
        if fields.iter().any(|f| f.name.eq_ignore_ascii_case(name)) {
            return Err(format!("The view query returns the column {name:?} twice."));
        }
        let field = match &outline {
            _ if name == "id" => id_field(),
            Some(outline) => column_field(catalog, outline, i, name),
            None => json(name),
        };
        fields.push(field);
    }
    if !fields.iter().any(|f| f.name == "id") {
        return Err(
            "The view query must return an id column (`(ROW_NUMBER() OVER()) AS id` makes one for rows that have none)."
                .into(),
        );
    }
    ids_are_keys(conn, query)?;
    Ok(fields)
}

/// The collection result column `column` reads, and the column's name
/// there, where it is a plain column of a collection's table; `None` for
/// an expression, or a table no collection describes. (Also how a view's
/// file is found where it is stored: `file_source`.)
fn reads<'c, 'o>(
    catalog: &'c Catalog,
    outline: &'o Outline,
    column: &'o Column,
) -> Option<(&'c Arc<Collection>, &'o str)> {
    let (table, column_name) = select::reference(&column.expr)?;
    let source = match table {
        Some(table) => outline.sources.iter().find(|s| s.answers_to(table)),
        None => outline.sources.first(),
    };
    let collection = match source {
        Some(Source::Table { name: table, .. }) => catalog.all().find(|c| c.name.eq_ignore_ascii_case(table)),
        _ => None,
    }?;
    Some((collection, column_name))
}

/// Where view field `field` of `view` reads its files: the collection
/// that stores them (following a view of a view) and that collection's
/// field. `None` where the field is not a plain column of one.
pub fn file_source(catalog: &Catalog, view: &Collection, field: &str) -> Option<(Arc<Collection>, String)> {
    let (mut c, mut field) = (view, field.to_owned());
    // A view reads a view at most a few levels deep; a loop is no source.
    for _ in 0..8 {
        if c.kind != CollectionKind::View {
            return Some((catalog.by_id(&c.id)?.clone(), field));
        }
        let outline = select::outline(&c.view_query).ok()??;
        let column = outline.columns.iter().find(|col| {
            select::reference(&col.expr)
                .is_some_and(|(_, name)| col.alias.as_deref().unwrap_or(name).eq_ignore_ascii_case(&field))
        })?;
        let (source, name) = reads(catalog, &outline, column)?;
        let found = source.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))?;
        (c, field) = (source.as_ref(), found.name.clone());
    }
    None
}

/// The field of result column `i`, named `name` by SQLite.
fn column_field(catalog: &Catalog, outline: &Outline, i: usize, name: &str) -> Field {
    let column = &outline.columns[i];
    if let Some((_, column_name)) = select::reference(&column.expr) {
        // SQLite names an unaliased column after the column it reads; a
        // name that differs means this reading of the SQL is off.
        if !column
            .alias
            .as_deref()
            .unwrap_or(column_name)
            .eq_ignore_ascii_case(name)
        {
            return json(name);
        }
        let Some((collection, column_name)) = reads(catalog, outline, column) else {
            return json(name);
        };
        if column_name.eq_ignore_ascii_case("id") {
            return relation(name, &collection.id);
        }
        return match collection
            .fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(column_name))
        {
            Some(f) => copied(f, name),
            None => json(name),
        };
    }
    match select::call(&column.expr) {
        Some((function, _)) if function.eq_ignore_ascii_case("count") => number(name, true),
        Some((function, _)) if function.eq_ignore_ascii_case("total") => number(name, false),
        Some((function, args)) if function.eq_ignore_ascii_case("cast") => {
            match select::cast_type(args).map(str::to_ascii_uppercase).as_deref() {
                Some("TEXT") => text(name),
                Some("INTEGER" | "INT") => number(name, true),
                Some("REAL" | "NUMERIC") => number(name, false),
                Some("BOOLEAN" | "BOOL") => Field::new(name, FieldKind::Bool { required: false }),
                _ => json(name),
            }
        }
        _ => json(name),
    }
}

/// A view's primary key, as PocketBase gives every view: required text,
/// of any length, whatever the query makes it from.
fn id_field() -> Field {
    Field::new(
        "id",
        FieldKind::Text {
            required: true,
            min: 0,
            max: 0,
            pattern: "^[a-z0-9]+$".into(),
            autogenerate_pattern: String::new(),
            primary_key: true,
        },
    )
    .system()
}

/// Another collection's field, under the view's name for it: its options,
/// flags and type stay; its id is the view's own.
fn copied(f: &Field, name: &str) -> Field {
    let mut f = f.clone();
    f.id = derive_id(f.kind.type_name(), name);
    f.name = name.to_owned();
    f
}

fn relation(name: &str, collection_id: &str) -> Field {
    Field::new(
        name,
        FieldKind::Relation {
            required: false,
            collection_id: collection_id.to_owned(),
            cascade_delete: false,
            min_select: 0,
            max_select: 1,
        },
    )
}

fn number(name: &str, only_int: bool) -> Field {
    Field::new(
        name,
        FieldKind::Number {
            required: false,
            min: None,
            max: None,
            only_int,
        },
    )
}

fn text(name: &str) -> Field {
    Field::plain_text(name)
}

fn json(name: &str) -> Field {
    Field::new(
        name,
        FieldKind::Json {
            required: false,
            max_size: 1,
        },
    )
}

/// Refuses a query whose rows, as they are now, have an empty id or share
/// one: such a record could not be found by its id. The rows are read to
/// know, as PocketBase reads them; later rows are the query's to keep
/// right. The query stands on lines of its own, so a trailing `--`
/// comment cannot swallow what follows it.
fn ids_are_keys(conn: &Connection, query: &str) -> Result<(), String> {
    let any = |tail: &str| {
        conn.prepare(&format!("SELECT 1 FROM (\n{query}\n) {tail} LIMIT 1"))
            .and_then(|mut stmt| stmt.exists([]))
            .map_err(|e| format!("Invalid view query: {e}."))
    };
    if any("WHERE id IS NULL OR id = ''")? {
        return Err("The view query returns a row with an empty id; every record needs one.".into());
    }
    if any("GROUP BY id HAVING count(*) > 1")? {
        return Err(
            "The view query returns rows that share an id; every record needs its own (`(ROW_NUMBER() OVER()) AS id` makes one)."
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests;
