//! Creating and updating records in two steps, shared by single requests
//! and batches: `prepare` does the slow, async work before any lock is
//! taken (drop what the client may not write, authorize, hash passwords,
//! verify an old password, name, check and stage uploaded files), and `WritePlan::apply` does the rest inside
//! the caller's write transaction, synchronously (read the current record,
//! apply the body, validate every field, write, check the rule).
//!
//! Files are staged on disk by `prepare`: whoever runs the plan removes
//! `staged()` if its transaction rolls back, and `Applied::removed_files`
//! once it commits (see `service::finish`).

use std::sync::Arc;

use rusqlite::Connection;
use serde_json::{Map, Value, json};

use super::{
    RecordId,
    access::{Conditions, Requester},
    body::{apply_body, stamp_autodates},
    deps::{RecordsDeps, TxHook},
    events::{ChangeAction, RecordChange},
    files as file_fields, modifiers,
    persist::{check_relations, exists, insert, update},
    refused, reveal,
    service::{
        Action, CREATE_FAILED, RecordError, UPDATE_FAILED, Values, authorize, authorize_in, invalid,
        matches_rule, read_shaped, read_values,
    },
    values, writable,
};
use crate::{
    files::{NewFile, Upload, upload},
    schema::{Catalog, Collection, CollectionKind, field::FieldKind},
    validation::{ErrorTree, FieldError},
};

mod account;

const TOKEN_KEY_LEN: usize = 50;

/// What a write asks for: a new record, a change to record `id`, or
/// (PUT in a batch) a change if `id` exists and a new record otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteKind {
    Create,
    Update(RecordId),
    Upsert,
}

impl WriteKind {
    /// The request as the rules of `action` see it: an upsert is judged
    /// as the create or the update it turns into, `@request.method`
    /// included (POST or PATCH, as PocketBase reads it), so a rule on the
    /// method holds for an upsert as for the request it stands for.
    fn as_judged(&self, requester: &Requester, action: Action) -> Requester {
        match (self, action) {
            (Self::Upsert, Action::Create) => requester.with_method("POST"),
            (Self::Upsert, _) => requester.with_method("PATCH"),
            _ => requester.clone(),
        }
    }
}

/// A rule's verdict, kept until `apply` knows which one it needs.
type Verdict = Result<Option<Conditions>, RecordError>;

/// A prepared create or update, ready to apply inside a transaction.
pub struct WritePlan {
    c: Arc<Collection>,
    kind: WriteKind,
    id: String,
    create_rule: Option<Verdict>,
    update_rule: Option<Verdict>,
    /// Superusers, and for an account the callers its `manageRule` matches:
    /// they set email, verified and password without the old password.
    manager: bool,
    body: Map<String, Value>,
    /// Values a server flow sets past the client's limits (`create_with`).
    forced: Values,
    hashed: Vec<(String, String)>,
    /// Problems found while preparing, reported with the rest.
    early: ErrorTree,
    /// Whether `oldPassword` matched, when a password change needs it.
    old_password_ok: Option<bool>,
    new_files: Vec<NewFile>,
    /// Told of the change inside the transaction (webhooks).
    hook: Arc<dyn TxHook>,
    /// When the body has modifier keys or uploads and a rule reads
    /// `@request.body`: the requester, to compile that rule again inside
    /// the write with the values they make (`modifiers::resolved`).
    modifying: Option<Requester>,
}

/// A write that went through, and the files it stopped referring to.
pub struct Applied {
    pub change: RecordChange,
    pub removed_files: Vec<String>,
}

