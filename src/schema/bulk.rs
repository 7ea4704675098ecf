//! Changes of many collections at once, each all or nothing: `import`
//! (`PUT /api/collections/import`, an edit of this server's collections)
//! and `restore` (another server's collections recreated exactly, as a
//! move from PocketBase needs). Both run through `Schema::change` like
//! every single change, and save each collection with the same
//! `create_in`/`update_in`/`delete_in`. What becomes of the stored fields
//! an item leaves out (`LeftOut`) is decided here and applied by
//! `update_in`, which a `PATCH` reaches too.

use std::sync::Arc;

use rusqlite::Connection;
use serde_json::{Map, Value};

use super::{
    AccountHooks, Catalog, Collection, CollectionKind, RuleCheck, Schema, SchemaError,
    auth_options::TokenKind, catalog, create_in, delete_in, invalid, update_in, validate,
};
use crate::{
    store::Database,
    validation::{ErrorTree, FieldError},
};

impl Schema {
    /// Creates or updates each collection of `items` (matched by id, then
    /// name) and, with `delete_missing`, deletes the non-system collections
    /// not listed and the fields an item does not list (without, they are
    /// kept). All or nothing. Gives the ids of the collections it
    /// deleted: their stored files are the caller's to remove, after the
    /// commit, as for a single delete.
    pub async fn import(
        &self,
        db: &Database,
        items: Vec<Value>,
        delete_missing: bool,
    ) -> Result<Vec<String>, SchemaError> {
        if let Some(name) = repeated(&items) {
            return Err(import_failure(format!(
                "the collection {name:?} is listed more than once"
            )));
        }
        let (check, accounts) = (self.rule_check, self.accounts);
        self.change(db, move |tx, _| {
            // A collection's fields the item leaves out go as its
            // collections do: kept unless `deleteMissing` (its system
            // fields kept either way), as PocketBase 0.40.6 imports.
            let left_out = if delete_missing {
                LeftOut::SystemKept
            } else {
                LeftOut::Kept
            };
            import_in(tx, &items, delete_missing, left_out, check, accounts)
        })
        .await
    }

    /// Recreates another server's collections exactly (a move from
    /// PocketBase): the collections not in `items` go first, so a name
    /// cannot match a collection of another id; then `items` are imported
    /// in order (an id may appear more than once, the last one being the
    /// whole definition: a way to create collections that relate to each
    /// other in a cycle); then each keeps the token secrets and
    /// timestamps `items` give. `import` keeps this server's secrets,
    /// which is right for an edit but would void every token the other
    /// server issued.
    pub async fn restore(&self, db: &Database, items: Vec<Value>) -> Result<(), SchemaError> {
        let (check, accounts) = (self.rule_check, self.accounts);
        self.change(db, move |tx, stored| {
            let listed = |id: &str| {
                items
                    .iter()
                    .any(|i| i.get("id").and_then(Value::as_str) == Some(id))
            };
            for c in stored.all().filter(|c| !c.system && !listed(&c.id)) {
                let now = Catalog::load(tx, 0)?;
                delete_in(tx, &now, c, accounts)?;
            }
            // Each item's last definition is the whole collection.
            import_in(tx, &items, true, LeftOut::Deleted, check, accounts)?;
            for item in &items {
                keep_secrets_and_times(tx, item)?;
            }
            Ok(())
        })
        .await
    }
}

/// What an update does with the stored fields its `fields` list leaves
/// out (matched by id, as `Collection::apply_patch` matches them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LeftOut {
    /// Deleted, with their columns: `PATCH` sends the whole list, as a
    /// restore's last definition of a collection is the whole of it.
    Deleted,
    /// System fields kept, the others deleted: an import that deletes
    /// what it does not list (`deleteMissing`). PocketBase keeps a left
    /// out `created` of `_superusers` there, where `PATCH` refuses.
    SystemKept,
    /// All kept, after the listed ones: an import that only adds and
    /// changes.
    Kept,
}

/// Puts back, after the listed fields, the stored ones `left_out` keeps
/// that the new list does not have. A system field whose name another
/// field took is not put back: `system::check_fields` refuses that swap.
pub(super) fn keep_left_out(old: &Collection, c: &mut Collection, left_out: LeftOut) {
    if c.kind == CollectionKind::View {
        return; // a view's fields are its query's
    }
    for f in &old.fields {
        let keep = match left_out {
            LeftOut::Deleted => false,
            LeftOut::SystemKept => f.system,
            LeftOut::Kept => true,
        };
        if keep && c.field_by_id(&f.id).is_none() && !(f.system && c.field(&f.name).is_some()) {
            c.fields.push(f.clone());
        }
    }
}

/// An import refused as a whole, for `detail`.
fn import_failure(detail: String) -> SchemaError {
    let mut errors = ErrorTree::new();
    errors.add(
        &["collections"],
        FieldError::new(
            "validation_collections_import_failure",
            format!("Failed to import the collections configuration. Raw error: {detail}"),
        ),
    );
    invalid("Failed to import collections.", errors)
}

/// An id or a name (in any case) that two items of an import share, if
/// one does: the second would silently change, or rename, what the first
/// made.
fn repeated(items: &[Value]) -> Option<String> {
    let mut ids = std::collections::HashSet::new();
    let mut names = std::collections::HashSet::new();
    items.iter().find_map(|item| {
        let text = |key: &str| item.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
        let name = text("name").unwrap_or_default();
        let twice = text("id").is_some_and(|id| !ids.insert(id.to_owned()))
            || (!name.is_empty() && !names.insert(name.to_lowercase()));
        twice.then(|| text("name").or(text("id")).unwrap_or_default().to_owned())
    })
}

