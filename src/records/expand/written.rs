//! Expansion written straight from rows: the records' columns are kept,
//! the related records read once per path segment and written once each,
//! and their bytes spliced into each record's `expand`.

use std::collections::HashMap;

use rusqlite::{
    Connection, Row, Rows,
    types::{Value as Sql, ValueRef},
};

use super::{ExpandTree, Link, OneOrMany, distinct, fetch, ids_of, one_or_many, resolve};
use crate::{
    identity::Caller,
    records::{
        access::Requester,
        service::RecordError,
        shape::{self, RecordWriter},
    },
    schema::{Catalog, Collection},
};

/// A record's columns, read and kept while its relations are expanded.
pub type OwnedRow = Vec<Sql>;

/// `row` (selected with `shape::select_list(c)`) as an `OwnedRow`.
pub fn owned_row(c: &Collection, row: &Row<'_>) -> rusqlite::Result<OwnedRow> {
    (0..c.fields.len()).map(|i| row.get::<_, Sql>(i)).collect()
}

/// Whether the records of `c`, expanded by `tree`, can be written straight
/// from their rows for `caller` by `write` (rather than as maps by
/// `apply`): true unless a `manageRule` would have to be consulted about
/// some record's email (see `RecordWriter::writes_final`).
pub fn writes_final(catalog: &Catalog, c: &Collection, tree: &ExpandTree, caller: &Caller) -> bool {
    RecordWriter::writes_final(c, caller)
        && tree.0.iter().all(|(segment, children)| {
            resolve(catalog, c, segment, caller)
                .is_none_or(|link| writes_final(catalog, link.related(), children, caller))
        })
}

/// Writes `rows` of `c` as JSON objects, each expanded by `tree` (when it
/// is not empty) the same way `apply` expands maps, with related records
/// written once each however many records they are attached to.
pub fn write(
    conn: &Connection,
    catalog: &Catalog,
    requester: &Requester,
    c: &Collection,
    rows: &[OwnedRow],
    tree: &ExpandTree,
) -> Result<Vec<Vec<u8>>, RecordError> {
    let expansions = if tree.is_empty() || rows.is_empty() {
        None
    } else {
        expansions(conn, catalog, requester, c, rows, tree)?
    };
    written(c, &requester.caller, rows, expansions.as_deref())
}

/// `rows` of `c` written as JSON objects for `caller`, the i-th with the
/// i-th of `expansions` as its `expand`, if given.
fn written(
    c: &Collection,
    caller: &Caller,
    rows: &[OwnedRow],
    expansions: Option<&[Vec<u8>]>,
) -> Result<Vec<Vec<u8>>, RecordError> {
    let writer = RecordWriter::new(c, caller);
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let mut out = Vec::with_capacity(256);
            let expand = expansions.map(|e| e[i].as_slice());
            writer.write_cells(row.as_slice(), expand, &mut out)?;
            Ok(out)
        })
        .collect()
}

/// Writes every record `rows` yields (of `c`, selected with
/// `shape::select_list`) into `out` as JSON objects separated by commas,
/// expanded by `tree`; how many. Unexpanded rows go straight from the
/// statement to bytes; expanded ones are kept until their related
/// records are read.
pub fn write_rows(
    conn: &Connection,
    catalog: &Catalog,
    requester: &Requester,
    c: &Collection,
    rows: &mut Rows<'_>,
    tree: &ExpandTree,
    out: &mut Vec<u8>,
) -> Result<usize, RecordError> {
    let mut written = 0;
    let mut comma = |out: &mut Vec<u8>| {
        if written > 0 {
            out.push(b',');
        }
        written += 1;
    };
    if tree.is_empty() {
        let writer = RecordWriter::new(c, &requester.caller);
        while let Some(row) = rows.next()? {
            comma(out);
            writer.write(row, out)?;
        }
    } else {
        let mut owned = Vec::new();
        while let Some(row) = rows.next()? {
            owned.push(owned_row(c, row)?);
        }
        for record in write(conn, catalog, requester, c, &owned, tree)? {
            comma(out);
            out.extend_from_slice(&record);
        }
    }
    Ok(written)
}

