//! Reading the log: PocketBase's filter and sort over the log's columns
//! (`id`, `created`, `level`, `message`) and `data`'s JSON paths
//! (`data.status`, `data.auth`, …), compiled by the collections' own
//! compiler against a fixed description of `_logs`, so there is one
//! filter language, with its quoting and bound parameters.
//!
//! A client's filter here is a superuser's; it is still compiled as
//! untrusted, so `@collection` (which would name `data.db`'s tables from
//! `auxiliary.db`) and `@request` are refused rather than half-working.

use rusqlite::{params_from_iter, types::Value as Sql};
use serde_json::{Value, json};

use super::key;
use crate::{
    query::{
        Paging, SortKey,
        compile::{CompileError, Compiled, RequestInfo, Scope, compile, sort_expression},
        parser::{Expr, Operand},
    },
    schema::{
        Collection,
        field::{Field, FieldKind},
    },
    store::{Database, StoreError},
};

#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    /// A filter or sort that does not parse or names what the log lacks.
    #[error("{0}")]
    Invalid(String),
    #[error("no such log entry")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for LogsError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Store(err.into())
    }
}

/// A parsed list request.
pub struct LogQuery {
    pub paging: Paging,
    pub sort: Vec<SortKey>,
    /// Parsed by `query::parse_filter`; what it names is checked here.
    pub filter: Option<Expr>,
}

/// `_logs` as the compiler sees it: four columns and a JSON object.
fn columns() -> Collection {
    let fields = vec![
        Field::plain_text("id"),
        Field::plain_text("created"),
        Field::plain_text("message"),
        Field::new(
            "level",
            FieldKind::Number {
                required: false,
                min: None,
                max: None,
                only_int: true,
            },
        ),
        Field::new(
            "data",
            FieldKind::Json {
                required: false,
                max_size: 0,
            },
        ),
    ];
    Collection::unstored("_logs", fields)
}

fn invalid(what: &str, err: CompileError) -> LogsError {
    let (CompileError::Invalid(m) | CompileError::Forbidden(m)) = err;
    // The compiler's messages may end in a full stop of their own.
    LogsError::Invalid(format!("Invalid {what}: {}.", m.trim_end_matches('.')))
}

/// The `WHERE` clause of `filter` (empty without one), its parameters
/// numbered after `offset`.
fn condition(table: &Collection, filter: Option<&Expr>, offset: usize) -> Result<Compiled, LogsError> {
    let Some(expr) = filter else {
        return Ok(Compiled::default());
    };
    let request = RequestInfo::default();
    let scope = Scope {
        collection: table,
        catalog: None,
        request: &request,
        trusted: false,
        reach: None,
    };
    let mut compiled = compile(expr, &scope, offset).map_err(|e| invalid("filter", e))?;
    compiled.sql = format!(" WHERE {}", compiled.sql);
    let (low, high) = seq_range(expr);
    for (bound, op) in [(low, ">="), (high, "<")] {
        if let Some(seq) = bound {
            compiled.params.push(Sql::Integer(seq));
            compiled.sql += &format!(" AND seq {op} ?{}", offset + compiled.params.len());
        }
    }
    Ok(compiled)
}

/// The keys the filter's `created` comparisons admit, `[low, high)`: the
/// comparisons that must all hold (the filter itself, or the parts of its
/// `&&`s, however nested, but nothing under an `||`) between `created` and
/// a text, each narrowed by `key`, the narrowest of each end kept. The
/// table has no index but its key, so this is what lets a time range read
/// only its part of the log.
fn seq_range(expr: &Expr) -> (Option<i64>, Option<i64>) {
    match expr {
        Expr::And(parts) => parts
            .iter()
            .map(seq_range)
            .fold((None, None), |(low, high), (l, h)| {
                let high = match (high, h) {
                    (Some(a), Some(b)) => Some(std::cmp::min(a, b)),
                    (a, b) => a.or(b),
                };
                (low.max(l), high)
            }),
        Expr::Or(_) => (None, None),
        Expr::Compare {
            left,
            op,
            any: false,
            right,
            ..
        } => match (left, right) {
            (Operand::Path { name, .. }, Operand::Str(text)) if name == "created" => {
                key::created_range(*op, text)
            }
            (Operand::Str(text), Operand::Path { name, .. }) if name == "created" => {
                key::created_range(key::flipped(*op), text)
            }
            _ => (None, None),
        },
        Expr::Compare { .. } => (None, None),
    }
}

