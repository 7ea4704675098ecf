//! The storage floor for the benchmarks: single-row write transactions
//! and point reads straight through rusqlite, with Cairn's PRAGMAs (WAL,
//! synchronous=NORMAL) and no HTTP, one connection each, for the given
//! number of seconds. Prints `writes_per_sec reads_per_sec`.

use std::time::{Duration, Instant};

use rusqlite::{Connection, params};

fn main() -> rusqlite::Result<()> {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let dir = std::env::temp_dir().join(format!("cairn-floor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let path = dir.join("floor.db");
    let conn = Connection::open(&path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;
         CREATE TABLE IF NOT EXISTS t (id TEXT PRIMARY KEY, title TEXT NOT NULL, n NUMERIC NOT NULL);",
    )?;
    let limit = Duration::from_secs(seconds);
    let start = Instant::now();
    let mut writes = 0u64;
    while start.elapsed() < limit {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        conn.prepare_cached("INSERT INTO t (id, title, n) VALUES (?1, ?2, ?3)")?
            .execute(params![format!("w{writes:014}"), "hello", 42])?;
        conn.execute_batch("COMMIT")?;
        writes += 1;
    }
    let write_rate = writes as f64 / start.elapsed().as_secs_f64();
    let reader = Connection::open(&path)?;
    let start = Instant::now();
    let mut reads = 0u64;
    while start.elapsed() < limit {
        let id = format!("w{:014}", reads % writes.max(1));
        let _: String = reader
            .prepare_cached("SELECT title FROM t WHERE id = ?1")?
            .query_row([id], |r| r.get(0))?;
        reads += 1;
    }
    let read_rate = reads as f64 / start.elapsed().as_secs_f64();
    println!("{write_rate:.0} {read_rate:.0}");
    drop(reader);
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
