//! The record operations behind the API: view, create and update (the
//! writes themselves are prepared and applied in `records::write`, shared
//! with batches), the one place that authorizes a record action, and
//! `finish`, which every write path calls after its commit.

use std::{collections::HashSet, sync::Arc};

use rusqlite::{Connection, OptionalExtension, params_from_iter, types::Value as Sql};
use serde_json::{Map, Value, json};

use super::{
    RecordId,
    access::{Access, Conditions, Requester, decide_for},
    deps::RecordsDeps,
    events::{self, ChangeAction, RecordChange},
    shape,
    write::{self, WriteKind, WritePlan},
};
use crate::{
    files::Upload,
    identity::{KeyAction, password},
    query::QueryError,
    schema::{Collection, CollectionKind, field::FieldKind, sync::quote},
    store::StoreError,
    validation::ErrorTree,
};

pub(super) const CREATE_FAILED: &str = "Failed to create record.";
pub(super) const UPDATE_FAILED: &str = "Failed to update record.";

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("missing collection")]
    NoCollection,
    #[error("{0}")]
    Unsupported(&'static str),
    #[error("superusers only")]
    SuperusersOnly,
    /// Outside the scopes of the caller's API key.
    #[error("outside the API key's scopes")]
    OutOfScope,
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Invalid {
        message: &'static str,
        errors: ErrorTree,
    },
    #[error("{0}")]
    Refused(String),
    /// A stored rule that no longer compiles: ours to fix, a 500 unless
    /// the action answers it otherwise (`RecordError::broken_rule_as`).
    #[error("broken rule {0}")]
    BrokenRule(String),
    /// The client's own filter, sort or other query input is wrong (400)
    /// or not theirs to use (403).
    #[error(transparent)]
    BadQuery(#[from] QueryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] password::PasswordError),
    /// Writing or removing an uploaded file failed.
    #[error("file storage: {0}")]
    Storage(#[from] std::io::Error),
    #[error("writing the answer: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The answer to a list whose rule no longer compiles (PocketBase's).
const BROKEN_LIST: &str = "Something went wrong while processing your request.";

impl RecordError {
    /// A stored rule can stop compiling through the API itself (a
    /// collection it names with `@collection` is renamed or deleted).
    /// PocketBase then answers as a rule that matches nothing would,
    /// never a 500: a list or a create is a 400, a view, update or
    /// delete a 404. The rule is logged for the operator to fix.
    pub(crate) fn broken_rule_as(self, action: Option<Action>) -> Self {
        let Self::BrokenRule(rule) = self else {
            return self;
        };
        tracing::warn!(rule, "a collection rule no longer compiles");
        match action {
            None => Self::Refused(BROKEN_LIST.into()),
            Some(Action::Create) => invalid(CREATE_FAILED, ErrorTree::new()),
            Some(_) => Self::NotFound,
        }
    }
}

impl From<rusqlite::Error> for RecordError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Store(err.into())
    }
}

pub(super) fn invalid(message: &'static str, errors: ErrorTree) -> RecordError {
    RecordError::Invalid { message, errors }
}

pub(super) fn writable(c: &Collection) -> Result<(), RecordError> {
    if c.kind == CollectionKind::View {
        return Err(RecordError::Unsupported("Unsupported collection type."));
    }
    Ok(())
}

/// A record action, and the collection rule that governs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    View,
    Create,
    Update,
    Delete,
}

/// The one place that decides whether `requester` may perform `action` on
/// collection `c`: the collection (writable, for a write), and the rule's
/// row conditions (`None` when every row passes).
pub(crate) fn authorize(
    deps: &RecordsDeps<'_>,
    requester: &Requester,
    c: &Collection,
    action: Action,
) -> Result<Option<Conditions>, RecordError> {
    authorize_in(&deps.schema.catalog(), requester, c, action)
}

