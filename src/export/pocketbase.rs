//! What a PocketBase 0.40 `pb_data` holds besides the collections Cairn
//! also has: its system tables, the three internal collections Cairn keeps
//! as tables of its own shape (`_mfas`, `_otps`, `_authOrigins`), the
//! `_migrations` rows that tell PocketBase its system migrations already
//! ran, and its settings' shape.
//!
//! Everything here was learnt by running `pocketbase serve` 0.40.6 on an
//! empty folder and reading what it wrote (`sqlite_master`, `_collections`,
//! `_params`, `_migrations`); none of it is PocketBase's code. PocketBase
//! runs at start-up every system migration that `_migrations` lacks, and
//! its first one creates these tables, so a folder without the rows fails
//! with "table already exists"; with every row present it runs nothing.
//! Also change `import::source::SYSTEM_MIGRATIONS` (the same list, read)
//! when a newer PocketBase is targeted.

use rusqlite::Connection;
use serde_json::{Map, Value};

use crate::import::source_system_migrations;

/// The tables PocketBase's first migration makes in `data.db` for itself,
/// in its own words (its column order and defaults). Collections' tables
/// are made from their fields (`schema::sync`), as PocketBase makes them.
pub const DATA_DDL: &str = r#"
CREATE TABLE `_migrations` (file VARCHAR(255) PRIMARY KEY NOT NULL, applied INTEGER NOT NULL);
CREATE TABLE `_params` (
    `id`      TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL,
    `value`   JSON DEFAULT NULL,
    `created` TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')) NOT NULL,
    `updated` TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')) NOT NULL
);
CREATE TABLE `_collections` (
    `id`         TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL,
    `system`     BOOLEAN DEFAULT FALSE NOT NULL,
    `type`       TEXT DEFAULT "base" NOT NULL,
    `name`       TEXT UNIQUE NOT NULL,
    `fields`     JSON DEFAULT "[]" NOT NULL,
    `indexes`    JSON DEFAULT "[]" NOT NULL,
    `listRule`   TEXT DEFAULT NULL,
    `viewRule`   TEXT DEFAULT NULL,
    `createRule` TEXT DEFAULT NULL,
    `updateRule` TEXT DEFAULT NULL,
    `deleteRule` TEXT DEFAULT NULL,
    `options`    JSON DEFAULT "{}" NOT NULL,
    `created`    TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')) NOT NULL,
    `updated`    TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')) NOT NULL
);
CREATE INDEX idx__collections_type on `_collections` (`type`);
CREATE TABLE `_mfas` (`collectionRef` TEXT DEFAULT '' NOT NULL, `created` TEXT DEFAULT '' NOT NULL, `id` TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL, `method` TEXT DEFAULT '' NOT NULL, `recordRef` TEXT DEFAULT '' NOT NULL, `updated` TEXT DEFAULT '' NOT NULL);
CREATE INDEX `idx_mfas_collectionRef_recordRef` ON `_mfas` (`collectionRef`, `recordRef`);
CREATE TABLE `_otps` (`collectionRef` TEXT DEFAULT '' NOT NULL, `created` TEXT DEFAULT '' NOT NULL, `id` TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL, `password` TEXT DEFAULT '' NOT NULL, `recordRef` TEXT DEFAULT '' NOT NULL, `sentTo` TEXT DEFAULT '' NOT NULL, `updated` TEXT DEFAULT '' NOT NULL);
CREATE INDEX `idx_otps_collectionRef_recordRef` ON `_otps` (`collectionRef`, `recordRef`);
CREATE TABLE `_authOrigins` (`collectionRef` TEXT DEFAULT '' NOT NULL, `created` TEXT DEFAULT '' NOT NULL, `fingerprint` TEXT DEFAULT '' NOT NULL, `id` TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL, `recordRef` TEXT DEFAULT '' NOT NULL, `updated` TEXT DEFAULT '' NOT NULL);
CREATE UNIQUE INDEX `idx_authOrigins_unique_pairs` ON `_authOrigins` (`collectionRef`, `recordRef`, `fingerprint`);
"#;

/// `auxiliary.db`: the request logs table (its migration is recorded in
/// `data.db`'s `_migrations` with the others).
pub const AUXILIARY_DDL: &str = r#"
CREATE TABLE `_logs` (
    `id`      TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL,
    `level`   INTEGER DEFAULT 0 NOT NULL,
    `message` TEXT DEFAULT "" NOT NULL,
    `data`    JSON DEFAULT "{}" NOT NULL,
    `created` TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')) NOT NULL
);
CREATE INDEX idx_logs_level on `_logs` (`level`);
CREATE INDEX idx_logs_message on `_logs` (`message`);
CREATE INDEX idx_logs_created_hour on `_logs` (strftime('%Y-%m-%d %H:00:00', `created`));
"#;

