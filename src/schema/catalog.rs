//! The catalog: every collection definition, loaded from `_collections`
//! into one immutable snapshot. Readers take the current `Arc` (no lock
//! held while they work); a collection change builds a new snapshot from
//! the database inside its write transaction and installs it after commit.

use std::sync::Arc;

use rusqlite::{Connection, params};
use serde_json::{Map, Value};

use super::{
    collection::{Collection, CollectionKind, Rules},
    field::Field,
};
use crate::store::StoreError;

#[derive(Debug, Default)]
pub struct Catalog {
    collections: Vec<Arc<Collection>>,
    /// Orders snapshots: a newer catalog never gets replaced by an older one.
    pub(super) sequence: u64,
}

impl Catalog {
    /// A catalog of just these collections, for tests and the fuzz
    /// targets (a server's own catalog is always `load`ed).
    pub fn from_collections(collections: Vec<Collection>) -> Self {
        Self {
            collections: collections.into_iter().map(Arc::new).collect(),
            sequence: 0,
        }
    }

    /// This catalog and, for each of `ids`, an empty collection of that
    /// id, nameless: what an import checks a collection against while
    /// collections it lists later (which a relation may name by id) are
    /// not saved yet. Only relations look collections up by id there.
    pub(super) fn with_placeholders<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Self {
        let mut collections = self.collections.clone();
        for id in ids {
            let mut placeholder = Collection::unstored("", Vec::new());
            placeholder.id = id.to_owned();
            placeholder.system = false;
            collections.push(Arc::new(placeholder));
        }
        Self {
            collections,
            sequence: self.sequence,
        }
    }

    /// This catalog less the collections `gone` picks.
    pub(super) fn without(self, gone: impl Fn(&Collection) -> bool) -> Self {
        Self {
            collections: self.collections.into_iter().filter(|c| !gone(c)).collect(),
            sequence: self.sequence,
        }
    }

    /// Increases with every installed change; caches key on it.
    pub fn version(&self) -> u64 {
        self.sequence
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<Collection>> {
        self.collections.iter()
    }

    pub fn by_id(&self, id: &str) -> Option<&Arc<Collection>> {
        self.collections.iter().find(|c| c.id == id)
    }

    /// By id, or by name (case-insensitively), as PocketBase resolves the
    /// `{collection}` part of a URL.
    pub fn get(&self, id_or_name: &str) -> Option<&Arc<Collection>> {
        self.by_id(id_or_name).or_else(|| {
            self.collections
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(id_or_name))
        })
    }

    /// Reads every definition. A row that cannot be read is a corrupt
    /// database, reported as such rather than skipped.
    pub fn load(conn: &Connection, sequence: u64) -> Result<Self, StoreError> {
        let mut stmt = conn.prepare_cached(
            "SELECT id, system, type, name, fields, indexes, listRule, viewRule, createRule, updateRule,
                    deleteRule, options, created, updated
             FROM _collections ORDER BY created, rowid",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                Rules {
                    list: r.get(6)?,
                    view: r.get(7)?,
                    create: r.get(8)?,
                    update: r.get(9)?,
                    delete: r.get(10)?,
                },
                r.get::<_, String>(11)?,
                r.get::<_, String>(12)?,
                r.get::<_, String>(13)?,
            ))
        })?;
        let mut collections = Vec::new();
        for row in rows {
            let (id, system, kind, name, fields, indexes, rules, options, created, updated) = row?;
            let corrupt = |what: &str| StoreError::Corrupt(format!("collection {name:?}: unreadable {what}"));
            let kind = CollectionKind::parse(&kind).ok_or_else(|| corrupt("type"))?;
            let fields: Vec<Value> = serde_json::from_str(&fields).map_err(|_| corrupt("fields"))?;
            let fields = fields
                .iter()
                .map(Field::from_json)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| corrupt("field"))?;
            let indexes: Vec<String> = serde_json::from_str(&indexes).map_err(|_| corrupt("indexes"))?;
            let mut options: Map<String, Value> =
                serde_json::from_str(&options).map_err(|_| corrupt("options"))?;
            let view_query = options
                .remove("viewQuery")
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let mut c = Collection {
                id,
                name,
                kind,
                system,
                fields,
                indexes,
                rules,
                view_query,
                options,
                auth: None,
                created,
                updated,
            };
            // Options that cannot be used (a missing token secret) stop the
            // load rather than serve a collection that would sign with no
            // secret.
            c.read_options().map_err(|e| StoreError::Corrupt(e.to_string()))?;
            collections.push(Arc::new(c));
        }
        Ok(Self {
            collections,
            sequence,
        })
    }
}

/// Writes `c` to `_collections` (insert or replace by id).
pub fn save_row(conn: &Connection, c: &Collection) -> rusqlite::Result<()> {
    let fields = Value::Array(c.fields.iter().map(Field::to_json).collect()).to_string();
    let indexes = serde_json::to_string(&c.indexes).unwrap_or_else(|_| "[]".into());
    let mut options = c.options.clone();
    if c.kind == CollectionKind::View {
        options.insert("viewQuery".into(), Value::String(c.view_query.clone()));
    }
    conn.prepare_cached(
        "INSERT INTO _collections (id, system, type, name, fields, indexes, listRule, viewRule, createRule,
                                   updateRule, deleteRule, options, created, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT (id) DO UPDATE SET system = excluded.system, type = excluded.type, name = excluded.name,
             fields = excluded.fields, indexes = excluded.indexes, listRule = excluded.listRule,
             viewRule = excluded.viewRule, createRule = excluded.createRule, updateRule = excluded.updateRule,
             deleteRule = excluded.deleteRule, options = excluded.options, updated = excluded.updated",
    )?
    .execute(params![
        c.id,
        c.system,
        c.kind.as_str(),
        c.name,
        fields,
        indexes,
        c.rules.list,
        c.rules.view,
        c.rules.create,
        c.rules.update,
        c.rules.delete,
        Value::Object(options).to_string(),
        c.created,
        c.updated,
    ])?;
    Ok(())
}

pub fn delete_row(conn: &Connection, id: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM _collections WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::defaults;

    fn stored(collections: &[&Collection]) -> Connection {
        let conn = Connection::open_in_memory().expect("db");
        conn.execute_batch(include_str!("../../migrations/data/0002_collections.sql"))
            .expect("table");
        for c in collections {
            save_row(&conn, c).expect("saved");
        }
        conn
    }

    #[test]
    fn auth_collections_load_with_their_options_typed() {
        let users = defaults::users();
        let conn = stored(&[&users]);
        let catalog = Catalog::load(&conn, 0).expect("loads");
        let loaded = catalog.get("users").expect("users");
        assert_eq!(loaded.auth(), users.auth());
        assert_eq!(loaded.options(), users.options());
    }

    #[test]
    fn a_stored_collection_without_a_token_secret_does_not_load() {
        let conn = stored(&[&defaults::users()]);
        let mut options = defaults::users().options().clone();
        options["passwordResetToken"] = json!({"duration": 1800});
        conn.execute(
            "UPDATE _collections SET options = ?1 WHERE name = 'users'",
            [Value::Object(options).to_string()],
        )
        .expect("updated");
        let err = Catalog::load(&conn, 0).expect_err("must not load");
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains("\"users\"") && message.contains("passwordResetToken.secret"),
            "{message}"
        );
    }
}
