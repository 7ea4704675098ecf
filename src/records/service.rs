//! The record operations behind the API: create, view, update, delete and
//! list, each checking the collection's rule for the caller, validating
//! every field, and writing in one transaction.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params_from_iter, types::Value as Sql};
use serde_json::{Map, Value, json};

use super::{
    RecordId,
    access::{Access, Conditions, Requester, decide},
    events::{self, ChangeAction, RecordChange},
    shape,
    values::{self, Modifier},
};
use crate::{
    app::AppState,
    auth::{caller::Caller, password},
    http::error::{ApiError, ErrorTree, FieldError},
    schema::{
        Collection, CollectionKind,
        field::{Field, FieldKind},
        sync::quote,
    },
    store::StoreError,
};

const CREATE_FAILED: &str = "Failed to create record.";
const UPDATE_FAILED: &str = "Failed to update record.";
const TOKEN_KEY_LEN: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("missing collection")]
    NoCollection,
    #[error("{0}")]
    Unsupported(&'static str),
    #[error("superusers only")]
    SuperusersOnly,
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Invalid {
        message: &'static str,
        errors: ErrorTree,
    },
    #[error("{0}")]
    Refused(String),
    /// A stored rule that no longer compiles: ours to fix, a 500.
    #[error("broken rule {0}")]
    BrokenRule(String),
    /// The client's own filter is wrong (400) or not theirs to use (403).
    #[error("{0}")]
    BadFilter(ApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] password::PasswordError),
}

impl From<rusqlite::Error> for RecordError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Store(err.into())
    }
}

impl From<RecordError> for ApiError {
    fn from(err: RecordError) -> Self {
        match err {
            RecordError::NoCollection => {
                ApiError::new(poem::http::StatusCode::NOT_FOUND, "Missing collection context.")
            }
            RecordError::Unsupported(m) => ApiError::bad_request(m),
            RecordError::SuperusersOnly => ApiError::new(
                poem::http::StatusCode::FORBIDDEN,
                "Only superusers can perform this action.",
            ),
            RecordError::NotFound => ApiError::not_found(),
            RecordError::Invalid { message, errors } => ApiError::validation_with(message, errors),
            RecordError::Refused(m) => ApiError::bad_request(m),
            RecordError::BadFilter(e) => e,
            RecordError::Password(e) => e.into(),
            other => ApiError::internal(other),
        }
    }
}

fn invalid(message: &'static str, errors: ErrorTree) -> RecordError {
    RecordError::Invalid { message, errors }
}

