//! Collections and their fields: the model (PocketBase's JSON shape), the
//! validation of a change, the DDL that applies it, and the catalog of
//! current definitions.
//!
//! Every change runs in one write transaction: validate against the
//! catalog as stored, write the definition, alter the table, check that
//! every view that ran still runs; any failure rolls all of it back. The
//! in-memory catalog is replaced only after the commit, so no request
//! ever sees a definition that was not stored.

pub mod auth_options;
mod bulk;
pub mod catalog;
pub mod collection;
pub mod defaults;
mod dry_run;
pub mod field;
mod field_checks;
pub mod index;
pub mod json_schema;
pub mod sync;
mod system;
pub mod thumb;
pub mod validate;
pub mod view;

use std::sync::{
    Arc, RwLock,
    atomic::{AtomicU64, Ordering},
};

use rusqlite::Connection;
use serde_json::{Map, Value};

use bulk::LeftOut;
pub use catalog::Catalog;
pub use collection::{Collection, CollectionKind};
use sync::SyncError;
pub use validate::RuleCheck;

use crate::{
    store::{Database, StoreError},
    validation::{ErrorTree, FieldError},
};

/// What a change to an auth collection does to the rows other tables keep
/// for its accounts (sessions, one-time codes, …), in the same
/// transaction. Auth owns those tables; the schema receives these at load,
/// as it receives `RuleCheck`, since auth reads the schema.
#[derive(Clone, Copy)]
pub struct AccountHooks {
    /// The collection is deleted or emptied: the rows, which name each
    /// account by plain columns a `DROP` or `DELETE` of the collection's
    /// table cannot reach, go too.
    pub gone: fn(&Connection, &Collection) -> rusqlite::Result<()>,
    /// The collection's `authToken` secret changed, which ends every
    /// token it signed (PocketBase's way to sign everyone out): the
    /// accounts' refresh sessions end too, or they would sign new ones.
    pub signed_out: fn(&Connection, &Collection) -> rusqlite::Result<()>,
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("the submitted collection could not be read")]
    Unreadable,
    #[error("the submitted collection's name or type could not be read")]
    UnreadableKind,
    #[error("{message}")]
    Invalid {
        message: &'static str,
        errors: ErrorTree,
    },
    #[error("collection not found")]
    NotFound,
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for SchemaError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Store(err.into())
    }
}

const CREATE_FAILED: &str = "Failed to create collection.";
const UPDATE_FAILED: &str = "Failed to update collection.";

fn invalid(message: &'static str, errors: ErrorTree) -> SchemaError {
    SchemaError::Invalid { message, errors }
}

fn from_sync(message: &'static str, err: SyncError) -> SchemaError {
    match err {
        SyncError::Index { position, message: m } => {
            let mut errors = ErrorTree::new();
            errors.add(
                &["indexes", &position.to_string()],
                FieldError::new("validation_invalid_index_expression", m),
            );
            invalid(message, errors)
        }
        SyncError::View(problem) => SchemaError::Refused(format!("{message} {problem}.")),
        SyncError::Sqlite(e) => SchemaError::Store(e.into()),
    }
}

/// Refuses a change that left a view unable to run which ran before it
/// (deleting or renaming what a view reads, a view query that drops what
/// a view over it reads). A view already broken is not the change's fault.
fn keep_views_working(tx: &Connection, before: &[(String, String)]) -> Result<(), SchemaError> {
    let after = view::broken(tx)?;
    match after
        .iter()
        .find(|(name, _)| !before.iter().any(|(b, _)| b == name))
    {
        Some((name, problem)) => Err(SchemaError::Refused(format!(
            "The view collection \"{name}\" would stop working ({problem}); change or delete it first."
        ))),
        None => Ok(()),
    }
}

/// Closes the rules a data folder holds too open (`system::restore_rules`),
/// saying which collections it changed.
fn repair_rules(tx: &Connection) -> Result<(), StoreError> {
    let repaired = system::restore_rules(tx)?;
    if !repaired.is_empty() {
        tracing::warn!(
            collections = ?repaired,
            "API rules that opened system collections or the management of accounts to everyone are closed"
        );
    }
    Ok(())
}