const SELECT: &str = "SELECT id, created, level, message, data FROM _logs";

fn row_json(row: &rusqlite::Row<'_>) -> rusqlite::Result<Value> {
    let data: String = row.get(4)?;
    Ok(json!({
        "id": row.get::<_, String>(0)?,
        "created": row.get::<_, String>(1)?,
        "level": row.get::<_, i64>(2)?,
        "message": row.get::<_, String>(3)?,
        // Written by the writer as JSON; a row that is not stays readable.
        "data": serde_json::from_str::<Value>(&data).unwrap_or_else(|_| json!({})),
    }))
}

/// A page of the log, in the list envelope.
pub async fn list(db: &Database, q: LogQuery) -> Result<Value, LogsError> {
    let table = columns();
    // Paging takes ?1 and ?2; the filter and the sort follow.
    let mut params = vec![
        Sql::Integer(q.paging.per_page as i64),
        Sql::Integer(q.paging.offset() as i64),
    ];
    let filter = condition(&table, q.filter.as_ref(), params.len())?;
    params.extend(filter.params);
    let request = RequestInfo::default();
    let scope = Scope {
        collection: &table,
        catalog: None,
        request: &request,
        trusted: false,
        reach: None,
    };
    let mut order = Vec::new();
    for key in &q.sort {
        let dir = if key.descending { "DESC" } else { "ASC" };
        // The key orders as `id` and `created` do (by time, then by
        // arrival), and is the table's one B-tree.
        if matches!(key.field.as_str(), "@rowid" | "id" | "created") {
            order.push(format!("seq {dir}"));
            continue;
        }
        if key.field == "@random" {
            order.push("RANDOM()".into());
            continue;
        }
        let term = sort_expression(&scope, &key.field, params.len()).map_err(|e| invalid("sort", e))?;
        params.extend(term.params);
        order.push(format!("{} {dir}", term.sql));
    }
    // Insertion order last, so pages are stable.
    order.push("seq ASC".into());
    let paging = q.paging;
    let where_sql = filter.sql;
    let (total, items) = db
        .read(move |conn| {
            let sql = format!(
                "{SELECT}{where_sql} ORDER BY {} LIMIT ?1 OFFSET ?2",
                order.join(", ")
            );
            let items = conn
                .prepare(&sql)?
                .query_map(params_from_iter(params.iter()), row_json)?
                .collect::<Result<Vec<_>, _>>()?;
            let total = if paging.skip_total {
                None
            } else {
                let sql = format!("SELECT count(*) FROM _logs{where_sql}");
                let mut stmt = conn.prepare(&sql)?;
                // Only the parameters the filter uses: ?1 and ?2 (paging) are
                // then bound but unused, which SQLite allows.
                let used = &params[..stmt.parameter_count().min(params.len())];
                Some(stmt.query_row(params_from_iter(used.iter()), |r| r.get::<_, i64>(0))? as u64)
            };
            Ok::<_, LogsError>((total, items))
        })
        .await?;
    Ok(paging.envelope(total, items))
}

/// One entry by id.
pub async fn one(db: &Database, id: String) -> Result<Value, LogsError> {
    let seq = key::of_id(&id).ok_or(LogsError::NotFound)?;
    db.read(move |conn| {
        let sql = format!("{SELECT} WHERE seq = ?1");
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query_map([seq], row_json)?;
        match rows.next() {
            Some(row) => Ok(row?),
            None => Err(LogsError::NotFound),
        }
    })
    .await
}

