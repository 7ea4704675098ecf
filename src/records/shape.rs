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