/// The live catalog and the operations that change it.
pub struct Schema {
    current: RwLock<Arc<Catalog>>,
    sequence: Arc<AtomicU64>,
    /// Checks each rule of a collection being saved.
    rule_check: RuleCheck,
    accounts: AccountHooks,
}

impl Schema {
    /// Loads the catalog, writing the default collections on first start.
    /// `rule_check` judges the rules of the collections saved from now on;
    /// `accounts` keep the rows auth holds for accounts in step with
    /// changes to their collection.
    pub async fn load(
        db: &Database,
        rule_check: RuleCheck,
        accounts: AccountHooks,
    ) -> Result<Self, StoreError> {
        let catalog = db
            .write(|tx| {
                let missing = |id: &str| {
                    tx.query_row("SELECT count(*) = 0 FROM _collections WHERE id = ?1", [id], |r| {
                        r.get::<_, bool>(0)
                    })
                };
                let mut seeds = Vec::new();
                if missing(defaults::SUPERUSERS_ID)? {
                    seeds.extend([defaults::superusers(), defaults::users()]);
                }
                // System collections added after a data folder was made
                // appear on its next start.
                if missing(defaults::EXTERNAL_AUTHS_ID)? {
                    seeds.push(defaults::external_auths());
                }
                for c in seeds {
                    catalog::save_row(tx, &c)?;
                    let exists: bool = tx.query_row(
                        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                        [&c.name],
                        |r| r.get(0),
                    )?;
                    let synced = if exists {
                        sync::apply_indexes(tx, &c)
                    } else {
                        sync::create(tx, &c)
                    };
                    synced.map_err(|e| StoreError::Corrupt(format!("creating {}: {e}", c.name)))?;
                }
                repair_rules(tx)?;
                Catalog::load(tx, 0)
            })
            .await?;
        Ok(Self {
            current: RwLock::new(Arc::new(catalog)),
            sequence: Arc::new(AtomicU64::new(0)),
            rule_check,
            accounts,
        })
    }

    /// Reads the definitions again (the database was replaced by a
    /// restore), as a newer catalog than any before, so caches keyed on
    /// the catalog's version never serve the old one's.
    pub async fn reload(&self, db: &Database) -> Result<(), StoreError> {
        let next = self.sequence.fetch_add(1, Ordering::SeqCst) + 1;
        let catalog = db
            .write(move |tx| {
                repair_rules(tx)?;
                Catalog::load(tx, next)
            })
            .await?;
        self.install(catalog);
        Ok(())
    }

    /// The current definitions; cheap, and consistent for as long as the
    /// caller holds it.
    pub fn catalog(&self) -> Arc<Catalog> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn install(&self, catalog: Catalog) {
        let mut guard = match self.current.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if catalog.sequence > guard.sequence {
            *guard = Arc::new(catalog);
        }
    }

