//! The SQL side of a record write: the row inserted or updated (only the
//! changed columns) and read back as stored, relation ids checked against
//! their targets, and a UNIQUE violation reported as the field error
//! PocketBase gives.

use rusqlite::{Connection, params_from_iter, types::Value as Sql};
use serde_json::{Map, Value};

use super::{
    service::{CREATE_FAILED, RecordError, UPDATE_FAILED, Values, invalid, read_shaped, select_one_sql},
    shape, values,
};
use crate::{
    schema::{
        Catalog, Collection,
        field::{Field, FieldKind},
        sync::{push_quoted, quote},
    },
    validation::{ErrorTree, FieldError},
};

/// Checks that every relation id exists in its target collection.
pub(super) fn check_relations(
    conn: &Connection,
    catalog: &Catalog,
    c: &Collection,
    values: &Values,
    message: &'static str,
) -> Result<(), RecordError> {
    let mut errors = ErrorTree::new();
    for f in &c.fields {
        let FieldKind::Relation { collection_id, .. } = &f.kind else {
            continue;
        };
        let ids: Vec<String> = match values.get(&f.name) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            _ => continue,
        };
        if ids.is_empty() {
            continue;
        }
        let target = if *collection_id == c.id {
            Some(c)
        } else {
            catalog.by_id(collection_id).map(|a| a.as_ref())
        };
        let found = match target {
            Some(t) => {
                let marks = vec!["?"; ids.len()].join(",");
                let sql = format!("SELECT count(*) FROM {} WHERE id IN ({marks})", quote(&t.name));
                conn.prepare_cached(&sql)?
                    .query_row(params_from_iter(ids.iter()), |r| r.get::<_, i64>(0))?
            }
            None => 0,
        };
        if found as usize != ids.len() {
            errors.add(
                &[&f.name],
                FieldError::new(
                    "validation_missing_rel_records",
                    "Failed to find all relation records with the provided ids.",
                ),
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(invalid(message, errors))
    }
}

/// Turns a UNIQUE constraint failure into `validation_not_unique` on the
/// columns SQLite names.
fn unique_violation(err: &rusqlite::Error, c: &Collection) -> Option<ErrorTree> {
    let msg = err.to_string();
    let cols = msg.strip_prefix("UNIQUE constraint failed: ")?;
    let mut errors = ErrorTree::new();
    for col in cols.split(',').map(str::trim) {
        let name = col.rsplit('.').next().unwrap_or(col);
        let field = c.field(name).map_or("id", |f| f.name.as_str());
        errors.add(&[field], FieldError::not_unique());
    }
    Some(errors)
}

/// Runs a write statement; how many rows it changed. A UNIQUE violation
/// becomes a field error.
///
/// Writes do not end in `RETURNING`: SQLite runs that as a trigger, which
/// collects the rows in a temporary table and makes the statement keep a
/// statement journal inside the transaction. Reading the row back costs
/// far less: about 11,000 fewer instructions per insert (callgrind, one
/// row of the bench's write collection).
fn write(
    tx: &Connection,
    sql: &str,
    params: Vec<Sql>,
    c: &Collection,
    message: &'static str,
) -> Result<usize, RecordError> {
    tx.prepare_cached(sql)?
        .execute(params_from_iter(params))
        .map_err(|err| match unique_violation(&err, c) {
            Some(errors) => invalid(message, errors),
            None => err.into(),
        })
}

pub(super) fn exists(tx: &Connection, c: &Collection, id: &str) -> rusqlite::Result<bool> {
    tx.prepare_cached(&format!(
        "SELECT count(*) > 0 FROM {} WHERE id = ?1",
        quote(&c.name)
    ))?
    .query_row([id], |r| r.get(0))
}

/// Inserts the record; the row as stored, shaped.
pub(super) fn insert(
    tx: &Connection,
    c: &Collection,
    values: &Values,
) -> Result<Map<String, Value>, RecordError> {
    let cols: Vec<&Field> = c.fields.iter().filter(|f| values.contains_key(&f.name)).collect();
    let mut sql = String::with_capacity(64);
    sql.push_str("INSERT INTO ");
    push_quoted(&mut sql, &c.name);
    sql.push_str(" (");
    for (i, f) in cols.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        push_quoted(&mut sql, &f.name);
    }
    sql.push_str(") VALUES (");
    for i in 0..cols.len() {
        sql.push_str(if i > 0 { ", ?" } else { "?" });
    }
    sql.push(')');
    let params: Vec<Sql> = cols.iter().map(|f| values::to_sql(f, &values[&f.name])).collect();
    write(tx, &sql, params, c, CREATE_FAILED)?;
    Ok(tx
        .prepare_cached(&select_one_sql(c, "rowid"))?
        .query_row([tx.last_insert_rowid()], |row| shape::row_to_json(c, row))?)
}

/// Updates the changed columns of record `id`; the row as stored, shaped,
/// or `None` when nothing changed (or there is no such row).
pub(super) fn update(
    tx: &Connection,
    c: &Collection,
    id: &str,
    values: &Values,
    before: &Values,
) -> Result<Option<Map<String, Value>>, RecordError> {
    let changed: Vec<&Field> = c
        .fields
        .iter()
        .filter(|f| f.name != "id" && values.get(&f.name) != before.get(&f.name))
        .collect();
    if changed.is_empty() {
        return Ok(None);
    }
    let sets: Vec<String> = changed
        .iter()
        .enumerate()
        .map(|(i, f)| format!("{} = ?{}", quote(&f.name), i + 1))
        .collect();
    let sql = format!(
        "UPDATE {} SET {} WHERE id = ?{}",
        quote(&c.name),
        sets.join(", "),
        changed.len() + 1,
    );
    let mut params: Vec<Sql> = changed
        .iter()
        .map(|f| values::to_sql(f, &values[&f.name]))
        .collect();
    params.push(Sql::Text(id.to_owned()));
    if write(tx, &sql, params, c, UPDATE_FAILED)? == 0 {
        return Ok(None);
    }
    Ok(read_shaped(tx, c, id)?)
}
