//! A stored row as the API shows it: each column in its field's JSON
//! form, `collectionId` and `collectionName` added, hidden fields left out
//! (but for superusers, see `records::reveal`).

use std::borrow::Cow;

use rusqlite::{
    Row,
    types::{Value as Sql, ValueRef},
};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json, value::RawValue};

use crate::{
    identity::Caller,
    schema::{Collection, CollectionKind, field::FieldKind},
};

/// The `SELECT` list for `c`'s visible columns, in field order.
pub fn select_list(c: &Collection) -> String {
    let mut out = String::new();
    push_select_list(&mut out, c);
    out
}

/// `select_list(c)`, appended to `out`.
pub fn push_select_list(out: &mut String, c: &Collection) {
    out.reserve(c.fields.iter().map(|f| f.name.len() + 4).sum());
    for (i, f) in c.fields.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        crate::schema::sync::push_quoted(out, &f.name);
    }
}

/// One column as its field shows it in JSON. Serializing a cell into a
/// `Value` (`row_to_json`) and straight into response bytes
/// (`RecordWriter`) gives the same JSON, because both go through here.
struct Cell<'a> {
    kind: &'a FieldKind,
    value: ValueRef<'a>,
}

/// A whole float as an integer (`5`, not `5.0`), as PocketBase writes it.
fn number<S: Serializer>(v: f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 9e15 {
        s.serialize_i64(v as i64)
    } else {
        s.serialize_f64(v)
    }
}

/// Stored JSON as it is, or `fallback` when it does not parse. Written
/// to bytes it keeps its stored key order (as PocketBase does), while a
/// `Value` sorts keys; Cairn stores JSON serialized from maps, keys
/// sorted, so the two paths agree on everything Cairn wrote.
fn stored_json<S: Serializer>(raw: &str, fallback: impl FnOnce() -> Value, s: S) -> Result<S::Ok, S::Error> {
    match serde_json::from_str::<&RawValue>(raw) {
        Ok(raw) => raw.serialize(s),
        Err(_) => fallback().serialize(s),
    }
}

/// A column read as a boolean, the way bool fields are stored. Only 1 is
/// true among numbers: a view's `CAST(x AS BOOLEAN)` keeps `x`'s number,
/// and PocketBase (0.40.6, measured) shows 2, -1 and 0.5 as `false`.
fn truthy(v: ValueRef<'_>) -> bool {
    match v {
        ValueRef::Integer(i) => i == 1,
        ValueRef::Real(r) => r == 1.0,
        ValueRef::Text(t) => matches!(t, b"1" | b"true" | b"TRUE"),
        _ => false,
    }
}

impl Serialize for Cell<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.value;
        let text = || match v {
            ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t),
            ValueRef::Integer(i) => Cow::Owned(i.to_string()),
            ValueRef::Real(r) => Cow::Owned(r.to_string()),
            _ => Cow::Borrowed(""),
        };
        match self.kind {
            FieldKind::Number { .. } => match v {
                ValueRef::Integer(i) => s.serialize_i64(i),
                ValueRef::Real(r) => number(r, s),
                ValueRef::Text(t) => number(String::from_utf8_lossy(t).parse().unwrap_or(0.0), s),
                _ => s.serialize_i64(0),
            },
            FieldKind::Bool { .. } => s.serialize_bool(truthy(v)),
            // A view's json column holds whatever its query computes, not
            // only JSON: text that is not JSON shows as that text (`'x'`,
            // `group_concat(…)`), as PocketBase shows it, not as null.
            FieldKind::Json { .. } => match v {
                ValueRef::Null => s.serialize_unit(),
                _ => {
                    let text = text();
                    stored_json(&text, || Value::String(text.to_string()), s)
                }
            },
            FieldKind::GeoPoint { .. } => stored_json(&text(), || json!({"lon": 0, "lat": 0}), s),
            FieldKind::Password { .. } => s.serialize_str(""),
            k if k.is_multi() => stored_json(&text(), || json!([]), s),
            _ => s.serialize_str(&text()),
        }
    }
}

/// One column's value as its field shows it in JSON.
pub fn cell_json(kind: &FieldKind, value: ValueRef<'_>) -> Value {
    // A cell always converts: its numbers are finite or become null.
    serde_json::to_value(Cell { kind, value }).unwrap_or(Value::Null)
}

