//! Whole-collection validation, before anything is written: every problem
//! is reported at once, per key, in PocketBase's codes. It runs inside the
//! write transaction, so a name already held by a database object outside
//! the catalog is seen here; checks that need the DDL itself (index
//! expressions) happen when it runs, and are reported the same way. The
//! fields' own options are checked in `field_checks`.

use std::collections::HashSet;

use rusqlite::Connection;
use serde_json::json;

use super::{
    catalog::Catalog,
    collection::{Collection, CollectionKind},
    index::IndexDef,
};
use crate::validation::{ErrorTree, FieldError};

pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The longest collection or field id, as PocketBase bounds them.
pub(super) const MAX_ID: usize = 100;

/// A text past `max` characters (an id, a name), as PocketBase words it.
pub(super) fn too_long(max: usize) -> FieldError {
    FieldError::new(
        "validation_length_out_of_range",
        format!("The length must be between 1 and {max}."),
    )
    .with_params(json!({"min": 1, "max": max}))
}

pub(super) fn blank() -> FieldError {
    FieldError::required()
}

/// PocketBase's system collections that Cairn keeps as plain tables: a
/// client is told their names are taken, as PocketBase tells it.
const POCKETBASE_COLLECTIONS: [&str; 3] = ["_mfas", "_otps", "_authOrigins"];

fn taken() -> FieldError {
    FieldError::new(
        "validation_collection_name_exists",
        "Collection name must be unique (case insensitive).",
    )
}

/// Why a table named `name` cannot be made, if it cannot: SQLite keeps
/// `sqlite_…` for itself, and tables, views and indexes share one
/// namespace, so a name held by an object the catalog does not own
/// (Cairn's own tables, a collection's index) would fail in the DDL.
fn internal_name(conn: &Connection, catalog: &Catalog, name: &str) -> rusqlite::Result<Option<FieldError>> {
    let invalid =
        |message: &'static str| Some(FieldError::new("validation_collection_name_invalid", message));
    if POCKETBASE_COLLECTIONS
        .iter()
        .any(|c| c.eq_ignore_ascii_case(name))
    {
        return Ok(Some(taken()));
    }
    if name.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("sqlite_")) {
        return Ok(invalid("Names starting with sqlite_ are reserved by SQLite."));
    }
    let held: Vec<String> = conn
        .prepare_cached(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view', 'index') AND name = ?1 COLLATE NOCASE",
        )?
        .query_map([name], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let foreign = held
        .iter()
        .any(|h| !catalog.all().any(|c| c.name.eq_ignore_ascii_case(h)));
    Ok(foreign
        .then(|| invalid("The name is taken by an internal table or an index."))
        .flatten())
}

/// Validates `new` (the collection as it would be saved); `old` is the
/// stored version for an update. `raw_kind` is an unrecognized `type`.
/// `conn` is the write transaction the change will be made in. `errors`
/// holds what was found before the defaults were filled in (a system
/// field renamed: `system::check_fields`); those come first.
pub fn validate(
    conn: &Connection,
    catalog: &Catalog,
    old: Option<&Collection>,
    new: &Collection,
    bad_kind: Option<&str>,
    rule_check: RuleCheck,
    mut errors: ErrorTree,
) -> rusqlite::Result<ErrorTree> {
    // The collection's own keys.
    if new.name.is_empty() {
        errors.add(&["name"], blank());
    } else if new.name.chars().count() > 255 {
        errors.add(&["name"], too_long(255));
    } else if !valid_name(&new.name) {
        errors.add(&["name"], FieldError::bad_format());
    } else if catalog
        .all()
        .any(|c| c.name.eq_ignore_ascii_case(&new.name) && old.is_none_or(|o| o.id != c.id))
    {
        errors.add(&["name"], taken());
    } else if let Some(reserved) = internal_name(conn, catalog, &new.name)? {
        errors.add(&["name"], reserved);
    }
    if bad_kind.is_some() {
        errors.add(&["type"], FieldError::not_allowed_value());
    }
    if let Some(old) = old {
        if old.kind != new.kind {
            errors.add(
                &["type"],
                FieldError::new(
                    "validation_collection_type_change",
                    "Collection type cannot be changed.",
                ),
            );
        }
        if old.system && old.name != new.name {
            errors.add(
                &["name"],
                FieldError::new(
                    "validation_collection_system_name_change",
                    "System collection name cannot be changed.",
                ),
            );
        }
        if old.system != new.system {
            errors.add(
                &["system"],
                FieldError::new(
                    "validation_collection_system_flag_change",
                    "System collection state cannot be changed.",
                ),
            );
        }
    }
    if old.is_none() {
        // The id names the collection in URLs and its files' folder: word
        // characters only, as PocketBase allows (Cairn took any text, a
        // `/` or a space included, and then could not store the files).
        let id = &new.id;
        if id.len() > MAX_ID {
            errors.add(&["id"], too_long(MAX_ID));
        } else if !valid_name(id) {
            errors.add(&["id"], FieldError::bad_format());
        } else if errors.is_empty() && catalog.by_id(id).is_some() {
            errors.add(
                &["id"],
                FieldError::new(
                    "validation_invalid_or_existing_id",
                    "The model id is invalid or already exists.",
                ),
            );
        }
    }
    if new.kind == CollectionKind::View {
        if new.view_query.is_empty() {
            errors.add(&["viewQuery"], blank());
        }
        if !new.indexes.is_empty() {
            // A view has no table to index: refused, as PocketBase
            // refuses, where Cairn dropped them without a word.
            errors.add(
                &["indexes"],
                FieldError::new(
                    "validation_indexes_not_supported",
                    "View collections don't support indexes.",
                ),
            );
        }
        // A view is read-only: a write rule would promise writes that
        // cannot happen. One stored before this was checked is left be
        // until it is changed (it opens nothing).
        for key in ["createRule", "updateRule", "deleteRule"] {
            let rule = new.rules.get(key);
            if rule.is_some_and(Option::is_some) && old.is_none_or(|o| o.rules.get(key) != rule) {
                errors.add(&[key], FieldError::new("validation_nil", "Must be blank."));
            }
        }
    }

    // A problem with the list as a whole (`system::check_fields`) is the
    // one `fields` answers: the defaults since put back make the rest
    // about fields the client never sent.
    if !errors.contains("fields") {
        super::field_checks::validate_fields(catalog, old, new, &mut errors);
    }
    validate_indexes(catalog, new, &mut errors);
    if new.kind == CollectionKind::Auth {
        super::auth_options::validate_sessions(&new.options, &mut errors);
        super::auth_options::validate_oauth2(&new.options, &mut errors);
        super::auth_options::validate_secrets(&new.options, old.map(|o| &o.options), &mut errors);
        super::auth_options::validate_auth_options(new, &mut errors);
    }
    if let Some(old) = old {
        super::system::check_rules(old, new, &mut errors);
    }
    if errors.is_empty() {
        validate_rules(catalog, new, rule_check, &mut errors);
    }
    Ok(errors)
}

