//! System migrations: the `migrations/<database>/*.sql` files embedded in
//! the binary, applied in file-name order, each recorded in `_migrations`
//! with a SHA-256 checksum.
//!
//! An applied migration is history: if its file changed since, or the
//! database records a migration this binary does not have (it was written
//! by a newer Cairn), start-up stops and says which file and what to do,
//! rather than run on a schema we cannot vouch for.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

use super::StoreError;

#[derive(RustEmbed)]
#[folder = "migrations/"]
#[include = "*.sql"]
struct Files;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationSet {
    Data,
    Auxiliary,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    pub file: String,
    /// When it was applied (`None`: pending).
    pub applied: Option<String>,
}

struct Migration {
    file: String,
    sql: String,
    checksum: String,
}

impl MigrationSet {
    fn folder(self) -> &'static str {
        match self {
            Self::Data => "data/",
            Self::Auxiliary => "auxiliary/",
        }
    }

    fn embedded(self) -> Vec<Migration> {
        let mut files: Vec<Migration> = Files::iter()
            .filter_map(|path| {
                let file = path.strip_prefix(self.folder())?.to_owned();
                let content = Files::get(&path)?;
                let sql = String::from_utf8_lossy(&content.data).into_owned();
                Some(Migration {
                    checksum: hex::encode(Sha256::digest(sql.as_bytes())),
                    file,
                    sql,
                })
            })
            .collect();
        files.sort_by(|a, b| a.file.cmp(&b.file));
        files
    }

    fn ensure_table(conn: &Connection) -> rusqlite::Result<()> {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS _migrations (
                file     TEXT PRIMARY KEY NOT NULL,
                checksum TEXT NOT NULL,
                applied  TEXT NOT NULL
            )",
        )
    }

    /// Checks the recorded history against the embedded files and applies
    /// what is pending, all in one transaction.
    pub(super) fn apply(self, conn: &mut Connection) -> Result<Vec<String>, StoreError> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        Self::ensure_table(&tx)?;
        let embedded = self.embedded();
        self.verify_history(&tx, &embedded)?;
        let mut applied = Vec::new();
        for m in &embedded {
            let done: Option<String> = tx
                .query_row(
                    "SELECT checksum FROM _migrations WHERE file = ?1",
                    [&m.file],
                    |r| r.get(0),
                )
                .optional()?;
            if done.is_some() {
                continue;
            }
            tx.execute_batch(&m.sql).map_err(|err| {
                StoreError::Migration(format!("migration {}{} failed: {err}", self.folder(), m.file))
            })?;
            tx.execute(
                "INSERT INTO _migrations (file, checksum, applied) VALUES (?1, ?2, ?3)",
                params![m.file, m.checksum, crate::datetime::now()],
            )?;
            applied.push(m.file.clone());
        }
        tx.commit()?;
        Ok(applied)
    }

    /// Whether a database (a backup's, say) can be opened by this build:
    /// it has the migrations table, and every migration it records is one
    /// of ours, unchanged. Pending ones are fine: they apply on opening.
    pub(super) fn check(self, conn: &Connection) -> Result<(), StoreError> {
        let has_table: bool = conn.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'",
            [],
            |r| r.get(0),
        )?;
        if !has_table {
            return Err(StoreError::Migration(format!(
                "it has no migrations table: it is not a Cairn {}database",
                self.folder()
            )));
        }
        self.verify_history(conn, &self.embedded())
    }

    /// Checks the recorded history against the embedded files, changing
    /// nothing (start-up's look at a folder before it opens it to write).
    pub(super) fn verify(self, conn: &Connection) -> Result<(), StoreError> {
        self.verify_history(conn, &self.embedded())
    }

    fn verify_history(self, conn: &Connection, embedded: &[Migration]) -> Result<(), StoreError> {
        let mut stmt = conn.prepare("SELECT file, checksum FROM _migrations ORDER BY file")?;
        let recorded = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        for (file, checksum) in recorded {
            let path = format!("migrations/{}{file}", self.folder());
            match embedded.iter().find(|m| m.file == file) {
                None => {
                    return Err(StoreError::Migration(format!(
                        "the database records migration {path}, which this build of Cairn does not have; \
                         it was probably written by a newer version. Run that version, or restore a backup \
                         made with this one."
                    )));
                }
                Some(m) if m.checksum != checksum => {
                    return Err(StoreError::Migration(format!(
                        "migration {path} was changed after it was applied to this database \
                         (recorded checksum {checksum}, file has {}). Applied migrations must never be edited: \
                         restore the original file and put the change in a new migration.",
                        m.checksum
                    )));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The embedded migrations, each with when it was applied, if it was.
    pub fn status(self, conn: &Connection) -> Result<Vec<MigrationStatus>, StoreError> {
        let has_table: bool = conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'",
                [],
                |_| Ok(true),
            )
            .optional()?
            .unwrap_or(false);
        self.embedded()
            .into_iter()
            .map(|m| {
                let applied = if has_table {
                    conn.query_row(
                        "SELECT applied FROM _migrations WHERE file = ?1",
                        [&m.file],
                        |r| r.get(0),
                    )
                    .optional()?
                } else {
                    None
                };
                Ok(MigrationStatus {
                    file: m.file,
                    applied,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_once_and_refuses_an_edited_migration() {
        let mut conn = Connection::open_in_memory().expect("db");
        let first = MigrationSet::Data.apply(&mut conn).expect("apply");
        assert!(!first.is_empty(), "a fresh database applies every migration");
        assert!(MigrationSet::Data.apply(&mut conn).expect("again").is_empty());

        conn.execute(
            "UPDATE _migrations SET checksum = 'tampered' WHERE file = ?1",
            [&first[0]],
        )
        .expect("tamper");
        let err = MigrationSet::Data.apply(&mut conn).expect_err("must refuse");
        let msg = err.to_string();
        assert!(
            msg.contains(&first[0]) && msg.contains("changed after it was applied"),
            "{msg}"
        );
    }

    #[test]
    fn refuses_an_unknown_applied_migration() {
        let mut conn = Connection::open_in_memory().expect("db");
        MigrationSet::Auxiliary.apply(&mut conn).expect("apply");
        conn.execute(
            "INSERT INTO _migrations (file, checksum, applied) VALUES ('9999_future.sql', 'x', 'now')",
            [],
        )
        .expect("insert");
        let msg = MigrationSet::Auxiliary
            .apply(&mut conn)
            .expect_err("refuse")
            .to_string();
        assert!(
            msg.contains("9999_future.sql") && msg.contains("newer version"),
            "{msg}"
        );
    }
}