/// Finds a writable collection by id or name.
pub(super) fn collection(state: &AppState, name: &str) -> Result<Arc<Collection>, RecordError> {
    state
        .schema
        .catalog()
        .get(name)
        .cloned()
        .ok_or(RecordError::NoCollection)
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
/// collection `name`: the collection (writable, for a write), and the
/// rule's row conditions (`None` when every row passes).
pub(crate) fn authorize(
    state: &AppState,
    requester: &Requester,
    name: &str,
    action: Action,
) -> Result<(Arc<Collection>, Option<Conditions>), RecordError> {
    let c = collection(state, name)?;
    let rule = match action {
        Action::View => &c.rules.view,
        Action::Create => &c.rules.create,
        Action::Update => &c.rules.update,
        Action::Delete => &c.rules.delete,
    };
    if action != Action::View {
        writable(&c)?;
    }
    let conditions = rule_conditions(
        &state.schema.catalog(),
        &c,
        requester,
        &decide(&requester.caller, rule),
    )?;
    Ok((c, conditions))
}

/// A record's values by field name, canonical JSON, hidden ones included.
type Values = Map<String, Value>;

fn read_values(conn: &Connection, c: &Collection, id: &str) -> rusqlite::Result<Option<Values>> {
    let sql = format!(
        "SELECT {} FROM {} WHERE id = ?1",
        shape::select_list(c),
        quote(&c.name)
    );
    conn.prepare_cached(&sql)?
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

pub(super) fn read_shaped(
    conn: &Connection,
    c: &Collection,
    id: &str,
) -> rusqlite::Result<Option<Map<String, Value>>> {
    let sql = format!(
        "SELECT {} FROM {} WHERE id = ?1",
        shape::select_list(c),
        quote(&c.name)
    );
    conn.prepare_cached(&sql)?
        .query_row([id], |row| shape::row_to_json(c, row))
        .optional()
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
        Access::Rule(expr) => {
            let mut conditions = Conditions::default();
            conditions.params.push(Sql::Text(String::new()));
            conditions.add_expression(catalog, c, requester, expr, true)?;
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

/// Splits `name+`, `+name` and `name-` keys from plain ones.
fn modifiers_for<'a>(body: &'a Map<String, Value>, name: &str) -> Vec<(Modifier, &'a Value)> {
    let mut out = Vec::new();
    if let Some(v) = body.get(&format!("+{name}")) {
        out.push((Modifier::Prepend, v));
    }
    if let Some(v) = body.get(&format!("{name}+")) {
        out.push((Modifier::Append, v));
    }
    if let Some(v) = body.get(&format!("{name}-")) {
        out.push((Modifier::Remove, v));
    }
    out
}

/// Fields a client may not set directly.
fn managed(c: &Collection, f: &Field) -> bool {
    matches!(f.kind, FieldKind::Autodate { .. }) || (c.kind == CollectionKind::Auth && f.name == "tokenKey")
}

/// Applies the request body to `values` and validates every field.
/// Returns the plain-text passwords to hash, by field name.
fn apply_body(
    c: &Collection,
    caller: &Caller,
    body: &Map<String, Value>,
    values: &mut Values,
    creating: bool,
    errors: &mut ErrorTree,
) -> Vec<(String, String)> {
    let mut passwords = Vec::new();
    for f in &c.fields {
        if managed(c, f) || (!creating && f.name == "id") {
            continue;
        }
        if c.kind == CollectionKind::Auth && f.name == "verified" && !caller.is_superuser() {
            continue;
        }
        let mut value = values.get(&f.name).cloned().unwrap_or_else(|| values::zero(f));
        let given = body.get(&f.name);
        if let Some(raw) = given {
            value = values::normalize(f, raw);
        }
        for (op, operand) in modifiers_for(body, &f.name) {
            value = values::modify(f, &value, op, operand);
        }
        if matches!(f.kind, FieldKind::Password { .. }) {
            // Passwords are validated in clear, stored hashed; an update that
            // does not mention the password keeps the stored hash.
            match given {
                Some(raw) => {
                    let plain = raw.as_str().unwrap_or("").to_owned();
                    let check = Value::String(plain.clone());
                    match values::check(f, &check) {
                        Some(e) => errors.add(&[&f.name], e),
                        None if !plain.is_empty() => passwords.push((f.name.clone(), plain)),
                        None => {}
                    }
                }
                None if creating && f.kind.is_required() => errors.add(&[&f.name], FieldError::required()),
                None => {}
            }
            continue;
        }
        if f.name == "id" && creating && value.as_str().is_none_or(str::is_empty) {
            value = json!(RecordId::generate().to_string());
        }
        if let Some(e) = values::check(f, &value) {
            errors.add(&[&f.name], e);
        }
        values.insert(f.name.clone(), value);
    }
    passwords
}

/// Checks that every relation id exists in its target collection.
fn check_relations(
    conn: &Connection,
    catalog: &crate::schema::Catalog,
    c: &Collection,
    values: &Values,
    message: &'static str,
) -> Result<(), RecordError> {
    let mut errors = ErrorTree::new();
    for f in &c.fields {
        let FieldKind::Relation { collection_id, .. } = &f.kind else {
            continue;
        };
        let ids: Vec<String> = match values.get(&f.name) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            _ => continue,
        };
        if ids.is_empty() {
            continue;
        }
        let target = if *collection_id == c.id {
            Some(c)
        } else {
            catalog.by_id(collection_id).map(|a| a.as_ref())
        };
        let found = match target {
            Some(t) => {
                let marks = vec!["?"; ids.len()].join(",");
                let sql = format!("SELECT count(*) FROM {} WHERE id IN ({marks})", quote(&t.name));
                conn.prepare_cached(&sql)?
                    .query_row(params_from_iter(ids.iter()), |r| r.get::<_, i64>(0))?
            }
            None => 0,
        };
        if found as usize != ids.len() {
            errors.add(
                &[&f.name],
                FieldError::new(
                    "validation_missing_rel_records",
                    "Failed to find all relation records with the provided ids.",
                ),
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(invalid(message, errors))
    }
}

/// Turns a UNIQUE constraint failure into `validation_not_unique` on the
/// columns SQLite names.
fn unique_violation(err: &rusqlite::Error, c: &Collection) -> Option<ErrorTree> {
    let msg = err.to_string();
    let cols = msg.strip_prefix("UNIQUE constraint failed: ")?;
    let mut errors = ErrorTree::new();
    for col in cols.split(',').map(str::trim) {
        let name = col.rsplit('.').next().unwrap_or(col);
        let field = c.field(name).map_or("id", |f| f.name.as_str());
        errors.add(
            &[field],
            FieldError::new("validation_not_unique", "Value must be unique."),
        );
    }
    Some(errors)
}

/// Runs a write statement, reporting a UNIQUE violation as a field error.
fn execute_checked(
    tx: &Connection,
    sql: &str,
    params: Vec<Sql>,
    c: &Collection,
    message: &'static str,
) -> Result<(), RecordError> {
    match tx.prepare_cached(sql)?.execute(params_from_iter(params)) {
        Ok(_) => Ok(()),
        Err(err) => Err(match unique_violation(&err, c) {
            Some(errors) => invalid(message, errors),
            None => err.into(),
        }),
    }
}

/// Sets the autodate fields that change on this kind of write.
fn stamp_autodates(c: &Collection, values: &mut Values, creating: bool) {
    let now = crate::datetime::now();
    for f in &c.fields {
        if let FieldKind::Autodate { on_create, on_update } = f.kind
            && ((creating && on_create) || (!creating && on_update))
        {
            values.insert(f.name.clone(), json!(now));
        }
    }
}

async fn hash_all(
    state: &AppState,
    plain: Vec<(String, String)>,
    values: &mut Values,
) -> Result<(), RecordError> {
    for (name, p) in plain {
        let hash = state.hasher.hash(p).await?;
        values.insert(name, Value::String(hash));
    }
    Ok(())
}

pub async fn create(
    state: &AppState,
    requester: &Requester,
    name: &str,
    body: Map<String, Value>,
) -> Result<Map<String, Value>, RecordError> {
    create_with(state, requester, name, body, Values::new(), |_, _| Ok(())).await
}

/// `create`, for a server flow that creates a record on a client's behalf
/// (OAuth2 sign-up): `forced` values are set past the client's limits
/// (such as `verified`), and `then` runs in the same transaction once the
/// record is in, so what it writes stands or falls with the record.
pub async fn create_with(
    state: &AppState,
    requester: &Requester,
    name: &str,
    body: Map<String, Value>,
    forced: Map<String, Value>,
    then: impl FnOnce(&Connection, &str) -> Result<(), RecordError> + Send + 'static,
) -> Result<Map<String, Value>, RecordError> {
    let (c, rule) = authorize(state, requester, name, Action::Create)?;
    let caller = &requester.caller;
    let mut values = Values::new();
    let mut errors = ErrorTree::new();
    let passwords = apply_body(&c, caller, &body, &mut values, true, &mut errors);
    for (key, value) in forced {
        if c.field(&key).is_some() {
            values.insert(key, value);
        }
    }
    if c.kind == CollectionKind::Auth {
        let given = body.get("password").and_then(Value::as_str).unwrap_or("");
        let confirm = body.get("passwordConfirm").and_then(Value::as_str).unwrap_or("");
        if confirm.is_empty() {
            errors.add(&["passwordConfirm"], FieldError::required());
        } else if given != confirm {
            errors.add(
                &["passwordConfirm"],
                FieldError::new("validation_values_mismatch", "Values don't match."),
            );
        }
        values.insert(
            "tokenKey".into(),
            json!(crate::random::alphanumeric(TOKEN_KEY_LEN)),
        );
    }
    if !errors.is_empty() {
        return Err(invalid(CREATE_FAILED, errors));
    }
    hash_all(state, passwords, &mut values).await?;
    stamp_autodates(&c, &mut values, true);
    let catalog = state.schema.catalog();
    let c2 = c.clone();
    let shaped = state
        .store
        .data
        .write(move |tx| {
            check_relations(tx, &catalog, &c2, &values, CREATE_FAILED)?;
            let cols: Vec<&Field> = c2
                .fields
                .iter()
                .filter(|f| values.contains_key(&f.name))
                .collect();
            let sql = format!(
                "INSERT INTO {} ({}) VALUES ({})",
                quote(&c2.name),
                cols.iter().map(|f| quote(&f.name)).collect::<Vec<_>>().join(", "),
                vec!["?"; cols.len()].join(", ")
            );
            let params: Vec<Sql> = cols.iter().map(|f| values::to_sql(f, &values[&f.name])).collect();
            execute_checked(tx, &sql, params, &c2, CREATE_FAILED)?;
            let id = values["id"].as_str().unwrap_or("").to_owned();
            // The create rule is checked against the record as it would be
            // stored; failing it rolls the insert back.
            if let Some(rule) = &rule
                && !matches_rule(tx, &c2, &id, rule)?
            {
                return Err(invalid(CREATE_FAILED, ErrorTree::new()));
            }
            then(tx, &id)?;
            read_shaped(tx, &c2, &id)?.ok_or(RecordError::NotFound)
        })
        .await?;
    events::committed(
        state,
        vec![RecordChange {
            action: ChangeAction::Create,
            collection: c,
            record: shaped.clone(),
        }],
    );
    Ok(shaped)
}

pub async fn view(
    state: &AppState,
    requester: &Requester,
    name: &str,
    id: &str,
) -> Result<Map<String, Value>, RecordError> {
    let (c, rule) = authorize(state, requester, name, Action::View)?;
    let id = id.to_owned();
    state
        .store
        .data
        .read(move |conn| {
            if let Some(rule) = &rule
                && !matches_rule(conn, &c, &id, rule)?
            {
                return Err(RecordError::NotFound);
            }
            read_shaped(conn, &c, &id)
                .map_err(RecordError::from)?
                .ok_or(RecordError::NotFound)
        })
        .await
}

pub async fn update(
    state: &AppState,
    requester: &Requester,
    name: &str,
    id: &str,
    body: Map<String, Value>,
) -> Result<Map<String, Value>, RecordError> {
    let (c, rule) = authorize(state, requester, name, Action::Update)?;
    let rule = rule.map(Arc::new);
    let caller = &requester.caller;
    let (c2, id2, rule2) = (c.clone(), id.to_owned(), rule.clone());
    let mut values = state
        .store
        .data
        .read(move |conn| {
            if let Some(rule) = &rule2
                && !matches_rule(conn, &c2, &id2, rule)?
            {
                return Err(RecordError::NotFound);
            }
            read_values(conn, &c2, &id2)
                .map_err(RecordError::from)?
                .ok_or(RecordError::NotFound)
        })
        .await?;
    let before = values.clone();
    let mut errors = ErrorTree::new();
    // Superusers and the accounts `manageRule` matches manage accounts.
    let manager = crate::auth::manage::may_manage(state, requester, &c, id).await?;
    // An account's email and verified state change only through their own
    // flows (or a manager); PocketBase answers a direct change this way.
    if c.kind == CollectionKind::Auth && !manager {
        for key in ["email", "verified"] {
            if let (Some(given), Some(f)) = (body.get(key), c.field(key))
                && values::normalize(f, given) != before.get(key).cloned().unwrap_or(Value::Null)
            {
                errors.add(
                    &[key],
                    FieldError::new("validation_values_mismatch", "Values don't match."),
                );
            }
        }
    }
    let passwords = apply_body(&c, caller, &body, &mut values, false, &mut errors);
    if manager
        && !caller.is_superuser()
        && let (Some(given), Some(f)) = (body.get("verified"), c.field("verified"))
    {
        values.insert("verified".into(), values::normalize(f, given));
    }
    if c.kind == CollectionKind::Auth && !passwords.is_empty() {
        let confirm = body.get("passwordConfirm").and_then(Value::as_str).unwrap_or("");
        if passwords.iter().any(|(_, p)| p != confirm) {
            errors.add(
                &["passwordConfirm"],
                FieldError::new("validation_values_mismatch", "Values don't match."),
            );
        }
        if !manager {
            let old = body
                .get("oldPassword")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let stored = before
                .get("password")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            if old.is_empty() {
                errors.add(&["oldPassword"], FieldError::required());
            } else if !state.hasher.verify(old, stored).await? {
                errors.add(
                    &["oldPassword"],
                    FieldError::new(
                        "validation_invalid_old_password",
                        "Missing or invalid old password.",
                    ),
                );
            }
        }
        // A new password revokes every token issued before it.
        values.insert(
            "tokenKey".into(),
            json!(crate::random::alphanumeric(TOKEN_KEY_LEN)),
        );
    }
    if !errors.is_empty() {
        return Err(invalid(UPDATE_FAILED, errors));
    }
    hash_all(state, passwords, &mut values).await?;
    stamp_autodates(&c, &mut values, false);
    let catalog = state.schema.catalog();
    let (c2, id2) = (c.clone(), id.to_owned());
    let shaped = state
        .store
        .data
        .write(move |tx| {
            // The rule is checked again under the write lock: the record may
            // have changed since it was read.
            if let Some(rule) = &rule
                && !matches_rule(tx, &c2, &id2, rule)?
            {
                return Err(RecordError::NotFound);
            }
            check_relations(tx, &catalog, &c2, &values, UPDATE_FAILED)?;
            let changed: Vec<&Field> = c2
                .fields
                .iter()
                .filter(|f| f.name != "id" && values.get(&f.name) != before.get(&f.name))
                .collect();
            if !changed.is_empty() {
                let sets: Vec<String> = changed
                    .iter()
                    .enumerate()
                    .map(|(i, f)| format!("{} = ?{}", quote(&f.name), i + 1))
                    .collect();
                let sql = format!(
                    "UPDATE {} SET {} WHERE id = ?{}",
                    quote(&c2.name),
                    sets.join(", "),
                    changed.len() + 1
                );
                let mut params: Vec<Sql> = changed
                    .iter()
                    .map(|f| values::to_sql(f, &values[&f.name]))
                    .collect();
                params.push(Sql::Text(id2.clone()));
                execute_checked(tx, &sql, params, &c2, UPDATE_FAILED)?;
            }
            read_shaped(tx, &c2, &id2)?.ok_or(RecordError::NotFound)
        })
        .await?;
    if c.kind == CollectionKind::Auth {
        state.auth_records.invalidate(&c.id, id);
    }
    events::committed(
        state,
        vec![RecordChange {
            action: ChangeAction::Update,
            collection: c,
            record: shaped.clone(),
        }],
    );
    Ok(shaped)
}
