//! What superusers see that others do not: hidden fields. PocketBase
//! (0.40.6, checked) answers a superuser's record requests with them —
//! view, list, expand, create, update, batch, and realtime events for a
//! superuser's subscription — but never passwords or an account's
//! `tokenKey`, and never in the record of an auth answer (sign-in,
//! refresh, impersonation), which is shaped for the account itself.
//!
//! Records are read and shaped for everyone first; superusers' answers
//! then get the hidden values here, so guests and users pay nothing for
//! the feature. Rows written straight to bytes (`shape::RecordWriter`)
//! ask `shown` instead, as their rows already hold every column.

use rusqlite::{Connection, params_from_iter};
use serde_json::{Map, Value};

use super::shape::cell_json;
use crate::{
    identity::Caller,
    schema::{
        Collection, CollectionKind,
        field::{Field, FieldKind},
        sync::quote,
    },
};

/// Whether field `f` of `c` is in the records `caller` is answered with.
pub fn shown(c: &Collection, f: &Field, caller: &Caller) -> bool {
    !f.hidden || (caller.is_superuser() && to_superusers(c, f))
}

/// A hidden field a superuser's answer carries: any but a password and
/// an account's `tokenKey` (secrets, not data).
fn to_superusers(c: &Collection, f: &Field) -> bool {
    let secret = matches!(f.kind, FieldKind::Password { .. })
        || (c.kind == CollectionKind::Auth && f.name == "tokenKey");
    !secret
}

/// Adds the hidden fields a superuser sees to `records` of `c` (shaped
/// without them), read by id in one statement. Nothing is read for other
/// callers or when `c` has no such field.
pub fn fill(
    conn: &Connection,
    c: &Collection,
    caller: &Caller,
    records: &mut [Map<String, Value>],
) -> rusqlite::Result<()> {
    if !caller.is_superuser() {
        return Ok(());
    }
    fill_for_superusers(conn, c, records)
}

/// The hidden values a superuser sees of record `id` of `c`, read now:
/// a delete keeps them in its change before the row goes, for `fill_kept`
/// to show after the commit. Nothing is read when `c` has no such field.
pub fn kept(conn: &Connection, c: &Collection, id: &str) -> rusqlite::Result<Map<String, Value>> {
    let mut records = [Map::from_iter([("id".to_owned(), Value::from(id))])];
    fill_for_superusers(conn, c, &mut records)?;
    let [mut kept] = records;
    kept.remove("id");
    Ok(kept)
}

/// `fill` for a record whose row is gone: the values `kept` read before.
pub fn fill_kept(caller: &Caller, record: &mut Map<String, Value>, kept: &Map<String, Value>) {
    if caller.is_superuser() {
        record.extend(kept.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

/// `fill` for a superuser, whoever asks: for what is sent on a
/// superuser's behalf (a webhook that includes hidden fields).
pub fn fill_for_superusers(
    conn: &Connection,
    c: &Collection,
    records: &mut [Map<String, Value>],
) -> rusqlite::Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let fields: Vec<&Field> = c
        .fields
        .iter()
        .filter(|f| f.hidden && to_superusers(c, f))
        .collect();
    if fields.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = records
        .iter()
        .filter_map(|r| r.get("id")?.as_str().map(str::to_owned))
        .collect();
    let columns: Vec<String> = fields.iter().map(|f| quote(&f.name)).collect();
    let marks = vec!["?"; ids.len()].join(", ");
    let sql = format!(
        "SELECT id, {} FROM {} WHERE id IN ({marks})",
        columns.join(", "),
        quote(&c.name)
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(ids.iter()))?;
    let mut found: std::collections::HashMap<String, Map<String, Value>> = Default::default();
    while let Some(row) = rows.next()? {
        let mut values = Map::new();
        for (i, f) in fields.iter().enumerate() {
            values.insert(f.name.clone(), cell_json(&f.kind, row.get_ref(i + 1)?));
        }
        found.insert(row.get(0)?, values);
    }
    for record in records.iter_mut() {
        let id = record.get("id").and_then(Value::as_str).unwrap_or("");
        if let Some(values) = found.remove(id) {
            record.extend(values);
        }
    }
    Ok(())
}