/// Shapes a row selected with `select_list(c)`.
pub fn row_to_json(c: &Collection, row: &Row<'_>) -> rusqlite::Result<Map<String, Value>> {
    shape_row(c, row, false)
}

/// `row_to_json` with what `caller` is shown: superusers see the hidden
/// fields they may (`reveal::shown`).
pub fn row_to_json_as(
    c: &Collection,
    row: &Row<'_>,
    caller: &Caller,
) -> rusqlite::Result<Map<String, Value>> {
    if !caller.is_superuser() {
        return shape_row(c, row, false);
    }
    let mut out = shape_row(c, row, true)?;
    for f in c.fields.iter().filter(|f| !super::reveal::shown(c, f, caller)) {
        out.remove(&f.name);
    }
    Ok(out)
}

/// `row_to_json` with the hidden fields too (passwords still read as
/// empty): the signed-in record as rules see it under `@request.auth`.
/// Never for an answer.
pub fn row_to_json_whole(c: &Collection, row: &Row<'_>) -> rusqlite::Result<Map<String, Value>> {
    shape_row(c, row, true)
}

fn shape_row(c: &Collection, row: &Row<'_>, hidden_too: bool) -> rusqlite::Result<Map<String, Value>> {
    let mut out = Map::new();
    out.insert("collectionId".into(), json!(c.id));
    out.insert("collectionName".into(), json!(c.name));
    for (i, field) in c.fields.iter().enumerate() {
        if field.hidden && !hidden_too {
            continue;
        }
        out.insert(field.name.clone(), cell_json(&field.kind, row.get_ref(i)?));
    }
    Ok(out)
}

/// The columns of a record selected with `select_list`: a row being read,
/// or one read before and kept (`[Sql]`, while its relations are expanded).
pub trait Cells {
    fn cell(&self, i: usize) -> rusqlite::Result<ValueRef<'_>>;
}

impl Cells for Row<'_> {
    fn cell(&self, i: usize) -> rusqlite::Result<ValueRef<'_>> {
        self.get_ref(i)
    }
}

impl Cells for [Sql] {
    fn cell(&self, i: usize) -> rusqlite::Result<ValueRef<'_>> {
        self.get(i)
            .map(ValueRef::from)
            .ok_or(rusqlite::Error::InvalidColumnIndex(i))
    }
}

/// What a record object holds, in the order its keys are written.
enum Key {
    CollectionId,
    CollectionName,
    /// The column at this index of `select_list`.
    Field(usize),
    /// The related records, when the answer expands any.
    Expand,
}

/// Where to find what decides whether a row's email is shown.
struct EmailColumns {
    email: usize,
    visibility: usize,
    id: usize,
}

/// Writes rows selected with `select_list(c)` straight to JSON bytes, with
/// no map in between: the same object `row_to_json` builds, emails hidden
/// as `hide_private_emails` would hide them, keys in the sorted order a
/// `Map` serializes them in (`expand`, when given, in its place among
/// them). For answers that need nothing more (no `fields`, no
/// `manageRule` to consult; see `writes_final`).
pub struct RecordWriter<'a> {
    c: &'a Collection,
    caller: &'a Caller,
    keys: Vec<Key>,
    /// Set when some rows' emails may have to be hidden from `caller`.
    email: Option<EmailColumns>,
}

impl<'a> RecordWriter<'a> {
    pub fn new(c: &'a Collection, caller: &'a Caller) -> Self {
        let mut named: Vec<(&str, Key)> = vec![
            ("collectionId", Key::CollectionId),
            ("collectionName", Key::CollectionName),
            // No field is named so (it is reserved).
            ("expand", Key::Expand),
        ];
        named.extend(
            c.fields
                .iter()
                .enumerate()
                .filter(|(_, f)| super::reveal::shown(c, f, caller))
                .map(|(i, f)| (f.name.as_str(), Key::Field(i))),
        );
        named.sort_by(|a, b| a.0.cmp(b.0));
        let column = |name: &str| c.fields.iter().position(|f| f.name == name);
        let email = (c.kind == CollectionKind::Auth && !caller.is_superuser())
            .then(|| {
                Some(EmailColumns {
                    email: column("email")?,
                    visibility: column("emailVisibility")?,
                    id: column("id")?,
                })
            })
            .flatten();
        Self {
            c,
            caller,
            keys: named.into_iter().map(|(_, k)| k).collect(),
            email,
        }
    }

