//! Listing records: the collection's list rule and the client's filter as
//! one set of conditions, sort (through relation paths too) and paging.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use rusqlite::{params_from_iter, types::Value as Sql};
use serde_json::{Map, Value};

use super::{
    access::{Access, Conditions, Filter, Requester, decide_for},
    deps::RecordsDeps,
    expand::{self, ExpandTree},
    service::RecordError,
    shape,
};
use crate::{
    identity::KeyAction,
    query::{
        Paging, QueryError, SortKey,
        compile::{CompileError, Scope, sort_expression},
    },
    schema::{Collection, CollectionKind, sync::quote},
    store::explain::{self, SlowQuery},
    telemetry,
};

/// A parsed list request.
pub struct ListQuery {
    pub paging: Paging,
    pub sort: Vec<SortKey>,
    /// The client's own filter, if any.
    pub filter: Option<Filter>,
}

/// Whether `sort` may name this key on `c` (a path is checked when the
/// list query is compiled).
pub fn sortable(c: &Collection, key: &str) -> bool {
    key == "@random"
        || (key == "@rowid" && c.kind != CollectionKind::View)
        || key.starts_with("@collection.")
        || key.starts_with("@request.")
        || !key.starts_with('@')
}

/// Totals of recent list queries, so that paging through a list (or
/// asking for the same page again) does not count every matching row
/// each time. Keyed by the data version (`Database::commits`), the count
/// query and every value it binds (the caller's rule parameters among
/// them): any commit makes every entry stale, and no caller is given a
/// count its own conditions did not produce. Writes made by another
/// process (the `superuser` command) are seen within `COUNT_TTL`.
pub struct ListCounts(moka::sync::Cache<String, u64>, crate::stats::HitRatio);

const COUNT_TTL: std::time::Duration = std::time::Duration::from_secs(60);

impl Default for ListCounts {
    fn default() -> Self {
        Self(
            moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(COUNT_TTL)
                .build(),
            crate::stats::HitRatio::default(),
        )
    }
}

impl ListCounts {
    /// Forgets every count (the database was replaced by a restore).
    pub fn forget_all(&self) {
        self.0.invalidate_all();
    }

    /// `(hits, misses)` of the cache so far.
    pub fn hit_ratio(&self) -> (u64, u64) {
        self.1.get()
    }

    /// The count for `key`, from the cache or from `count`.
    fn get_or_count(
        &self,
        key: String,
        count: impl FnOnce() -> rusqlite::Result<u64>,
    ) -> rusqlite::Result<u64> {
        if let Some(n) = self.0.get(&key) {
            self.1.hit();
            return Ok(n);
        }
        self.1.miss();
        let n = count()?;
        self.0.insert(key, n);
        Ok(n)
    }
}

/// A page's records: as maps still to be shaped, or already written as
/// the final JSON array.
pub enum Items {
    Records(Vec<Map<String, Value>>),
    Json(Vec<u8>),
}

