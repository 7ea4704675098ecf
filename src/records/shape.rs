//! A stored row as the API shows it: each column in its field's JSON
//! form, `collectionId` and `collectionName` added, hidden fields left out.

use rusqlite::{Row, types::ValueRef};
use serde_json::{Map, Value, json};

use crate::schema::{Collection, field::FieldKind};

/// The `SELECT` list for `c`'s visible columns, in field order.
pub fn select_list(c: &Collection) -> String {
    c.fields
        .iter()
        .map(|f| crate::schema::sync::quote(&f.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

fn parsed_json(raw: &str, fallback: Value) -> Value {
    serde_json::from_str(raw).unwrap_or(fallback)
}

/// Converts one column value (read with the field's type in mind).
fn value_of(kind: &FieldKind, v: ValueRef<'_>) -> Value {
    let text = || match v {
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(r) => r.to_string(),
        _ => String::new(),
    };
    match kind {
        FieldKind::Number { .. } => match v {
            ValueRef::Integer(i) => json!(i),
            ValueRef::Real(r) => number(r),
            ValueRef::Text(t) => number(String::from_utf8_lossy(t).parse().unwrap_or(0.0)),
            _ => json!(0),
        },
        FieldKind::Bool { .. } => json!(match v {
            ValueRef::Integer(i) => i != 0,
            ValueRef::Real(r) => r != 0.0,
            ValueRef::Text(t) => matches!(t, b"1" | b"true" | b"TRUE"),
            _ => false,
        }),
        FieldKind::Json { .. } => match v {
            ValueRef::Null => Value::Null,
            _ => parsed_json(&text(), Value::Null),
        },
        FieldKind::GeoPoint { .. } => parsed_json(&text(), json!({"lon": 0, "lat": 0})),
        FieldKind::Password { .. } => json!(""),
        k if k.is_multi() => parsed_json(&text(), json!([])),
        _ => json!(text()),
    }
}

/// Shapes a row selected with `select_list(c)`.
pub fn row_to_json(c: &Collection, row: &Row<'_>) -> rusqlite::Result<Map<String, Value>> {
    let mut out = Map::new();
    out.insert("collectionId".into(), json!(c.id));
    out.insert("collectionName".into(), json!(c.name));
    for (i, field) in c.fields.iter().enumerate() {
        if field.hidden {
            continue;
        }
        out.insert(field.name.clone(), value_of(&field.kind, row.get_ref(i)?));
    }
    Ok(out)
}

/// Whether `caller` may see the `email` of auth record `record` of `c`:
/// superusers and the account itself always, others only when the record's
/// `emailVisibility` is on (PocketBase's rule). Accounts the caller may
/// manage (`manageRule`) are decided by `hide_private_emails`.
pub fn email_visible(
    c: &Collection,
    record: &Map<String, Value>,
    caller: &crate::auth::caller::Caller,
) -> bool {
    use crate::auth::caller::Caller;
    if c.kind != crate::schema::CollectionKind::Auth || caller.is_superuser() {
        return true;
    }
    if record.get("emailVisibility") == Some(&Value::Bool(true)) {
        return true;
    }
    matches!(caller, Caller::Record(r, _)
        if r.collection.id == c.id && record.get("id").and_then(Value::as_str) == Some(r.id.as_str()))
}

/// Calls `f` with every record of an answer: `value` (a record or a list)
/// and, recursively, the records it expands.
fn each_record(value: &mut Value, f: &mut impl FnMut(&mut Map<String, Value>)) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(|v| each_record(v, f)),
        Value::Object(record) => {
            f(record);
            if let Some(expand) = record.get_mut("expand").and_then(Value::as_object_mut) {
                expand.values_mut().for_each(|v| each_record(v, f));
            }
        }
        _ => {}
    }
}

/// The auth record (collection, id) of `record` when `caller` may not see
/// its email by `email_visible` alone.
fn email_hidden_from<'c>(
    record: &Map<String, Value>,
    catalog: &'c crate::schema::Catalog,
    caller: &crate::auth::caller::Caller,
) -> Option<(&'c Collection, String)> {
    let c = catalog.by_id(record.get("collectionId")?.as_str()?)?;
    let id = record.get("id")?.as_str()?;
    (!email_visible(c, record, caller)).then(|| (c.as_ref(), id.to_owned()))
}

/// The auth records in an answer whose email `caller` may not see by
/// `email_visible` alone, as (collection id, record id): the ones a
/// `manageRule` could still reveal.
pub fn hidden_email_records(
    value: &mut Value,
    catalog: &crate::schema::Catalog,
    caller: &crate::auth::caller::Caller,
    out: &mut Vec<(String, String)>,
) {
    if caller.is_superuser() {
        return;
    }
    each_record(value, &mut |record| {
        if let Some((c, id)) = email_hidden_from(record, catalog, caller) {
            out.push((c.id.clone(), id));
        }
    });
}

/// Removes the `email` of every auth record in an answer that `caller` may
/// not see (`value` and, recursively, its expanded records), except those
/// in `managed` (the caller's `manageRule` matches them). Every record
/// answer passes through here: lists, views, writes, batches, realtime.
pub fn hide_private_emails(
    value: &mut Value,
    catalog: &crate::schema::Catalog,
    caller: &crate::auth::caller::Caller,
    managed: &[(String, String)],
) {
    if caller.is_superuser() {
        return;
    }
    each_record(value, &mut |record| {
        if let Some((c, id)) = email_hidden_from(record, catalog, caller)
            && !managed.iter().any(|(cid, rid)| *cid == c.id && *rid == id)
        {
            record.remove("email");
        }
    });
}
