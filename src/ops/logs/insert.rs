//! How rows enter `_log_entries`: each keyed within its own millisecond
//! (`key`), whether the writer's batches or an import's copy of
//! PocketBase's log, so one rule keys every row.

use rusqlite::params;

use super::{key, writer::BATCH};
use crate::datetime;

/// One log row (`_log_entries`); its key (`seq`) is given as it is
/// inserted.
pub(super) struct Row {
    pub at: chrono::DateTime<chrono::Utc>,
    pub level: i32,
    pub message: String,
    pub data: String,
}

/// Inserts `rows` into `_log_entries`, each keyed within its own
/// millisecond (`key::first`), after the rows already there: a new
/// millisecond takes its first key, the newest one the key after the last,
/// an earlier one the key after that millisecond's last, looked up (a row
/// that came late: a slow request's, or one after the clock stepped back).
/// So keys never collide and `id` and `created` order alike, and rows in
/// time order are appends to the table's one B-tree. Only when a
/// millisecond holds all its 2^18 keys does a row spill past the last key.
pub(super) fn insert_keyed(conn: &rusqlite::Connection, rows: &[Row]) -> rusqlite::Result<()> {
    const SPAN: i64 = (1 << key::SHIFT) - 1;
    let mut last: i64 = conn
        .prepare_cached("SELECT coalesce(max(seq), -1) FROM _log_entries")?
        .query_row([], |r| r.get(0))?;
    let mut insert =
        conn.prepare_cached("INSERT INTO _log_entries (seq, level, message, data) VALUES (?1, ?2, ?3, ?4)")?;
    for r in rows {
        let first = key::first(r.at);
        let seq = if first > last {
            first
        } else if first == last & !SPAN {
            last + 1
        } else {
            let taken: Option<i64> = conn
                .prepare_cached("SELECT max(seq) FROM _log_entries WHERE seq BETWEEN ?1 AND ?2")?
                .query_row([first, first | SPAN], |r| r.get(0))?;
            match taken {
                None => first,
                Some(k) if k < first | SPAN => k + 1,
                Some(_) => last + 1,
            }
        };
        insert.execute(params![seq, r.level, r.message, r.data])?;
        last = last.max(seq);
    }
    Ok(())
}

/// Copies the rows of `{schema}._logs`, a table of PocketBase's shape
/// (`id`, `level`, `message`, `data`, `created` as text) attached to
/// `conn`, into `conn`'s own log in one transaction: in their order (by
/// `created`, then as written there), keyed as the writer keys its rows, so
/// they get new ids. A row whose `created` is not a time takes the time of
/// the row before it. Returns how many were copied.
pub fn copy_pocketbase_rows(conn: &rusqlite::Connection, schema: &str) -> rusqlite::Result<usize> {
    let tx = conn.unchecked_transaction()?;
    let mut copied = 0;
    {
        let mut stmt = tx.prepare(&format!(
            "SELECT created, level, message, data FROM \"{schema}\"._logs ORDER BY created, rowid"
        ))?;
        let mut source = stmt.query([])?;
        let mut rows = Vec::with_capacity(BATCH);
        let mut at = chrono::DateTime::UNIX_EPOCH;
        while let Some(r) = source.next()? {
            at = datetime::parse(&r.get::<_, String>(0)?).unwrap_or(at);
            rows.push(Row {
                at,
                level: r.get(1)?,
                message: r.get(2)?,
                data: r.get(3)?,
            });
            if rows.len() == BATCH {
                insert_keyed(&tx, &rows)?;
                copied += rows.len();
                rows.clear();
            }
        }
        insert_keyed(&tx, &rows)?;
        copied += rows.len();
    }
    tx.commit()?;
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys stay unique and within each row's own millisecond, in the
    /// order written within it, whatever order the times come in.
    #[test]
    fn rows_are_keyed_in_their_own_millisecond() {
        let conn = rusqlite::Connection::open_in_memory().expect("memory");
        conn.execute_batch(
            "CREATE TABLE _log_entries (seq INTEGER PRIMARY KEY, level INTEGER, message TEXT, data JSON)",
        )
        .expect("table");
        let t = chrono::DateTime::from_timestamp_millis(1_800_000_000_000).expect("a time");
        let ms = chrono::Duration::milliseconds;
        let row = |at, message: &str| Row {
            at,
            level: 0,
            message: message.into(),
            data: "{}".into(),
        };
        // A batch: the newest millisecond thrice, one a moment earlier,
        // a later one, then one from before them all (a clock stepped back).
        let batch = [
            row(t, "a"),
            row(t, "b"),
            row(t - ms(1), "early"),
            row(t, "c"),
            row(t + ms(2), "d"),
            row(t - ms(3_600_000), "hour ago"),
        ];
        insert_keyed(&conn, &batch).expect("first batch");
        // The next batch: the same milliseconds again.
        insert_keyed(
            &conn,
            &[row(t, "e"), row(t - ms(1), "early 2"), row(t + ms(2), "f")],
        )
        .expect("second batch");
        let keys: Vec<(i64, String)> = conn
            .prepare("SELECT seq, message FROM _log_entries ORDER BY seq")
            .and_then(|mut stmt| stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .expect("keys");
        let at = |d: chrono::DateTime<chrono::Utc>, n: i64| key::first(d) + n;
        assert_eq!(
            keys,
            [
                (at(t - ms(3_600_000), 0), "hour ago".to_owned()),
                (at(t - ms(1), 0), "early".into()),
                (at(t - ms(1), 1), "early 2".into()),
                (at(t, 0), "a".into()),
                (at(t, 1), "b".into()),
                (at(t, 2), "c".into()),
                (at(t, 3), "e".into()),
                (at(t + ms(2), 0), "d".into()),
                (at(t + ms(2), 1), "f".into()),
            ]
        );
    }
}
