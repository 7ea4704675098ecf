//! Expansion of records held as JSON maps: each related record is put,
//! as a map, into every record that names it.

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde_json::{Map, Value};

use super::{ExpandTree, Link, OneOrMany, distinct, fetch, ids_of, one_or_many, resolve};
use crate::{
    records::{access::Requester, service::RecordError, shape},
    schema::{Catalog, Collection},
};

/// Expands `tree` into `records` of collection `c`, in place.
pub fn apply(
    conn: &Connection,
    catalog: &Catalog,
    requester: &Requester,
    c: &Collection,
    records: &mut [Map<String, Value>],
    tree: &ExpandTree,
) -> Result<(), RecordError> {
    if !records.is_empty() {
        follow(conn, catalog, requester, c, records, tree)?;
    }
    Ok(())
}

/// Follows every path of `tree` from `records`; whether any was followed
/// (see the module doc of `expand`), in which case each record carries
/// `expand`.
fn follow(
    conn: &Connection,
    catalog: &Catalog,
    requester: &Requester,
    c: &Collection,
    records: &mut [Map<String, Value>],
    tree: &ExpandTree,
) -> Result<bool, RecordError> {
    let mut followed = false;
    for (segment, children) in &tree.0 {
        let Some(link) = resolve(catalog, c, segment, &requester.caller) else {
            continue;
        };
        let related_c = link.related();
        let ids: Vec<String> = match &link {
            Link::Forward { field, .. } => distinct(
                records
                    .iter()
                    .flat_map(|r| ids_of(r.get(&c.fields[*field].name)))
                    .collect(),
            ),
            Link::Back { .. } => records
                .iter()
                .filter_map(|r| r.get("id")?.as_str().map(str::to_owned))
                .collect(),
        };
        let mut related = fetch(conn, catalog, requester, &link, &ids, |row| {
            shape::row_to_json_as(related_c, row, &requester.caller)
        })?;
        if !related.is_empty()
            && !children.is_empty()
            && !follow(conn, catalog, requester, related_c, &mut related, children)?
        {
            // Every path on from here broke off: this one is dropped whole.
            continue;
        }
        followed = true;
        match link {
            Link::Forward { field, .. } => {
                let f = &c.fields[field];
                let by_id: BTreeMap<String, Map<String, Value>> = related
                    .into_iter()
                    .filter_map(|r| Some((r.get("id")?.as_str()?.to_owned(), r)))
                    .collect();
                for record in records.iter_mut() {
                    let found = ids_of(record.get(&f.name))
                        .iter()
                        .filter_map(|id| by_id.get(id).cloned().map(Value::Object))
                        .collect();
                    if let Some(value) = one_or_many(f.kind.is_multi(), found) {
                        attach(record, segment, value);
                    }
                }
            }
            Link::Back { source, field } => {
                let via = &source.fields[field].name;
                for record in records.iter_mut() {
                    let Some(id) = record.get("id").and_then(Value::as_str).map(str::to_owned) else {
                        continue;
                    };
                    let found = related
                        .iter()
                        .filter(|r| ids_of(r.get(via)).contains(&id))
                        .cloned()
                        .map(Value::Object)
                        .collect();
                    if let Some(value) = one_or_many(true, found) {
                        attach(record, segment, value);
                    }
                }
            }
        }
    }
    if followed {
        for record in records.iter_mut() {
            record
                .entry("expand")
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
    Ok(followed)
}

fn attach(record: &mut Map<String, Value>, key: &str, value: OneOrMany<Value>) {
    let value = match value {
        OneOrMany::One(v) => v,
        OneOrMany::Many(vs) => Value::Array(vs),
    };
    let expand = record
        .entry("expand")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(map) = expand {
        map.insert(key.to_owned(), value);
    }
}