    /// Runs a catalog change in one transaction and installs the catalog it
    /// leaves behind once committed.
    async fn change<T: Send + 'static>(
        &self,
        db: &Database,
        f: impl FnOnce(&Connection, &Catalog) -> Result<T, SchemaError> + Send + 'static,
    ) -> Result<T, SchemaError> {
        let sequence = self.sequence.clone();
        let (out, catalog) = db
            .write(move |tx| {
                let stored = Catalog::load(tx, 0)?;
                let broken_before = view::broken(tx)?;
                let out = f(tx, &stored)?;
                keep_views_working(tx, &broken_before)?;
                let next = sequence.fetch_add(1, Ordering::SeqCst) + 1;
                Ok::<_, SchemaError>((out, Catalog::load(tx, next)?))
            })
            .await?;
        self.install(catalog);
        Ok(out)
    }

    pub async fn create(
        &self,
        db: &Database,
        body: Map<String, Value>,
    ) -> Result<Arc<Collection>, SchemaError> {
        let check = self.rule_check;
        let created = self
            .change(db, move |tx, stored| {
                let created = create_in(tx, stored, &body, check)?;
                Ok(created.id.clone())
            })
            .await?;
        self.catalog()
            .by_id(&created)
            .cloned()
            .ok_or(SchemaError::NotFound)
    }

    pub async fn update(
        &self,
        db: &Database,
        id_or_name: String,
        body: Map<String, Value>,
    ) -> Result<Arc<Collection>, SchemaError> {
        let (check, accounts) = (self.rule_check, self.accounts);
        let id = self
            .change(db, move |tx, stored| {
                let old = stored.get(&id_or_name).ok_or(SchemaError::NotFound)?;
                Ok(update_in(tx, stored, old, &body, check, accounts, LeftOut::Deleted)?.id)
            })
            .await?;
        self.catalog().by_id(&id).cloned().ok_or(SchemaError::NotFound)
    }

    pub async fn delete(&self, db: &Database, id_or_name: String) -> Result<(), SchemaError> {
        let accounts = self.accounts;
        self.change(db, move |tx, stored| {
            let c = stored.get(&id_or_name).ok_or(SchemaError::NotFound)?;
            delete_in(tx, stored, c, accounts)
        })
        .await
    }

    /// Why `c` cannot be emptied, if it cannot.
    pub fn check_truncate(c: &Collection) -> Result<(), SchemaError> {
        if c.id == defaults::SUPERUSERS_ID {
            // Emptied, it would lock every superuser out (PocketBase
            // refuses too: its last superuser cannot be deleted).
            return Err(SchemaError::Refused(
                "Failed to truncate collection: the superusers cannot all be deleted.".into(),
            ));
        }
        if c.kind == CollectionKind::View {
            return Err(SchemaError::Refused(
                "View collections cannot be truncated since they don't store their own records.".into(),
            ));
        }
        Ok(())
    }
}

/// `_collections`' columns described as a collection, so the filter
/// language can query collection attributes.
pub fn collection_attributes() -> Collection {
    use field::{Field, FieldKind};
    let mut fields: Vec<Field> = ["id", "name", "type", "created", "updated"]
        .into_iter()
        .map(Field::plain_text)
        .collect();
    fields.extend(collection::RULE_KEYS.into_iter().map(Field::plain_text));
    fields.push(Field::new("system", FieldKind::Bool { required: false }));
    Collection::unstored("_collections", fields)
}

/// For a view, derives the fields from its query; `Err` names the problem.
fn prepare_view(
    tx: &Connection,
    stored: &Catalog,
    c: &mut Collection,
    message: &'static str,
) -> Result<(), SchemaError> {
    if c.kind != CollectionKind::View {
        return Ok(());
    }
    c.view_query = view::normalize(&c.view_query);
    if c.view_query.is_empty() {
        return Ok(()); // reported by validation as required
    }
    match view::infer_fields(tx, stored, &c.view_query) {
        Ok(fields) => {
            c.fields = fields;
            Ok(())
        }
        Err(problem) => {
            let mut errors = ErrorTree::new();
            errors.add(
                &["viewQuery"],
                FieldError::new("validation_invalid_view_query", problem),
            );
            Err(invalid(message, errors))
        }
    }
}

/// Reads a validated collection's options again, so the collection a
/// change hands on (to `sync`, to the caller) is typed as the catalog's
/// will be. Validation has refused what cannot be read.
fn read_options(c: &mut Collection) -> Result<(), SchemaError> {
    c.read_options()
        .map_err(|e| SchemaError::Store(StoreError::Corrupt(e.to_string())))
}

fn create_in(
    tx: &Connection,
    stored: &Catalog,
    body: &Map<String, Value>,
    rule_check: RuleCheck,
) -> Result<Collection, SchemaError> {
    let (mut c, bad_kind) = Collection::from_create(body)?;
    defaults::complete(&mut c);
    prepare_view(tx, stored, &mut c, CREATE_FAILED)?;
    let mut errors = validate::validate(
        tx,
        stored,
        None,
        &c,
        bad_kind.as_deref(),
        rule_check,
        ErrorTree::new(),
    )?;
    field_checks::negative_counts(body.get("fields"), &c, &mut errors);
    if !errors.is_empty() {
        return Err(invalid(CREATE_FAILED, errors));
    }
    read_options(&mut c)?;
    catalog::save_row(tx, &c)?;
    sync::create(tx, &c).map_err(|e| from_sync(CREATE_FAILED, e))?;
    Ok(c)
}