/// Entries per hour that `filter` admits, oldest hour first:
/// `[{total, date}]` with `date` the hour's start.
pub async fn stats(db: &Database, filter: Option<&Expr>) -> Result<Vec<Value>, LogsError> {
    let compiled = condition(&columns(), filter, 0)?;
    db.read(move |conn| {
        // No index serves the grouping (each would be paid on every
        // request's row); a `created` range in the filter narrows the rows
        // to its part of the key. The hour is the key's, as a number, and
        // becomes text once per hour rather than once per row.
        let sql = format!(
            "SELECT (seq >> {shift}) / 3600000 AS hour, count(*) FROM _logs{}
             GROUP BY hour ORDER BY hour",
            compiled.sql,
            shift = key::SHIFT,
        );
        let rows = conn
            .prepare(&sql)?
            .query_map(params_from_iter(compiled.params.iter()), |r| {
                let hour: i64 = r.get(0)?;
                let total: i64 = r.get(1)?;
                let start =
                    chrono::DateTime::from_timestamp(hour.saturating_mul(3600), 0).unwrap_or_default();
                Ok(json!({"total": total, "date": crate::datetime::format(start)}))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok::<_, LogsError>(rows)
    })
    .await
}

/// Empties the log.
pub async fn delete_all(db: &Database) -> Result<(), LogsError> {
    db.write(|tx| {
        tx.execute("DELETE FROM _log_entries", [])?;
        Ok::<_, LogsError>(())
    })
    .await
}

/// Retention: removes the entries older than `max_days` days (with 0,
/// every entry, as logging is then off). Returns how many went.
pub async fn delete_older_than(db: &Database, max_days: u32) -> Result<usize, LogsError> {
    let cutoff = key::first(chrono::Utc::now() - chrono::Duration::days(i64::from(max_days)));
    db.write(move |tx| {
        let n = tx.execute("DELETE FROM _log_entries WHERE seq < ?1", [cutoff])?;
        Ok::<_, LogsError>(n)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `filter` as the edge hands it over (trimmed, then parsed), compiled.
    fn condition_of(t: &Collection, filter: &str, offset: usize) -> Result<Compiled, String> {
        let parsed = crate::query::parse_filter(Some(filter.trim())).map_err(|e| e.to_string())?;
        condition(t, parsed.as_ref(), offset).map_err(|e| e.to_string())
    }

    #[test]
    fn filters_compile_over_columns_and_data_paths() {
        let t = columns();
        let c = condition_of(&t, "data.status >= 400 && level > 0 && message ~ 'GET'", 2).expect("ok");
        assert!(
            c.sql.contains("json_extract(`_logs`.`data`, '$.status')"),
            "{}",
            c.sql
        );
        assert!(c.sql.contains("?3"), "numbered after the paging: {}", c.sql);
        assert!(condition_of(&t, "   ", 0).expect("empty").sql.is_empty());
        // A `created` range reads only its part of the key, its bounds
        // numbered after the filter's own parameters; not under an `||`.
        let c = condition_of(
            &t,
            "level > 0 && (created >= '2026-01-02' && created < '2026-01-03')",
            2,
        )
        .expect("ok");
        assert!(c.sql.ends_with(" AND seq >= ?6 AND seq < ?7"), "{}", c.sql);
        let day = |d: &str| key::first(crate::datetime::parse(d).expect(d));
        assert_eq!(
            c.params[3..],
            [
                Sql::Integer(day("2026-01-02 00:00:00Z")),
                Sql::Integer(day("2026-01-03 00:00:00Z"))
            ]
        );
        let c = condition_of(&t, "level > 0 || created >= '2026-01-02'", 0).expect("ok");
        assert!(!c.sql.contains("seq"), "{}", c.sql);
        for bad in [
            "nope = 1",
            "level = ",
            "@collection.users.id = 'x'",
            "data.a-b = 1",
        ] {
            let err = condition_of(&t, bad, 0).expect_err(bad);
            assert!(err.starts_with("Invalid filter: "), "{bad}: {err}");
        }
    }
}