/// `authorize` against `catalog` (inside a write, the one it runs with).
pub(crate) fn authorize_in(
    catalog: &crate::schema::Catalog,
    requester: &Requester,
    c: &Collection,
    action: Action,
) -> Result<Option<Conditions>, RecordError> {
    let rule = match action {
        Action::View => &c.rules.view,
        Action::Create => &c.rules.create,
        Action::Update => &c.rules.update,
        Action::Delete => &c.rules.delete,
    };
    if action != Action::View {
        writable(c)?;
    }
    let scope = match action {
        Action::View => KeyAction::View,
        Action::Create => KeyAction::Create,
        Action::Update => KeyAction::Update,
        Action::Delete => KeyAction::Delete,
    };
    rule_conditions(
        catalog,
        c,
        requester,
        &decide_for(&requester.caller, c, scope, rule),
    )
    .map_err(|e| e.broken_rule_as(Some(action)))
}

/// A record's values by field name, canonical JSON, hidden ones included.
pub(crate) type Values = Map<String, Value>;

pub(crate) fn read_values(conn: &Connection, c: &Collection, id: &str) -> rusqlite::Result<Option<Values>> {
    conn.prepare_cached(&by_id_sql(c))?
        .query_row([id], |row| {
            let mut out = Values::new();
            for (i, f) in c.fields.iter().enumerate() {
                let raw = match row.get_ref(i)? {
                    rusqlite::types::ValueRef::Text(t) => match f.kind {
                        FieldKind::Json { .. } | FieldKind::GeoPoint { .. } => {
                            serde_json::from_slice(t).unwrap_or(Value::Null)
                        }
                        _ if f.kind.is_multi() => serde_json::from_slice(t).unwrap_or(json!([])),
                        _ => Value::String(String::from_utf8_lossy(t).into_owned()),
                    },
                    rusqlite::types::ValueRef::Integer(n) => match f.kind {
                        FieldKind::Bool { .. } => json!(n != 0),
                        _ => json!(n),
                    },
                    rusqlite::types::ValueRef::Real(r) => json!(r),
                    _ => Value::Null,
                };
                out.insert(f.name.clone(), raw);
            }
            Ok(out)
        })
        .optional()
}

pub(crate) fn read_shaped(
    conn: &Connection,
    c: &Collection,
    id: &str,
) -> rusqlite::Result<Option<Map<String, Value>>> {
    read_row(conn, c, id, |row| shape::row_to_json(c, row))
}

/// Reads record `id` of `c` (the columns of `shape::select_list`) through
/// `f`; `None` when there is no such record.
pub(crate) fn read_row<T>(
    conn: &Connection,
    c: &Collection,
    id: &str,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    conn.prepare_cached(&by_id_sql(c))?.query_row([id], f).optional()
}