fn update_in(
    tx: &Connection,
    stored: &Catalog,
    old: &Collection,
    body: &Map<String, Value>,
    rule_check: RuleCheck,
    accounts: AccountHooks,
    left_out: LeftOut,
) -> Result<Collection, SchemaError> {
    let mut c = old.clone();
    // An empty `type` keeps the collection's, as PocketBase reads it.
    if let Some(kind) = body.get("type").and_then(Value::as_str).filter(|k| !k.is_empty()) {
        match CollectionKind::parse(kind) {
            Some(k) => c.kind = k,
            None => {
                let mut errors = ErrorTree::new();
                errors.add(&["type"], FieldError::not_allowed_value());
                return Err(invalid(UPDATE_FAILED, errors));
            }
        }
    }
    c.apply_patch(body)?;
    if body.contains_key("fields") {
        bulk::keep_left_out(old, &mut c, left_out);
    }
    let mut found = ErrorTree::new();
    system::check_fields(old, &c, &mut found);
    defaults::complete(&mut c);
    prepare_view(tx, stored, &mut c, UPDATE_FAILED)?;
    c.updated = crate::datetime::now();
    let mut errors = validate::validate(tx, stored, Some(old), &c, None, rule_check, found)?;
    field_checks::negative_counts(body.get("fields"), &c, &mut errors);
    if !errors.is_empty() {
        return Err(invalid(UPDATE_FAILED, errors));
    }
    read_options(&mut c)?;
    catalog::save_row(tx, &c)?;
    sync::update(tx, old, &c).map_err(|e| from_sync(UPDATE_FAILED, e))?;
    if old.name != c.name && c.kind != CollectionKind::View {
        follow_renamed_table(tx, stored, &c)?;
    }
    if c.kind == CollectionKind::Auth && auth_options::auth_secret_changed(&old.options, &c.options) {
        (accounts.signed_out)(tx, &c)?;
    }
    Ok(c)
}

/// SQLite rewrote the views that read a renamed table; their stored
/// queries take the rewritten text, so the next edit of such a view, or
/// an import of the collections, starts from the query that runs.
fn follow_renamed_table(tx: &Connection, stored: &Catalog, renamed: &Collection) -> Result<(), SchemaError> {
    let views = stored
        .all()
        .filter(|v| v.kind == CollectionKind::View && v.id != renamed.id);
    for v in views {
        if let Some(query) = view::current_query(tx, &v.name)?
            && query != v.view_query
        {
            let mut v = (**v).clone();
            v.view_query = query;
            catalog::save_row(tx, &v)?;
        }
    }
    Ok(())
}

fn delete_in(
    tx: &Connection,
    stored: &Catalog,
    c: &Collection,
    accounts: AccountHooks,
) -> Result<(), SchemaError> {
    if c.system {
        return Err(SchemaError::Refused(
            "System collections cannot be deleted.".into(),
        ));
    }
    let referrers: Vec<&str> = stored
        .all()
        .filter(|other| other.id != c.id)
        .filter(|other| {
            other.fields.iter().any(
                |f| matches!(&f.kind, field::FieldKind::Relation { collection_id, .. } if *collection_id == c.id),
            )
        })
        .map(|other| other.name.as_str())
        .collect();
    if !referrers.is_empty() {
        return Err(SchemaError::Refused(format!(
            "Failed to delete collection probably due to existing reference in {}.",
            referrers.join(", ")
        )));
    }
    if c.kind == CollectionKind::Auth {
        (accounts.gone)(tx, c)?;
    }
    catalog::delete_row(tx, &c.id)?;
    sync::drop(tx, c)?;
    Ok(())
}