pub async fn prepare(
    deps: &RecordsDeps<'_>,
    requester: &Requester,
    c: Arc<Collection>,
    kind: WriteKind,
    mut body: Map<String, Value>,
    mut uploads: Vec<Upload>,
) -> Result<WritePlan, RecordError> {
    // Before the rules are compiled: they must not see what is dropped.
    let stripped = writable::strip(&c, requester, &mut body, &mut uploads);
    let requester = stripped.as_ref().unwrap_or(requester);
    let verdict = |action| authorize(deps, &kind.as_judged(requester, action), &c, action);
    let (create_rule, update_rule) = match &kind {
        WriteKind::Create => (Some(Ok(verdict(Action::Create)?)), None),
        WriteKind::Update(_) => (None, Some(Ok(verdict(Action::Update)?))),
        WriteKind::Upsert => match (verdict(Action::Create), verdict(Action::Update)) {
            (Err(err), Err(_)) => return Err(err),
            (create, update) => (Some(create), Some(update)),
        },
    };
    let id = match &kind {
        WriteKind::Update(id) => id.to_string(),
        // A number or a bool is its text, as PocketBase casts it (an id
        // of 5 is refused as too short, not swapped for a drawn one; an
        // upsert of a numeric id finds the record that id names).
        _ => match body
            .get("id")
            .map(crate::schema::field::as_text)
            .filter(|s| !s.is_empty())
        {
            Some(given) => {
                body.insert("id".into(), json!(given));
                given
            }
            // No pattern to draw from: the id field's own check below
            // answers that one is required.
            None => match RecordId::draw_for(&c) {
                Some(fresh) => {
                    let fresh = fresh.to_string();
                    body.insert("id".into(), json!(fresh));
                    fresh
                }
                None => String::new(),
            },
        },
    };
    let superuser = requester.caller.is_superuser();
    let reads_body = |rule: &Option<String>| rule.as_deref().is_some_and(|r| r.contains("@request.body"));
    // Uploads count too: a rule sees a file field's new list of names,
    // which only the write knows (`modifiers::resolved`).
    let modifying = (!superuser
        && (modifiers::any(&body) || !uploads.is_empty())
        && [&c.rules.create, &c.rules.update].into_iter().any(reads_body))
    .then(|| requester.clone());
    let manager = match &kind {
        WriteKind::Create => superuser,
        _ => super::manage::may_manage(deps, &kind.as_judged(requester, Action::Update), &c, &id).await?,
    };
    let mut early = ErrorTree::new();
    // A client-chosen id names the folder new files are staged in: it is
    // checked here, before anything touches the disk.
    match &kind {
        // No stored record has an id that cannot name a folder.
        WriteKind::Update(_) if !crate::files::names::is_safe(&id) => return Err(RecordError::NotFound),
        WriteKind::Update(_) => {}
        _ => {
            if let Some(e) = c.field("id").and_then(|f| values::check(f, &json!(id))) {
                early.add(&["id"], e);
            }
        }
    }
    let mut plain = Vec::new();
    for f in c
        .fields
        .iter()
        .filter(|f| matches!(f.kind, FieldKind::Password { .. }))
    {
        if let Some(raw) = body.get(&f.name) {
            // A number is its text, as PocketBase casts it.
            let p = crate::schema::field::as_text(raw);
            match values::check(f, &json!(p)) {
                Some(e) => early.add(&[&f.name], e),
                None if !p.is_empty() => plain.push((f.name.clone(), p)),
                None => {}
            }
        }
    }
    let new_files = upload::accept(&c, uploads, &mut early);
    let mut old_password_ok = None;
    if c.kind == CollectionKind::Auth && !plain.is_empty() && !manager && kind != WriteKind::Create {
        old_password_ok = Some(account::old_password_matches(deps, &c, &id, &body).await?);
    }
    let mut hashed = Vec::new();
    // Nothing slow or lasting for a write that already cannot succeed.
    if early.is_empty() {
        for (field, p) in plain {
            hashed.push((field, deps.hasher.hash(p).await?));
        }
        deps.storage.stage(&c.id, &id, &new_files).await?;
    }
    Ok(WritePlan {
        c,
        kind,
        id,
        create_rule,
        update_rule,
        manager,
        body,
        forced: Values::new(),
        hashed,
        early,
        old_password_ok,
        new_files,
        hook: deps.tx_hook.clone(),
        modifying,
    })
}

impl WritePlan {
    pub fn collection(&self) -> &Arc<Collection> {
        &self.c
    }

    /// Sets `values` on the record regardless of what the client may set;
    /// keys that are not fields of the collection are ignored.
    pub fn force(&mut self, values: Values) {
        self.forced = values;
    }

    /// Where the new files were staged, for removal if the write fails.
    pub fn staged(&self) -> (String, String, Vec<String>) {
        let names = self.new_files.iter().map(|f| f.name.clone()).collect();
        (self.c.id.clone(), self.id.clone(), names)
    }

    /// Whether `apply` changes the database in one statement and does
    /// nothing after it that can fail, so the write needs no savepoint
    /// (`Database::write_statement`): a create whose rule needs no check
    /// against the stored row, or an update (its rule is checked first).
    /// The transaction hook may write beside it (a webhook's delivery):
    /// that write fails only as the database does (I/O, a full disk), and
    /// then the writer rolls the whole group back, which such a failure
    /// would do to the commit anyway; a savepoint per write would copy
    /// every page it touches for that rare case.
    pub fn changes_once(&self) -> bool {
        match self.kind {
            WriteKind::Create => matches!(self.create_rule, Some(Ok(None))),
            WriteKind::Update(_) => true,
            WriteKind::Upsert => false,
        }
    }

