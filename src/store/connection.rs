//! How every connection is opened: the PRAGMAs Cairn relies on, set on
//! each connection because SQLite keeps most of them per connection.
//!
//! Each connection's page cache is its own, bounded by its `cache_size`
//! below: SQLite is built without `SQLITE_ENABLE_MEMORY_MANAGEMENT`
//! (`.cargo/config.toml` says why; the test below checks it). With it,
//! all connections shared one cache, and pages moved between connections,
//! so between threads, which glibc's per-thread heaps turn into RSS that
//! grows while SQLite's memory does not.

use std::path::Path;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags};

use super::StoreError;

/// Page cache per connection, in KiB (negative means KiB to SQLite).
/// Readers are many (a pool per database) and read most pages through the
/// memory map below, which bypasses the page cache; their cache holds
/// only pages still in the WAL, so a small one costs nothing measurable
/// (tests/bench/ab.py, 1 vs 8 MiB) and keeps the pool's part of memory
/// small: 8 MiB on two cores, not 64 (tests/faults/RESULTS.md, "Soak").
const WRITER_CACHE_KIB: i64 = 32 * 1024;
const READER_CACHE_KIB: i64 = 1024;
/// Pages are read through a memory map of up to this much of the file
/// rather than copied in by `read` calls; SQLite falls back to reads past
/// it (and on systems without mmap).
const MMAP_BYTES: i64 = 256 * 1024 * 1024;

/// SQL functions Cairn's queries use that SQLite's build does not have.
pub fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    // geoDistance(lonA, latA, lonB, latB): great-circle distance in km
    // (haversine on a sphere of the Earth's mean radius).
    conn.create_scalar_function(
        "cairn_geo_distance",
        4,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            // Any value a filter can name reaches here (a text field, a
            // missing JSON key): what is no number makes the distance
            // NULL, as in PocketBase, never an error, which failed the
            // whole list with a 500 that any guest could cause.
            let mut at = [0.0f64; 4];
            for (i, slot) in at.iter_mut().enumerate() {
                match loose_number(ctx.get_raw(i)) {
                    Some(n) => *slot = n.to_radians(),
                    None => return Ok(None),
                }
            }
            let [lon1, lat1, lon2, lat2] = at;
            let h = ((lat2 - lat1) / 2.0).sin().powi(2)
                + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
            Ok(Some(6371.0 * 2.0 * h.sqrt().min(1.0).asin()))
        },
    )
}

/// A number from any SQLite value: a number, or text that reads as one;
/// anything else is none.
fn loose_number(value: rusqlite::types::ValueRef<'_>) -> Option<f64> {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Integer(i) => Some(i as f64),
        ValueRef::Real(f) => Some(f),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|n| n.is_finite()),
        ValueRef::Null | ValueRef::Blob(_) => None,
    }
}

fn common_pragmas(conn: &Connection, cache_kib: i64) -> rusqlite::Result<()> {
    register_functions(conn)?;
    conn.execute_batch(&format!(
        "PRAGMA busy_timeout = 10000;
         PRAGMA foreign_keys = ON;
         PRAGMA synchronous = NORMAL;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -{cache_kib};
         PRAGMA mmap_size = {MMAP_BYTES};"
    ))?;
    // Statements are prepared through `prepare_cached`; room for the
    // per-collection queries of a sizeable app.
    conn.set_prepared_statement_cache_capacity(256);
    Ok(())
}

pub(super) fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // WAL is a property of the file: set once by the writer, seen by all.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Migration(format!(
            "{} could not be switched to WAL mode (it reports {mode:?})",
            path.display()
        )));
    }
    common_pragmas(&conn, WRITER_CACHE_KIB)?;
    // Schema changes rely on SQLite rewriting the views that name a renamed
    // table (`schema::sync::update`): said here rather than assumed of the
    // build's default.
    conn.execute_batch("PRAGMA legacy_alter_table = OFF;")?;
    Ok(conn)
}

pub(super) fn reader_manager(path: &Path) -> SqliteConnectionManager {
    SqliteConnectionManager::file(path)
        .with_flags(OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .with_init(|conn| {
            common_pragmas(conn, READER_CACHE_KIB)?;
            conn.execute_batch("PRAGMA query_only = ON;")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pragma(conn: &Connection, name: &str) -> String {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| {
            r.get::<_, rusqlite::types::Value>(0)
        })
        .map(|v| format!("{v:?}"))
        .expect("pragma")
    }

    /// `.cargo/config.toml` builds SQLite without its shared page cache;
    /// a build that missed it (LIBSQLITE3_FLAGS set otherwise, say) fails here.
    #[test]
    fn sqlite_is_built_with_a_page_cache_per_connection() {
        let conn = Connection::open_in_memory().expect("open");
        let mut stmt = conn.prepare("PRAGMA compile_options").expect("prepare");
        let options: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert!(options.iter().any(|o| o == "THREADSAFE=1"), "{options:?}");
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "SQLite was built with ENABLE_MEMORY_MANAGEMENT (see .cargo/config.toml): {options:?}"
        );
    }

    #[test]
    fn writer_and_readers_carry_the_pragmas() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.db");
        let writer = open_writer(&path).expect("writer");
        assert_eq!(pragma(&writer, "journal_mode"), "Text(\"wal\")");
        assert_eq!(pragma(&writer, "synchronous"), "Integer(1)");
        assert_eq!(pragma(&writer, "foreign_keys"), "Integer(1)");
        assert_eq!(pragma(&writer, "busy_timeout"), "Integer(10000)");
        assert_eq!(pragma(&writer, "temp_store"), "Integer(2)");
        assert_eq!(
            pragma(&writer, "cache_size"),
            format!("Integer(-{WRITER_CACHE_KIB})")
        );

        let pool = r2d2::Pool::builder()
            .max_size(1)
            .build(reader_manager(&path))
            .expect("pool");
        let reader = pool.get().expect("reader");
        assert_eq!(pragma(&reader, "query_only"), "Integer(1)");
        assert_eq!(pragma(&reader, "mmap_size"), format!("Integer({MMAP_BYTES})"));
        assert_eq!(pragma(&reader, "journal_mode"), "Text(\"wal\")");
        assert!(
            reader.execute_batch("CREATE TABLE nope (x)").is_err(),
            "readers must not write"
        );
    }
}