    /// Whether this writer's output is the final answer for `caller`:
    /// only a `manageRule` can still reveal an email it would hide.
    pub fn writes_final(c: &Collection, caller: &Caller) -> bool {
        c.kind != CollectionKind::Auth
            || caller.is_superuser()
            || caller.record_id().is_none()
            || !super::manage::has_manage_rule(c)
    }

    /// Appends `row` as one JSON object to `out`.
    pub fn write(&self, row: &Row<'_>, out: &mut Vec<u8>) -> rusqlite::Result<()> {
        self.write_cells(row, None, out)
    }

    /// Appends the record `cells` hold as one JSON object to `out`, with
    /// `expand` (a JSON object, already written) as its `expand`.
    pub fn write_cells<C: Cells + ?Sized>(
        &self,
        cells: &C,
        expand: Option<&[u8]>,
        out: &mut Vec<u8>,
    ) -> rusqlite::Result<()> {
        let hidden_email = match &self.email {
            Some(cols) => {
                let id = match cells.cell(cols.id)? {
                    ValueRef::Text(t) => std::str::from_utf8(t).unwrap_or(""),
                    _ => "",
                };
                let shown = email_shown(self.c, truthy(cells.cell(cols.visibility)?), id, self.caller);
                (!shown).then_some(cols.email)
            }
            None => None,
        };
        let c = self.c;
        let encode = |e: serde_json::Error| rusqlite::Error::ToSqlConversionFailure(e.into());
        // serde_json's compact form, written by hand so that `expand` can
        // go in as the bytes it already is.
        out.push(b'{');
        let mut first = true;
        let mut key = |out: &mut Vec<u8>, name: &str| {
            if !std::mem::take(&mut first) {
                out.push(b',');
            }
            serde_json::to_writer(&mut *out, name).map_err(encode)?;
            out.push(b':');
            Ok::<_, rusqlite::Error>(())
        };
        for k in &self.keys {
            match k {
                Key::CollectionId => {
                    key(out, "collectionId")?;
                    serde_json::to_writer(&mut *out, &c.id).map_err(encode)?;
                }
                Key::CollectionName => {
                    key(out, "collectionName")?;
                    serde_json::to_writer(&mut *out, &c.name).map_err(encode)?;
                }
                Key::Field(i) if Some(*i) == hidden_email => {}
                Key::Field(i) => {
                    let field = &c.fields[*i];
                    key(out, &field.name)?;
                    let cell = Cell {
                        kind: &field.kind,
                        value: cells.cell(*i)?,
                    };
                    serde_json::to_writer(&mut *out, &cell).map_err(encode)?;
                }
                Key::Expand => {
                    if let Some(expand) = expand {
                        key(out, "expand")?;
                        out.extend_from_slice(expand);
                    }
                }
            }
        }
        out.push(b'}');
        Ok(())
    }
}

/// PocketBase's rule for an auth record's email: shown to superusers and
/// the account itself always, to others only when `emailVisibility` is on.
/// Accounts the caller may manage (`manageRule`) are decided by
/// `hide_private_emails`.
fn email_shown(c: &Collection, visibility: bool, id: &str, caller: &Caller) -> bool {
    c.kind != CollectionKind::Auth
        || caller.is_superuser()
        || visibility
        || matches!(caller, Caller::Record(r, _) if r.collection.id == c.id && r.id == id)
}

/// Whether `caller` may see the `email` of auth record `record` of `c`
/// by `email_shown`.
pub fn email_visible(c: &Collection, record: &Map<String, Value>, caller: &Caller) -> bool {
    email_shown(
        c,
        record.get("emailVisibility") == Some(&Value::Bool(true)),
        record.get("id").and_then(Value::as_str).unwrap_or(""),
        caller,
    )
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
    caller: &Caller,
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
    caller: &Caller,
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
    caller: &Caller,
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

#[cfg(test)]
mod tests;
