//! `expand`: replacing relation ids with the related records, in
//! `record.expand.<field>`, through dotted paths (up to 6 levels) and
//! back-relations (`comments_via_post`). A page of any size costs one
//! query per path segment, not one per record. A related record is shown
//! only if the caller may view it under its collection's view rule.

use std::collections::BTreeMap;

use rusqlite::{Connection, params_from_iter, types::Value as Sql};
use serde_json::{Map, Value};

use super::{
    access::{Access, Conditions, Requester, decide},
    service::RecordError,
    shape,
};
use crate::{
    http::error::ApiError,
    schema::{Catalog, Collection, field::FieldKind, sync::quote},
};

const MAX_DEPTH: usize = 6;

/// The requested paths as a tree: `a.b,a.c,d` → {a: {b, c}, d}.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ExpandTree(BTreeMap<String, ExpandTree>);

impl ExpandTree {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let mut root = Self::default();
        for path in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let segments: Vec<&str> = path.split('.').collect();
            if segments.len() > MAX_DEPTH || segments.iter().any(|s| s.is_empty()) {
                return Err(ApiError::bad_request(format!("Invalid expand path {path:?}.")));
            }
            let mut node = &mut root;
            for s in segments {
                node = node.0.entry(s.to_owned()).or_default();
            }
        }
        Ok(root)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn ids_of(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => vec![],
    }
}

/// Reads the records of `c` matching `where_sql` (over `params`) that the
/// caller may view.
fn fetch(
    conn: &Connection,
    catalog: &Catalog,
    requester: &Requester,
    c: &Collection,
    where_sql: &str,
    params: Vec<Sql>,
) -> Result<Vec<Map<String, Value>>, RecordError> {
    let mut conditions = Conditions::default();
    conditions.params = params;
    conditions.push(where_sql.to_owned(), vec![]);
    match decide(&requester.caller, &c.rules.view) {
        Access::SuperusersOnly => return Ok(vec![]),
        Access::Rule(expr) => conditions.add_expression(catalog, c, requester, &expr, true)?,
        Access::All => {}
    }
    let sql = format!(
        "SELECT {} FROM {}{}",
        shape::select_list(c),
        quote(&c.name),
        conditions.where_sql()
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(conditions.params.iter()), |row| {
            shape::row_to_json(c, row)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
}

/// Expands `tree` into `records` of collection `c`, in place.
pub fn apply(
    conn: &Connection,
    catalog: &Catalog,
    requester: &Requester,
    c: &Collection,
    records: &mut [Map<String, Value>],
    tree: &ExpandTree,
) -> Result<(), RecordError> {
    if records.is_empty() || tree.is_empty() {
        return Ok(());
    }
    // Every record asked to be expanded carries `expand`, empty or not.
    for record in records.iter_mut() {
        record
            .entry("expand")
            .or_insert_with(|| Value::Object(Map::new()));
    }
    for (segment, children) in &tree.0 {
        if let Some((other, via)) = segment.split_once("_via_") {
            expand_back(
                conn, catalog, requester, c, records, segment, other, via, children,
            )?;
            continue;
        }
        // Unknown or non-relation names are skipped, as PocketBase does.
        let Some(f) = c.field(segment).filter(|f| !f.hidden) else {
            continue;
        };
        let FieldKind::Relation { collection_id, .. } = &f.kind else {
            continue;
        };
        let Some(target) = catalog.by_id(collection_id) else {
            continue;
        };
        let mut wanted: Vec<String> = records.iter().flat_map(|r| ids_of(r.get(segment))).collect();
        wanted.sort();
        wanted.dedup();
        if wanted.is_empty() {
            continue;
        }
        let params = wanted.iter().map(|s| Sql::Text(s.clone())).collect();
        let where_sql = format!(
            "{}.\"id\" IN ({})",
            quote(&target.name),
            placeholders(wanted.len())
        );
        let mut related = fetch(conn, catalog, requester, target, &where_sql, params)?;
        apply(conn, catalog, requester, target, &mut related, children)?;
        let by_id: BTreeMap<String, Map<String, Value>> = related
            .into_iter()
            .filter_map(|r| Some((r.get("id")?.as_str()?.to_owned(), r)))
            .collect();
        for record in records.iter_mut() {
            let found: Vec<Value> = ids_of(record.get(segment))
                .iter()
                .filter_map(|id| by_id.get(id).cloned().map(Value::Object))
                .collect();
            let value = if f.kind.is_multi() {
                if found.is_empty() {
                    continue;
                } else {
                    Value::Array(found)
                }
            } else {
                match found.into_iter().next() {
                    Some(one) => one,
                    None => continue,
                }
            };
            attach(record, segment, value);
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn expand_back(
    conn: &Connection,
    catalog: &Catalog,
    requester: &Requester,
    c: &Collection,
    records: &mut [Map<String, Value>],
    segment: &str,
    other: &str,
    via: &str,
    children: &ExpandTree,
) -> Result<(), RecordError> {
    let Some(source) = catalog.all().find(|x| x.name == other) else {
        return Ok(());
    };
    let Some(f) = source.field(via).filter(|f| !f.hidden) else {
        return Ok(());
    };
    if !matches!(&f.kind, FieldKind::Relation { collection_id, .. } if *collection_id == c.id) {
        return Ok(());
    }
    let ids: Vec<String> = records
        .iter()
        .filter_map(|r| r.get("id")?.as_str().map(str::to_owned))
        .collect();
    let column = format!("{}.{}", quote(&source.name), quote(&f.name));
    let where_sql = if f.kind.is_multi() {
        format!(
            "EXISTS (SELECT 1 FROM json_each({column}) WHERE value IN ({}))",
            placeholders(ids.len())
        )
    } else {
        format!("{column} IN ({})", placeholders(ids.len()))
    };
    let params = ids.iter().map(|s| Sql::Text(s.clone())).collect();
    let mut related = fetch(conn, catalog, requester, source, &where_sql, params)?;
    apply(conn, catalog, requester, source, &mut related, children)?;
    for record in records.iter_mut() {
        let Some(id) = record.get("id").and_then(Value::as_str).map(str::to_owned) else {
            continue;
        };
        let found: Vec<Value> = related
            .iter()
            .filter(|r| ids_of(r.get(via)).contains(&id))
            .cloned()
            .map(Value::Object)
            .collect();
        if !found.is_empty() {
            attach(record, segment, Value::Array(found));
        }
    }
    Ok(())
}

fn attach(record: &mut Map<String, Value>, key: &str, value: Value) {
    let expand = record
        .entry("expand")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(map) = expand {
        map.insert(key.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_into_a_tree() {
        let t = ExpandTree::parse("a.b, a.c,d").expect("ok");
        assert_eq!(t.0.len(), 2);
        assert_eq!(t.0["a"].0.len(), 2);
        assert!(ExpandTree::parse("a..b").is_err());
        assert!(ExpandTree::parse("a.b.c.d.e.f.g").is_err());
        assert!(ExpandTree::parse("").expect("empty").is_empty());
    }
}