/// Whether a rule can be used on a collection: `Some(problem)` if not.
/// The query compiler answers (`query::collections::rule_problem`); the
/// schema receives it at load, as the compiler reads the schema.
pub type RuleCheck = fn(&Catalog, &Collection, &str) -> Option<String>;

/// Every rule must compile against the collection as it will be saved, so
/// a broken rule is refused now rather than failing requests later.
fn validate_rules(catalog: &Catalog, new: &Collection, check: RuleCheck, errors: &mut ErrorTree) {
    let rules = super::collection::RULE_KEYS
        .into_iter()
        .filter_map(|k| Some((k, new.rules.get(k)?.clone()?)))
        .chain(super::auth_options::rules(&new.options));
    for (key, rule) in rules {
        if rule.is_empty() {
            continue;
        }
        // Blank is not empty: `"  "` reads as no condition at all, which a
        // client meaning `""` (everyone) should say as `""`.
        let problem = if rule.trim().is_empty() {
            Some("empty filter expression".to_owned())
        } else {
            check(catalog, new, &rule)
        };
        if let Some(problem) = problem {
            let path: Vec<&str> = key.split('.').collect();
            errors.add(
                &path,
                FieldError::new(
                    "validation_invalid_rule",
                    format!("Invalid rule. Raw error: {problem}."),
                ),
            );
        }
    }
}

fn validate_indexes(catalog: &Catalog, new: &Collection, errors: &mut ErrorTree) {
    // Index names are one namespace across the database.
    let used_by = |name: &str| {
        catalog
            .all()
            .filter(|c| c.id != new.id)
            .find(|c| {
                c.indexes
                    .iter()
                    .filter_map(|sql| IndexDef::parse(sql))
                    .any(|d| d.name.eq_ignore_ascii_case(name))
            })
            .map(|c| c.name.clone())
    };
    let mut names = HashSet::new();
    for (i, sql) in new.indexes.iter().enumerate() {
        let at = i.to_string();
        match IndexDef::parse(sql) {
            None => errors.add(
                &["indexes", &at],
                FieldError::new(
                    "validation_invalid_index_expression",
                    "Invalid CREATE INDEX expression.",
                ),
            ),
            Some(def) if !names.insert(def.name.to_ascii_lowercase()) => errors.add(
                &["indexes", &at],
                FieldError::new(
                    "validation_duplicated_index_name",
                    "The index name already exists.",
                ),
            ),
            Some(def) => {
                if let Some(other) = used_by(&def.name) {
                    errors.add(
                        &["indexes", &at],
                        FieldError::new(
                            "validation_existing_index_name",
                            format!("The index name is already used by the {other} collection."),
                        )
                        .with_params(json!({"usedTableName": other})),
                    );
                }
            }
        }
    }
}