/// The `expand` object of each of `rows`, as JSON bytes; `None` when no
/// path of `tree` was followed (see the module doc of `expand`).
fn expansions(
    conn: &Connection,
    catalog: &Catalog,
    requester: &Requester,
    c: &Collection,
    rows: &[OwnedRow],
    tree: &ExpandTree,
) -> Result<Option<Vec<Vec<u8>>>, RecordError> {
    let ids_in = |c: &Collection, row: &OwnedRow, field: usize| {
        let value = row.get(field).map_or(ValueRef::Null, ValueRef::from);
        ids_of(Some(&shape::cell_json(&c.fields[field].kind, value)))
    };
    // A record's id, by the index of the `id` column (found once per collection).
    let id_column = |c: &Collection| c.fields.iter().position(|f| f.name == "id");
    let id_of = |column: Option<usize>, row: &OwnedRow| match column.and_then(|i| row.get(i)) {
        Some(Sql::Text(id)) => Some(id.clone()),
        _ => None,
    };
    let mut objects: Vec<Vec<u8>> = vec![b"{".to_vec(); rows.len()];
    let mut followed = false;
    for (segment, children) in &tree.0 {
        let Some(link) = resolve(catalog, c, segment, &requester.caller) else {
            continue;
        };
        let related_c = link.related();
        // What each record refers to: related ids (forward), or its own id.
        let keys: Vec<Vec<String>> = match &link {
            Link::Forward { field, .. } => rows.iter().map(|r| ids_in(c, r, *field)).collect(),
            Link::Back { .. } => {
                let column = id_column(c);
                rows.iter()
                    .map(|r| id_of(column, r).into_iter().collect())
                    .collect()
            }
        };
        let ids = match &link {
            Link::Forward { .. } => distinct(keys.concat()),
            Link::Back { .. } => keys.concat(),
        };
        let related = fetch(conn, catalog, requester, &link, &ids, |row| {
            owned_row(related_c, row)
        })?;
        let nested = if related.is_empty() || children.is_empty() {
            None
        } else {
            match expansions(conn, catalog, requester, related_c, &related, children)? {
                // Every path on from here broke off: this one is dropped whole.
                None => continue,
                some => some,
            }
        };
        followed = true;
        if related.is_empty() {
            continue;
        }
        let written = written(related_c, &requester.caller, &related, nested.as_deref())?;
        // Forward: the related records by id. Back: what each related
        // record points at.
        let (by_id, points_at): (HashMap<String, usize>, Vec<Vec<String>>) = match &link {
            Link::Forward { .. } => {
                let related_column = id_column(related_c);
                (
                    related
                        .iter()
                        .enumerate()
                        .filter_map(|(i, r)| Some((id_of(related_column, r)?, i)))
                        .collect(),
                    Vec::new(),
                )
            }
            Link::Back { field, .. } => (
                HashMap::new(),
                related.iter().map(|r| ids_in(related_c, r, *field)).collect(),
            ),
        };
        for (object, keys) in objects.iter_mut().zip(&keys) {
            let (found, multi): (Vec<&[u8]>, bool) = match &link {
                Link::Forward { field, .. } => (
                    keys.iter()
                        .filter_map(|id| by_id.get(id).map(|&i| written[i].as_slice()))
                        .collect(),
                    c.fields[*field].kind.is_multi(),
                ),
                Link::Back { .. } => (
                    written
                        .iter()
                        .zip(&points_at)
                        .filter(|(_, targets)| keys.iter().any(|k| targets.contains(k)))
                        .map(|(w, _)| w.as_slice())
                        .collect(),
                    true,
                ),
            };
            match one_or_many(multi, found) {
                Some(OneOrMany::One(one)) => entry(object, segment, &[one], false),
                Some(OneOrMany::Many(many)) => entry(object, segment, &many, true),
                None => {}
            }
        }
    }
    if !followed {
        return Ok(None);
    }
    for object in &mut objects {
        object.push(b'}');
    }
    Ok(Some(objects))
}

/// Appends `"key":value` (or `"key":[values]`) to an open JSON object.
fn entry(object: &mut Vec<u8>, key: &str, values: &[&[u8]], array: bool) {
    if object.len() > 1 {
        object.push(b',');
    }
    // A segment is a field or collection name: plain characters only,
    // but escape it as JSON all the same.
    let _ = serde_json::to_writer(&mut *object, key);
    object.push(b':');
    if array {
        object.push(b'[');
    }
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            object.push(b',');
        }
        object.extend_from_slice(v);
    }
    if array {
        object.push(b']');
    }
}