/// Record `id` of `c` (none or one row of the columns of
/// `shape::select_list`) as rows to step through with `f`.
pub(crate) fn rows_by_id<T>(
    conn: &Connection,
    c: &Collection,
    id: &str,
    f: impl FnOnce(&mut rusqlite::Rows<'_>) -> Result<T, RecordError>,
) -> Result<T, RecordError> {
    let mut stmt = conn.prepare_cached(&by_id_sql(c))?;
    let mut rows = stmt.query([id])?;
    f(&mut rows)
}

/// The columns of `shape::select_list` of record `?1` of `c`.
fn by_id_sql(c: &Collection) -> String {
    select_one_sql(c, "id")
}

/// The columns of `shape::select_list` of the row of `c` whose `key`
/// column (`id`, or `rowid` for a row just inserted) is `?1`.
pub(super) fn select_one_sql(c: &Collection, key: &str) -> String {
    let mut sql = String::with_capacity(64);
    sql.push_str("SELECT ");
    shape::push_select_list(&mut sql, c);
    sql.push_str(" FROM ");
    crate::schema::sync::push_quoted(&mut sql, &c.name);
    sql.push_str(" WHERE ");
    sql.push_str(key);
    sql.push_str(" = ?1");
    sql
}

/// The rule of an action as conditions after `id = ?1`; `None` when the
/// rule lets every row through.
pub(crate) fn rule_conditions(
    catalog: &crate::schema::Catalog,
    c: &Collection,
    requester: &Requester,
    access: &Access,
) -> Result<Option<Conditions>, RecordError> {
    match access {
        Access::All => Ok(None),
        Access::SuperusersOnly => Err(RecordError::SuperusersOnly),
        Access::OutOfScope => Err(RecordError::OutOfScope),
        Access::Rule(expr) => {
            let mut conditions = Conditions::default();
            conditions.params.push(Sql::Text(String::new()));
            conditions.add_rule(catalog, c, requester, expr)?;
            Ok(Some(conditions))
        }
    }
}

/// Whether record `id` of `c` matches `conditions` (built by `rule_conditions`).
pub(crate) fn matches_rule(
    conn: &Connection,
    c: &Collection,
    id: &str,
    conditions: &Conditions,
) -> rusqlite::Result<bool> {
    let sql = format!(
        "SELECT count(*) > 0 FROM {} WHERE id = ?1{}",
        quote(&c.name),
        conditions.and_sql()
    );
    let mut params = conditions.params.clone();
    params[0] = Sql::Text(id.to_owned());
    conn.prepare_cached(&sql)?
        .query_row(params_from_iter(params), |r| r.get(0))
}

/// Creates a record in `c` (with its uploaded files): prepared, applied
/// in its own transaction, finished.
pub async fn create_with_files(
    deps: &RecordsDeps<'_>,
    requester: &Requester,
    c: Arc<Collection>,
    body: Map<String, Value>,
    uploads: Vec<Upload>,
) -> Result<Map<String, Value>, RecordError> {
    let plan = write::prepare(deps, requester, c, WriteKind::Create, body, uploads).await?;
    run(deps, plan, None).await
}

/// `create`, for a server flow that creates a record on a client's behalf
/// (OAuth2 sign-up): `forced` values are set past the client's limits
/// (such as `verified`), and `then` runs in the same transaction once the
/// record is in, so what it writes stands or falls with the record.
pub async fn create_with(
    deps: &RecordsDeps<'_>,
    requester: &Requester,
    c: Arc<Collection>,
    (body, uploads): (Map<String, Value>, Vec<Upload>),
    forced: Values,
    then: impl FnOnce(&Connection, &str) -> Result<(), RecordError> + Send + 'static,
) -> Result<Map<String, Value>, RecordError> {
    let mut plan = write::prepare(deps, requester, c, WriteKind::Create, body, uploads).await?;
    plan.force(forced);
    run(deps, plan, Some(Box::new(then))).await
}

/// Updates record `id` of `c` with its uploaded files, the same way.
pub async fn update_with_files(
    deps: &RecordsDeps<'_>,
    requester: &Requester,
    c: Arc<Collection>,
    id: &RecordId,
    body: Map<String, Value>,
    uploads: Vec<Upload>,
) -> Result<Map<String, Value>, RecordError> {
    let kind = WriteKind::Update(id.clone());
    let plan = write::prepare(deps, requester, c, kind, body, uploads).await?;
    run(deps, plan, None).await
}

/// What a server flow writes in the transaction of the record it creates.
type Then = Box<dyn FnOnce(&Connection, &str) -> Result<(), RecordError> + Send>;

/// Applies `plan` in its own transaction, then `then` in the same one,
/// and finishes (or discards the staged files).
async fn run(
    deps: &RecordsDeps<'_>,
    mut plan: WritePlan,
    then: Option<Then>,
) -> Result<Map<String, Value>, RecordError> {
    let staged = plan.staged();
    let catalog = deps.schema.catalog();
    let single = then.is_none() && plan.changes_once();
    let job = move |tx: &Connection| {
        let applied = plan.apply(tx, &catalog)?;
        if let Some(then) = then {
            let id = applied
                .change
                .record
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("");
            then(tx, id)?;
        }
        Ok(applied)
    };
    let db = &deps.db;
    let result = if single {
        db.write_statement(job).await
    } else {
        db.write(job).await
    };
    match result {
        Ok(applied) => {
            let record = applied.change.record.clone();
            finish(
                deps,
                vec![applied.change],
                vec![(staged.0, staged.1, applied.removed_files)],
            )
            .await;
            Ok(record)
        }
        Err(err) => {
            discard(deps, vec![staged]).await;
            Err(err)
        }
    }
}

/// Files of one record: collection id, record id, names.
pub type RecordFiles = (String, String, Vec<String>);

/// Removes files staged for writes that did not commit.
pub async fn discard(deps: &RecordsDeps<'_>, staged: Vec<RecordFiles>) {
    for (cid, rid, names) in staged.iter().filter(|s| !s.2.is_empty()) {
        deps.storage.remove(cid, rid, names).await;
    }
}

/// The names a record's file fields hold.
fn file_names(c: &Collection, record: &Map<String, Value>) -> Vec<String> {
    c.fields
        .iter()
        .filter(|f| matches!(f.kind, FieldKind::File { .. }))
        .flat_map(|f| match record.get(&f.name) {
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// Everything that follows a commit, in one place for every write path:
/// files no longer referenced are removed (all of a deleted record's),
/// cached auth records are dropped, and the changes are announced.
pub async fn finish(deps: &RecordsDeps<'_>, changes: Vec<RecordChange>, unreferenced: Vec<RecordFiles>) {
    discard(deps, unreferenced).await;
    fn id_of(ch: &RecordChange) -> &str {
        ch.record.get("id").and_then(Value::as_str).unwrap_or("")
    }
    // A batch may delete a record and create one with the same id; the
    // folder then holds the new record's files and stays. Whether a later
    // change names the same record is read from the end, in one pass (a
    // truncate's thousands of deletes made a scan each too slow); a single
    // change has none after it.
    let mut recreated = vec![false; changes.len()];
    if changes.len() > 1 {
        let mut later: HashSet<(&str, &str)> = HashSet::new();
        for (i, change) in changes.iter().enumerate().rev() {
            let key = (change.collection.id.as_str(), id_of(change));
            recreated[i] = change.action == ChangeAction::Delete && later.contains(&key);
            later.insert(key);
        }
    }
    for (change, recreated) in changes.iter().zip(recreated) {
        let id = id_of(change);
        if change.collection.kind == CollectionKind::Auth {
            deps.listener.auth_record_changed(&change.collection.id, id);
        }
        if change.action != ChangeAction::Delete {
            continue;
        }
        if recreated {
            let held = file_names(&change.collection, &change.record);
            deps.storage.remove(&change.collection.id, id, &held).await;
        } else {
            deps.storage.remove_record(&change.collection.id, id).await;
        }
    }
    events::committed(deps.listener, changes);
}

pub async fn view(
    deps: &RecordsDeps<'_>,
    requester: &Requester,
    c: Arc<Collection>,
    id: &RecordId,
) -> Result<Map<String, Value>, RecordError> {
    view_with(deps, requester, c, id, |conn, c, id| {
        Ok(read_shaped(conn, c, id)?)
    })
    .await
}

/// A view: record `id` of collection `c` if the view rule lets
/// `requester` see it, read by `read` (as a map, or as bytes).
pub(crate) async fn view_with<T: Send + 'static>(
    deps: &RecordsDeps<'_>,
    requester: &Requester,
    c: Arc<Collection>,
    id: &RecordId,
    read: impl FnOnce(&Connection, &Collection, &str) -> Result<Option<T>, RecordError> + Send + 'static,
) -> Result<T, RecordError> {
    let rule = authorize(deps, requester, &c, Action::View)?;
    let id = id.as_str().to_owned();
    deps.db
        .read(move |conn| {
            if let Some(rule) = &rule
                && !matches_rule(conn, &c, &id, rule)?
            {
                return Err(RecordError::NotFound);
            }
            read(conn, &c, &id)?.ok_or(RecordError::NotFound)
        })
        .await
}