/// The body of `import`, inside its transaction; the ids of the
/// collections it deleted. `left_out` says what becomes of the stored
/// fields an item does not list.
fn import_in(
    tx: &Connection,
    items: &[Value],
    delete_missing: bool,
    left_out: LeftOut,
    check: RuleCheck,
    accounts: AccountHooks,
) -> Result<Vec<String>, SchemaError> {
    let failed = import_failure;
    if items.is_empty() {
        let mut errors = ErrorTree::new();
        errors.add(&["collections"], FieldError::required());
        return Err(invalid(
            "An error occurred while validating the submitted data.",
            errors,
        ));
    }
    let bodies = items
        .iter()
        .map(|item| {
            item.as_object()
                .ok_or_else(|| failed("every item must be an object".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // As PocketBase imports: views last, since their queries read the
    // tables listed with them, and every collection saved before any is
    // checked against the others, so a relation or a rule may name a
    // collection listed after it, or two may name each other (an export
    // lists them in the order they were made, not the order they need).
    // Cairn saved and checked each in turn, and refused such a list.
    let stored = Catalog::load(tx, 0)?;
    let is_view = |body: &&Map<String, Value>| match body.get("type").and_then(Value::as_str) {
        Some(kind) if !kind.is_empty() => kind == "view",
        _ => matched(&stored, body).is_some_and(|c| c.kind == CollectionKind::View),
    };
    let (views, tables): (Vec<_>, Vec<_>) = bodies.into_iter().partition(is_view);
    let listed_ids: Vec<&str> = items
        .iter()
        .filter_map(|item| item.get("id").and_then(Value::as_str))
        .filter(|id| !id.is_empty())
        .collect();
    let mut kept: Vec<String> = Vec::new();
    for body in tables.into_iter().chain(views) {
        let current = Catalog::load(tx, 0)?;
        let old = matched(&current, body);
        let own = body.get("id").and_then(Value::as_str);
        let ahead = current.with_placeholders(
            listed_ids
                .iter()
                .copied()
                .filter(|id| Some(*id) != own && current.by_id(id).is_none()),
        );
        // Rules are checked once all are saved.
        let result = match old {
            Some(old) => update_in(tx, &ahead, old, body, unchecked, accounts, left_out),
            None => create_in(tx, &ahead, body, unchecked),
        };
        let saved = result.map_err(|e| failed(describe(&e)))?;
        if !kept.contains(&saved.id) {
            kept.push(saved.id);
        }
    }
    let saved = Catalog::load(tx, 0)?;
    for id in &kept {
        let c = saved.by_id(id).ok_or(SchemaError::NotFound)?;
        let errors = validate::validate(tx, &saved, Some(c), c, None, check, ErrorTree::new())?;
        if !errors.is_empty() {
            return Err(failed(describe(&invalid("", errors))));
        }
    }
    if !delete_missing {
        return Ok(Vec::new());
    }
    let current = Catalog::load(tx, 0)?;
    let doomed: Vec<Arc<Collection>> = current
        .all()
        .filter(|c| !c.system && !kept.contains(&c.id))
        .cloned()
        .collect();
    // A relation from a collection that goes too holds nothing back (as
    // PocketBase deletes them); one from a collection that stays does.
    // Cairn refused to delete a collection another doomed one pointed at.
    let going: Vec<&str> = doomed.iter().map(|c| c.id.as_str()).collect();
    for c in &doomed {
        let others = Catalog::load(tx, 0)?.without(|o| o.id != c.id && going.contains(&o.id.as_str()));
        delete_in(tx, &others, c, accounts).map_err(|e| failed(describe(&e)))?;
    }
    Ok(doomed.iter().map(|c| c.id.clone()).collect())
}

/// The stored collection an import item changes: the one of its id, else
/// the one of its name.
fn matched<'a>(catalog: &'a Catalog, body: &Map<String, Value>) -> Option<&'a Arc<Collection>> {
    let by_id = body
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| catalog.by_id(id));
    by_id.or_else(|| {
        body.get("name")
            .and_then(Value::as_str)
            .and_then(|n| catalog.get(n))
    })
}

/// The rule check of an import's first pass: none (see `import_in`).
fn unchecked(_: &Catalog, _: &Collection, _: &str) -> Option<String> {
    None
}

/// For `restore`: the token secrets of `item` (flat auth options, as the
/// API shows a collection) and its `created`/`updated`, over the stored
/// collection of the same id.
fn keep_secrets_and_times(tx: &Connection, item: &Value) -> Result<(), SchemaError> {
    let Some(id) = item.get("id").and_then(Value::as_str) else {
        return Ok(());
    };
    let current = Catalog::load(tx, 0)?;
    let Some(stored) = current.by_id(id) else {
        return Ok(());
    };
    let mut c = (**stored).clone();
    for key in TokenKind::ALL.map(TokenKind::option_key) {
        let secret = item
            .get(key)
            .and_then(|o| o.get("secret"))
            .and_then(Value::as_str);
        if let (Some(secret), Some(Value::Object(group))) = (secret, c.options.get_mut(key))
            && !secret.is_empty()
        {
            group.insert("secret".into(), Value::String(secret.to_owned()));
        }
    }
    catalog::save_row(tx, &c)?;
    for key in ["created", "updated"] {
        if let Some(at) = item.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()) {
            tx.prepare_cached(&format!("UPDATE _collections SET {key} = ?1 WHERE id = ?2"))?
                .execute([at, id])?;
        }
    }
    Ok(())
}

/// One item's failure, as the import's message quotes it.
fn describe(err: &SchemaError) -> String {
    match err {
        SchemaError::Invalid { errors, .. } => {
            serde_json::to_string(&Value::Object(errors.clone().into_map())).unwrap_or_default()
        }
        other => other.to_string(),
    }
}