/// Runs the list query: the page's records and, unless skipped, the
/// total. With `direct`, the records are written straight to JSON,
/// expanded by that tree (see `expand::writes_final` for when that
/// serves), in the same read.
pub async fn select(
    deps: &RecordsDeps<'_>,
    requester: &Requester,
    c: Arc<Collection>,
    query: ListQuery,
    direct: Option<ExpandTree>,
) -> Result<(Option<u64>, Items), RecordError> {
    let catalog = deps.schema.catalog();
    // ?1 and ?2 are paging's: ?2 the offset, ?1 a slot left unused since
    // the limit is written into the SQL (see the `store` module doc); the
    // rule and the filter follow. The count query binds the same
    // conditions (it simply does not use ?1 and ?2).
    let mut conditions = Conditions::default();
    conditions.params.extend([Sql::Integer(0), Sql::Integer(0)]);
    match decide_for(&requester.caller, &c, KeyAction::List, &c.rules.list) {
        Access::SuperusersOnly => return Err(RecordError::SuperusersOnly),
        Access::OutOfScope => return Err(RecordError::OutOfScope),
        Access::Rule(expr) => conditions
            .add_rule(&catalog, &c, requester, &expr)
            .map_err(|e| e.broken_rule_as(None))?,
        Access::All => {}
    }
    if let Some(filter) = &query.filter {
        conditions.add_filter(&catalog, &c, requester, filter)?;
    }
    let scope = Scope {
        collection: &c,
        catalog: Some(&catalog),
        request: &requester.info,
        trusted: requester.caller.is_full_superuser(),
        reach: requester.caller.filter_reach(),
    };
    let mut order = Vec::new();
    for k in &query.sort {
        let dir = if k.descending { "DESC" } else { "ASC" };
        order.push(match k.field.as_str() {
            "@random" => "RANDOM()".to_owned(),
            "@rowid" => format!("_rowid_ {dir}"),
            f => {
                let term = sort_expression(&scope, f, conditions.params.len()).map_err(|e| match e {
                    CompileError::Invalid(m) => QueryError::Invalid(format!("Invalid sort: {m}.")),
                    CompileError::Forbidden(m) => QueryError::Forbidden(m),
                })?;
                // Bound after the conditions, so the count query (which has
                // no ORDER BY) still uses a prefix of the parameters; a
                // guard uses the same ones, and the count binds up to the
                // highest it uses.
                match term.guard {
                    Some(guard) => conditions.push(guard, term.params),
                    None => conditions.params.extend(term.params),
                }
                format!("{} {dir}", term.sql)
            }
        });
    }
    let order: Vec<String> = order
        .into_iter()
        // Insertion order last, so pages are stable; views have no rowid.
        .chain((c.kind != CollectionKind::View).then(|| "_rowid_ ASC".to_owned()))
        .collect();
    let paging = query.paging;
    let requester = requester.clone();
    // What an index could serve, read only should the query turn out slow.
    let (list_filter, sort) = (query.filter, query.sort);
    let slow_after = deps.slow_query;
    // Read before the read's snapshot begins, so a count cached under it
    // is at least as new as that version.
    let version = deps.db.commits();
    let counts = deps.list_counts.clone();
    conditions.params[1] = Sql::Integer(paging.offset() as i64);
    let result = deps
        .db
        .read(move |conn| {
            let order_by = if order.is_empty() {
                String::new()
            } else {
                format!(" ORDER BY {}", order.join(", "))
            };
            let table = quote(&c.name);
            let filter = conditions.where_sql();
            let sql = format!(
                "SELECT {} FROM {table}{filter}{order_by} LIMIT {} OFFSET ?2",
                shape::select_list(&c),
                paging.per_page,
            );
            let mut slow = Vec::new();
            let started = Instant::now();
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params_from_iter(conditions.params.iter()))?;
            let items = if let Some(tree) = &direct {
                let mut out = Vec::with_capacity(4096);
                out.push(b'[');
                expand::write_rows(conn, &catalog, &requester, &c, &mut rows, tree, &mut out)?;
                out.push(b']');
                Items::Json(out)
            } else {
                let mut records = Vec::new();
                while let Some(row) = rows.next()? {
                    records.push(shape::row_to_json(&c, row)?);
                }
                Items::Records(records)
            };
            drop(rows);
            drop(stmt);
            let note = |slow: &mut Vec<SlowQuery>, sql: &str, took: Duration| {
                if took >= slow_after {
                    slow.push(slow_query(
                        conn,
                        &c,
                        sql,
                        &conditions.params,
                        took,
                        &index_fields(&c, list_filter.as_ref(), &sort),
                    ));
                }
            };
            note(&mut slow, &sql, started.elapsed());
            let started = Instant::now();
            let total = if paging.skip_total {
                None
            } else {
                // The same conditions and parameters; ?1 and ?2 (paging) are
                // bound but unused, which SQLite allows.
                let sql = format!("SELECT count(*) FROM {table}{filter}");
                let mut stmt = conn.prepare_cached(&sql)?;
                // Only the parameters the conditions use (none, or ?1…?N).
                let used = &conditions.params[..stmt.parameter_count().min(conditions.params.len())];
                let key = format!("{version}\u{0}{sql}\u{0}{used:?}");
                let total = counts.get_or_count(key, || {
                    stmt.query_row(params_from_iter(used.iter()), |r| r.get::<_, i64>(0))
                        .map(|n| n as u64)
                })?;
                note(&mut slow, &sql, started.elapsed());
                Some(total)
            };
            Ok::<_, RecordError>((total, items, slow))
        })
        .await?;
    let (total, items, slow) = result;
    slow.into_iter().for_each(telemetry::note_slow_query);
    Ok((total, items))
}

/// The fields an index for a slow list could use: the filter's own
/// columns, then the sort's; at most three.
fn index_fields(c: &Collection, filter: Option<&Filter>, sort: &[SortKey]) -> Vec<String> {
    let mut fields = Vec::new();
    let named = filter.map(Filter::plain_fields).unwrap_or_default();
    for f in named.into_iter().chain(sort.iter().map(|k| k.field.clone())) {
        if f != "id" && c.field(&f).is_some() && !fields.contains(&f) && fields.len() < 3 {
            fields.push(f);
        }
    }
    fields
}

/// A slow list query, with SQLite's plan and, when the plan reads the
/// whole table, the index on `fields` that would serve it (PocketBase's
/// index syntax, as a collection's `indexes` takes it).
fn slow_query(
    conn: &rusqlite::Connection,
    c: &Collection,
    sql: &str,
    params: &[Sql],
    took: Duration,
    fields: &[String],
) -> SlowQuery {
    let plan = explain::plan(conn, sql, params);
    let index = (explain::scans(&plan, &c.name) && !fields.is_empty()).then(|| {
        let columns: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
        format!(
            "CREATE INDEX `idx_{}_{}` ON `{}` ({})",
            c.name,
            fields.join("_"),
            c.name,
            columns.join(", ")
        )
    });
    SlowQuery {
        sql: sql.to_owned(),
        millis: took.as_secs_f64() * 1000.0,
        plan,
        index,
    }
}
