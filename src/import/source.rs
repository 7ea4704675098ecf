//! The PocketBase side: `pb_data/data.db` opened read-only, checked to be
//! a layout this import knows (PocketBase 0.23 to 0.40), and read inside
//! one read transaction.
//!
//! Read-only and never `immutable`: PocketBase may still be running and
//! writing. In WAL mode a read transaction sees one consistent snapshot
//! however long it lasts, so every read (collections, settings, every
//! record) comes from the same moment; PocketBase keeps writing beside
//! it, its checkpoints simply wait for the snapshot to end. A read-only
//! connection never checkpoints nor deletes the WAL, so the source's
//! files are left as they were (SQLite may touch the `-shm` index, which
//! is shared memory, not data).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, types::Value as SqlValue};
use serde_json::{Map, Value};

use super::ImportError;
use crate::schema::field::TYPES;

/// PocketBase's system collections that Cairn keeps as internal tables
/// of its own shape (`migrations/data/0003_account_flows.sql`): short-lived
/// sign-in state and sign-in origins, not carried (see `not_carried`).
pub const INTERNAL: &[&str] = &["_mfas", "_otps", "_authOrigins"];

/// `_collections`' columns in PocketBase 0.23 to 0.40. A column beyond
/// these means a layout newer than this import knows.
const COLLECTION_COLUMNS: &[&str] = &[
    "id",
    "system",
    "type",
    "name",
    "fields",
    "indexes",
    "listRule",
    "viewRule",
    "createRule",
    "updateRule",
    "deleteRule",
    "options",
    "created",
    "updated",
];

/// The migrations PocketBase 0.23 to 0.40 records for itself. A data
/// folder may lack the later ones (made by an earlier version); an
/// unknown `.go` one is either a newer PocketBase or a Go-extended build.
pub const SYSTEM_MIGRATIONS: &[&str] = &[
    "1640988000_aux_init.go",
    "1640988000_init.go",
    "1717233556_v0.23_migrate.go",
    "1717233557_v0.23_migrate2.go",
    "1717233558_v0.23_migrate3.go",
    "1717233559_v0.23_migrate4.go",
    "1763020353_update_default_auth_alert_templates.go",
    "1778828400_normalize_indexes.go",
];

/// How long to wait for a lock PocketBase holds (a write in progress)
/// before calling the database locked.
const BUSY_TIMEOUT_MS: u64 = 5_000;

/// One collection as stored by PocketBase.
#[derive(Debug, Clone)]
pub struct SourceCollection {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub system: bool,
    /// The definition in the shape the collections API takes (auth
    /// options flat at the top, secrets included).
    pub body: Map<String, Value>,
}

pub struct Source {
    pub dir: PathBuf,
    db_path: PathBuf,
    conn: Connection,
}

impl Source {
    /// Opens `dir/data.db` read-only, starts the read transaction every
    /// later read shares, and checks the file and its layout.
    pub fn open(dir: &Path) -> Result<Self, ImportError> {
        let not_pb = |why: &str| ImportError::NotPocketBase {
            path: dir.to_owned(),
            why: why.to_owned(),
        };
        if !dir.is_dir() {
            return Err(not_pb("it is not a folder"));
        }
        let db_path = dir.join("data.db");
        if !db_path.is_file() {
            return Err(not_pb("it has no data.db"));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&db_path, flags).map_err(|e| classify(&db_path, e))?;
        let source = Self {
            dir: dir.to_owned(),
            db_path,
            conn,
        };
        source.begin()?;
        source.check_layout()?;
        Ok(source)
    }

    fn begin(&self) -> Result<(), ImportError> {
        let run = || -> rusqlite::Result<String> {
            self.conn
                .busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
            self.conn.execute_batch("PRAGMA query_only = ON; BEGIN")?;
            // The first read fixes the snapshot; the check reads it all.
            self.conn
                .query_row("PRAGMA quick_check(1)", [], |r| r.get::<_, String>(0))
        };
        let verdict = run().map_err(|e| self.fail(e))?;
        if verdict != "ok" {
            return Err(ImportError::Corrupt {
                path: self.db_path.clone(),
                detail: verdict,
            });
        }
        Ok(())
    }