/// `_mfas`, `_otps` and `_authOrigins` as PocketBase 0.40.6 defines them
/// (their ids and field ids are the same in every PocketBase folder).
const SYSTEM_COLLECTIONS: &str = include_str!("system_collections.json");

/// PocketBase 0.40.6's settings on a new folder (plus the two S3 secrets,
/// which it leaves out while empty): every key it reads.
const DEFAULT_SETTINGS: &str = include_str!("default_settings.json");

/// Writes the system tables, the three internal collections' rows and the
/// `_migrations` rows into a new, empty `data.db`.
pub fn write_system(conn: &Connection, now: &str) -> rusqlite::Result<()> {
    conn.execute_batch(DATA_DDL)?;
    let list: Vec<Value> = serde_json::from_str(SYSTEM_COLLECTIONS).unwrap_or_default();
    for c in list {
        conn.execute(
            "INSERT INTO _collections (id, system, type, name, fields, indexes, options, created, updated)
             VALUES (?1, TRUE, 'base', ?2, ?3, ?4, '{}', ?5, ?5)",
            rusqlite::params![
                c["id"].as_str().unwrap_or_default(),
                c["name"].as_str().unwrap_or_default(),
                c["fields"].to_string(),
                c["indexes"].to_string(),
                now,
            ],
        )?;
    }
    // PocketBase records microseconds since the epoch.
    let applied = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default();
    for (i, file) in source_system_migrations().iter().enumerate() {
        conn.execute(
            "INSERT INTO _migrations (file, applied) VALUES (?1, ?2)",
            rusqlite::params![file, applied + i as i64],
        )?;
    }
    Ok(())
}

/// Cairn's stored settings in PocketBase's shape: every key PocketBase
/// reads, with Cairn's value where it has one; and the paths of Cairn's
/// values (not empty) that PocketBase has no place for.
pub fn settings(cairn: &Value) -> (Value, Vec<String>) {
    let mut out: Value = serde_json::from_str(DEFAULT_SETTINGS).unwrap_or(Value::Null);
    let mut left = Vec::new();
    merge(&mut out, cairn, "", &mut left);
    (out, left)
}

fn merge(into: &mut Value, from: &Value, path: &str, left: &mut Vec<String>) {
    let (Value::Object(into), Value::Object(from)) = (into, from) else {
        return;
    };
    for (key, value) in from {
        let at = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        match into.get_mut(key) {
            Some(slot @ Value::Object(_)) if value.is_object() => merge(slot, value, &at, left),
            Some(slot) => *slot = value.clone(),
            None if !is_empty(value) => left.push(at),
            None => {}
        }
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_empty),
    }
}

/// Takes out of a collection's stored options the keys PocketBase does
/// not have (Cairn's own `sessions`, say); returns the ones that held a
/// value, to be named as not carried.
pub fn strip_options(kind: &str, options: &mut Map<String, Value>) -> Vec<String> {
    let auth = crate::schema::defaults::AUTH_OPTION_KEYS;
    let known = |k: &str| match kind {
        "auth" => k != "sessions" && auth.contains(&k),
        "view" => k == "viewQuery",
        _ => false,
    };
    let mut left = Vec::new();
    options.retain(|k, v| {
        let keep = known(k);
        if !keep && !is_empty(v) {
            left.push(k.clone());
        }
        keep
    });
    left
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn settings_take_cairns_values_and_name_the_rest() {
        let cairn = json!({
            "meta": {"appName": "Mine"},
            "smtp": {"enabled": true, "host": "mail.example.org", "password": "pw"},
            "rateLimits": {"rules": [{"label": "/api/", "audience": "", "duration": 1, "maxRequests": 9}]},
            "cairnOnly": {"on": true},
            "emptyExtra": {"x": ""},
        });
        let (out, left) = settings(&cairn);
        assert_eq!(out["meta"]["appName"], "Mine");
        assert_eq!(out["meta"]["senderName"], "Support", "PocketBase's default kept");
        assert_eq!(out["smtp"]["password"], "pw");
        assert_eq!(out["rateLimits"]["rules"].as_array().map(Vec::len), Some(1));
        assert!(out.get("cairnOnly").is_none());
        assert_eq!(left, ["cairnOnly"]);
    }

    #[test]
    fn the_system_tables_take_the_collections_rows() {
        let conn = Connection::open_in_memory().expect("db");
        write_system(&conn, "2024-01-01 00:00:00.000Z").expect("written");
        let names: Vec<String> = conn
            .prepare("SELECT name FROM _collections ORDER BY rowid")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("names");
        assert_eq!(names, ["_mfas", "_otps", "_authOrigins"]);
        let n: i64 = conn
            .query_row("SELECT count(*) FROM _migrations", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n as usize, source_system_migrations().len());
    }
}
