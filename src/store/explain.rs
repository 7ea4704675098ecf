//! A read slower than its threshold, kept with SQLite's own account of
//! how it ran (`EXPLAIN QUERY PLAN`), so the request log can show why a
//! request was slow and which index would help.

use rusqlite::{Connection, params_from_iter, types::Value as Sql};

/// One slow statement: its SQL (parameters as `?N`, never their values,
/// which may be a user's data), how long it took, SQLite's plan, and the
/// index that would serve it when the plan scans a whole table.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SlowQuery {
    pub sql: String,
    #[serde(rename = "ms")]
    pub millis: f64,
    pub plan: Vec<String>,
    #[serde(rename = "suggestedIndex", skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
}

/// SQLite's plan for `sql` bound to `params`: one line per step, indented
/// two spaces per level under its parent. Empty if SQLite cannot explain
/// it (the statement already ran, so that is no reason to fail).
pub fn plan(conn: &Connection, sql: &str, params: &[Sql]) -> Vec<String> {
    let run = || -> rusqlite::Result<Vec<(i64, i64, String)>> {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        let used = &params[..stmt.parameter_count().min(params.len())];
        let rows = stmt.query_map(params_from_iter(used.iter()), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(3)?))
        })?;
        rows.collect()
    };
    let Ok(steps) = run() else {
        return Vec::new();
    };
    let depth = |mut parent: i64| {
        let mut d = 0;
        while parent != 0 {
            d += 1;
            parent = steps
                .iter()
                .find(|(id, _, _)| *id == parent)
                .map_or(0, |(_, p, _)| *p);
            if d > 64 {
                break;
            }
        }
        d
    };
    steps
        .iter()
        .map(|(_, parent, detail)| format!("{}{detail}", "  ".repeat(depth(*parent))))
        .collect()
}

/// Whether `plan` reads the whole of `table` (not through an index).
pub fn scans(plan: &[String], table: &str) -> bool {
    plan.iter().any(|l| {
        let l = l.trim_start();
        l == format!("SCAN {table}") || l.starts_with(&format!("SCAN {table} ")) && !l.contains("USING")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_scan_is_told_from_an_indexed_search() {
        let conn = Connection::open_in_memory().expect("db");
        conn.execute_batch("CREATE TABLE posts (n INTEGER, t TEXT); CREATE INDEX idx_t ON posts (t);")
            .expect("schema");
        let scan = plan(&conn, "SELECT * FROM posts WHERE n > ?1", &[Sql::Integer(1)]);
        assert!(scans(&scan, "posts"), "{scan:?}");
        let search = plan(
            &conn,
            "SELECT * FROM posts WHERE t = ?1",
            &[Sql::Text("a".into())],
        );
        assert!(!scans(&search, "posts"), "{search:?}");
        assert!(
            search.iter().any(|l| l.contains("USING INDEX idx_t")),
            "{search:?}"
        );
    }
}