    /// The error for a failed read of the source, named by what it means
    /// to the operator.
    pub fn fail(&self, err: rusqlite::Error) -> ImportError {
        classify(&self.db_path, err)
    }

    fn has_table(&self, name: &str) -> Result<bool, ImportError> {
        self.conn
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [name],
                |r| r.get(0),
            )
            .map_err(|e| self.fail(e))
    }

    /// The columns of `table`, in order.
    pub fn columns(&self, table: &str) -> Result<Vec<String>, ImportError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name FROM pragma_table_info(?1)")
            .map_err(|e| self.fail(e))?;
        let names = stmt
            .query_map([table], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.fail(e))?;
        Ok(names)
    }

    fn check_layout(&self) -> Result<(), ImportError> {
        let not_pb = |why: &str| ImportError::NotPocketBase {
            path: self.dir.clone(),
            why: why.to_owned(),
        };
        if !self.has_table("_collections")? {
            return Err(not_pb("its data.db has no _collections table"));
        }
        let columns = self.columns("_collections")?;
        if self.has_table("_admins")? || columns.iter().any(|c| c == "schema") {
            return Err(ImportError::TooOld);
        }
        if let Some(extra) = columns.iter().find(|c| !COLLECTION_COLUMNS.contains(&c.as_str())) {
            return Err(ImportError::UnknownLayout(format!(
                "_collections has a column {extra:?}"
            )));
        }
        if let Some(missing) = COLLECTION_COLUMNS
            .iter()
            .find(|c| !columns.iter().any(|h| h == *c))
        {
            return Err(not_pb(&format!("its _collections table has no {missing} column")));
        }
        for table in ["_params", "_superusers", "_migrations"] {
            if !self.has_table(table)? {
                return Err(not_pb(&format!("its data.db has no {table} table")));
            }
        }
        Ok(())
    }

    /// Every collection, in the order PocketBase made them.
    pub fn collections(&self) -> Result<Vec<SourceCollection>, ImportError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, system, type, name, fields, indexes, listRule, viewRule, createRule,
                        updateRule, deleteRule, options, created, updated
                 FROM _collections ORDER BY created, rowid",
            )
            .map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map([], |r| {
                let text = |i: usize| -> rusqlite::Result<Option<String>> { r.get(i) };
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    [text(4)?, text(5)?, text(11)?],
                    [text(6)?, text(7)?, text(8)?, text(9)?, text(10)?],
                    [text(12)?, text(13)?],
                ))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.fail(e))?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, system, kind, name, [fields, indexes, options], rules, [created, updated]) in rows {
            let corrupt = |what: &str| ImportError::Corrupt {
                path: self.db_path.clone(),
                detail: format!("collection {name:?} has unreadable {what}"),
            };
            let parse = |raw: Option<String>, what: &str, empty: Value| match raw {
                None => Ok(empty),
                Some(s) => serde_json::from_str::<Value>(&s).map_err(|_| corrupt(what)),
            };
            if !["base", "auth", "view"].contains(&kind.as_str()) {
                return Err(ImportError::UnknownLayout(format!(
                    "collection {name:?} has the type {kind:?}"
                )));
            }
            let fields = parse(fields, "fields", Value::Array(vec![]))?;
            let Some(list) = fields.as_array() else {
                return Err(corrupt("fields"));
            };
            for f in list {
                let t = f.get("type").and_then(Value::as_str).unwrap_or_default();
                if !TYPES.contains(&t) {
                    return Err(ImportError::UnknownLayout(format!(
                        "collection {name:?} has a field of type {t:?}"
                    )));
                }
            }
            let indexes = parse(indexes, "indexes", Value::Array(vec![]))?;
            let options = match parse(options, "options", Value::Object(Map::new()))? {
                Value::Object(o) => o,
                _ => return Err(corrupt("options")),
            };
            let mut body = Map::new();
            body.insert("id".into(), Value::String(id.clone()));
            body.insert("name".into(), Value::String(name.clone()));
            body.insert("type".into(), Value::String(kind.clone()));
            body.insert("system".into(), Value::Bool(system));
            body.insert("fields".into(), fields);
            body.insert("indexes".into(), indexes);
            let keys = crate::schema::collection::RULE_KEYS;
            for (key, rule) in keys.into_iter().zip(rules) {
                body.insert(key.into(), rule.map_or(Value::Null, Value::String));
            }
            for (key, at) in [("created", created), ("updated", updated)] {
                body.insert(key.into(), Value::String(at.unwrap_or_default()));
            }
            // PocketBase nests auth options and the view query under
            // `options`; its API (and Cairn's) has them at the top.
            body.extend(options);
            out.push(SourceCollection {
                id,
                name,
                kind,
                system,
                body,
            });
        }
        Ok(out)
    }

    /// The stored settings value: JSON, or PocketBase's encrypted text.
    pub fn settings(&self) -> Result<Option<Vec<u8>>, ImportError> {
        let value: Option<SqlValue> = self
            .conn
            .query_row("SELECT value FROM _params WHERE id = 'settings'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.fail(e))?;
        Ok(match value {
            Some(SqlValue::Text(s)) => Some(s.into_bytes()),
            Some(SqlValue::Blob(b)) => Some(b),
            _ => None,
        })
    }

    pub fn count(&self, table: &str) -> Result<u64, ImportError> {
        if !self.has_table(table)? {
            return Ok(0);
        }
        let sql = format!("SELECT count(*) FROM {}", crate::schema::sync::quote(table));
        self.conn
            .query_row(&sql, [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.fail(e))
    }

    pub fn superusers_with_email(&self, email: &str) -> Result<u64, ImportError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM _superusers WHERE email = ?1",
                [email],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.fail(e))
    }

    /// Migrations PocketBase recorded that are not its own 0.23–0.40 ones
    /// and are Go code (`.go`): a Go-extended build, or a newer version.
    pub fn foreign_go_migrations(&self) -> Result<Vec<String>, ImportError> {
        let mut stmt = self
            .conn
            .prepare("SELECT file FROM _migrations ORDER BY file")
            .map_err(|e| self.fail(e))?;
        let files = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.fail(e))?;
        Ok(files
            .into_iter()
            .filter(|f| f.ends_with(".go") && !SYSTEM_MIGRATIONS.contains(&f.as_str()))
            .collect())
    }

    /// Streams `columns` of every row of `table` to `each`, in rowid order.
    pub fn rows(
        &self,
        table: &str,
        columns: &[String],
        mut each: impl FnMut(Vec<SqlValue>) -> Result<(), ImportError>,
    ) -> Result<(), ImportError> {
        let list: Vec<String> = columns.iter().map(|c| crate::schema::sync::quote(c)).collect();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY rowid",
            list.join(", "),
            crate::schema::sync::quote(table)
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.fail(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.fail(e))?;
        while let Some(row) = rows.next().map_err(|e| self.fail(e))? {
            let mut values = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                values.push(row.get::<_, SqlValue>(i).map_err(|e| self.fail(e))?);
            }
            each(values)?;
        }
        Ok(())
    }
}

/// A failed read named by its cause: another process holding a lock, a
/// damaged file, or something else (kept whole).
fn classify(path: &Path, err: rusqlite::Error) -> ImportError {
    match err.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => ImportError::Locked(path.to_owned()),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => ImportError::Corrupt {
            path: path.to_owned(),
            detail: err.to_string(),
        },
        _ => ImportError::Source {
            path: path.to_owned(),
            source: err,
        },
    }
}

/// How many request logs PocketBase kept in `auxiliary.db`, when it can
/// be read (only to say they are not carried).
pub fn log_count(dir: &Path) -> Option<u64> {
    let path = dir.join("auxiliary.db");
    if !path.is_file() {
        return None;
    }
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))
        .ok()?;
    conn.query_row("SELECT count(*) FROM _logs", [], |r| r.get::<_, i64>(0))
        .ok()
        .map(|n| n as u64)
}