    /// Runs the write inside `tx`.
    pub fn apply(&mut self, tx: &Connection, catalog: &Catalog) -> Result<Applied, RecordError> {
        let creating = match &self.kind {
            WriteKind::Create => true,
            WriteKind::Update(_) => false,
            WriteKind::Upsert => !exists(tx, &self.c, &self.id)?,
        };
        let (verdict, message) = if creating {
            (self.create_rule.take(), CREATE_FAILED)
        } else {
            (self.update_rule.take(), UPDATE_FAILED)
        };
        // A plan is applied once; a second call finds no verdict.
        let mut rule = verdict.ok_or(RecordError::NotFound)??;
        let c = &self.c;
        let before = if creating {
            Values::new()
        } else {
            if let Some(rule) = &rule
                && self.modifying.is_none()
                && !matches_rule(tx, c, &self.id, rule)?
            {
                return Err(RecordError::NotFound);
            }
            read_values(tx, c, &self.id)?.ok_or(RecordError::NotFound)?
        };
        let mut values = before.clone();
        let mut errors = self.early.clone();
        self.guard_account_fields(&before, creating, &mut errors);
        if !creating {
            self.guard_id(&mut errors);
        }
        apply_body(c, self.manager, &self.body, &mut values, creating, &mut errors);
        let removed_files = file_fields::apply(c, &self.body, &self.new_files, &mut values, &mut errors);
        if let Some(requester) = &self.modifying {
            // The rule again, with what the modifiers and uploads make; an
            // update's is checked on the stored row before anything else
            // is said.
            let uploaded: Vec<&str> = self.new_files.iter().map(|n| n.field.as_str()).collect();
            let action = if creating { Action::Create } else { Action::Update };
            let seen = self
                .kind
                .as_judged(requester, action)
                .with_body(modifiers::resolved(c, &self.body, &values, &uploaded));
            rule = authorize_in(catalog, &seen, c, action)?;
            if !creating
                && let Some(rule) = &rule
                && !matches_rule(tx, c, &self.id, rule)?
            {
                return Err(RecordError::NotFound);
            }
        }
        let rule = rule.as_ref();
        for (key, value) in &self.forced {
            if c.field(key).is_some() {
                values.insert(key.clone(), value.clone());
            }
        }
        // Every superuser is verified, as in PocketBase: made so, and kept
        // so whatever a change sends.
        if c.id == crate::schema::defaults::SUPERUSERS_ID {
            values.insert("verified".into(), Value::Bool(true));
        }
        self.set_passwords(&mut values, &before, creating, &mut errors);
        // A create's field errors go only to callers its rule lets create.
        let create_rule = creating.then_some(rule).flatten();
        let refusal =
            |values: &Values, err| refused::unless_refused(tx, c, &self.id, create_rule, values, err);
        if !errors.is_empty() {
            return Err(refusal(&values, invalid(message, errors)));
        }
        stamp_autodates(c, &mut values, creating);
        if let Err(err) = check_relations(tx, catalog, c, &values, message) {
            return Err(refusal(&values, err));
        }
        let previous = match creating {
            true => None,
            false => self.hook.before_update(tx, c, &self.id)?,
        };
        let written = if creating {
            let record = match insert(tx, c, &values) {
                Ok(record) => record,
                Err(err) => {
                    return Err(refusal(&values, err));
                }
            };
            // The create rule is checked against the record as it would be
            // stored; failing it rolls the insert back.
            if let Some(rule) = rule
                && !matches_rule(tx, c, &self.id, rule)?
            {
                return Err(invalid(CREATE_FAILED, ErrorTree::new()));
            }
            Some(record)
        } else {
            update(tx, c, &self.id, &values, &before)?
        };
        let record = match written {
            Some(record) => record,
            None => read_shaped(tx, c, &self.id)?.ok_or(RecordError::NotFound)?,
        };
        let change = RecordChange {
            action: if creating {
                ChangeAction::Create
            } else {
                ChangeAction::Update
            },
            collection: c.clone(),
            record,
            hidden: reveal::kept(tx, c, &self.id)?,
        };
        self.hook.changed(tx, catalog, &change, previous.as_ref())?;
        Ok(Applied {
            change,
            removed_files,
        })
    }

    /// A record keeps its id: an update naming another one (any value but
    /// the id itself, superusers included) is refused as PocketBase
    /// refuses it, rather than ignored, so a client that meant to move a
    /// record learns that it did not.
    fn guard_id(&self, errors: &mut ErrorTree) {
        if self
            .body
            .get("id")
            .is_some_and(|given| given.as_str() != Some(&self.id))
        {
            errors.add(
                &["id"],
                FieldError::new(
                    "validation_pk_change",
                    "The record primary key cannot be changed.",
                ),
            );
        }
    }
}
