//! What no change may do to what the server itself relies on: the API
//! rules of a system collection (`_superusers`, `_externalAuths`) and the
//! system fields of every collection (its `id` primary key; an auth
//! collection's `email`, `password`, `tokenKey`, …; the `created` and
//! `updated` of the system collections).
//!
//! As PocketBase 0.40.6 answers, observed against its binary: a changed
//! rule of a system collection is `validation_collection_system_rule_change`
//! under that rule's key (`null` sent back for a `null` rule is no
//! change); a system field renamed, deleted, or replaced by another field
//! of its name is `validation_system_field_change` under `fields`; the
//! `id` field renamed or retyped is `validation_missing_primary_key`
//! there. What PocketBase quietly puts back instead (an `id` made hidden
//! or optional, an `email` turned into a url, a deleted `id` or `email`)
//! `defaults::complete` puts back.
//!
//! Without these, `_superusers {"createRule": ""}` let anyone make
//! themselves a superuser, and renaming a system field left two fields
//! sharing one id, which the table sync could not apply (a 500). A data
//! folder that took such rules has them put back when it is opened
//! (`restore_rules`).

use rusqlite::Connection;
use serde_json::Value;

use super::{
    Catalog, auth_options, catalog,
    collection::{Collection, CollectionKind, RULE_KEYS},
    defaults,
    field::FieldKind,
};
use crate::{
    store::StoreError,
    validation::{ErrorTree, FieldError},
};

fn rule_change() -> FieldError {
    FieldError::new(
        "validation_collection_system_rule_change",
        "The API rules of a system collection cannot be changed.",
    )
}

fn field_change() -> FieldError {
    FieldError::new(
        "validation_system_field_change",
        "A system field cannot be deleted, renamed or replaced.",
    )
}

fn missing_primary_key() -> FieldError {
    FieldError::new(
        "validation_missing_primary_key",
        "The collection needs its \"id\" primary key field, a text field named id.",
    )
}

/// The system collection `c` as it is made (its rules), if it is one.
fn as_made(c: &Collection) -> Option<Collection> {
    [defaults::superusers(), defaults::external_auths()]
        .into_iter()
        .find(|made| made.id == c.id && c.system)
}

/// A system collection's rule (`authRule` and `manageRule` among them,
/// as read) by key, `None` if it has no such key.
fn rule_of(c: &Collection, key: &str) -> Option<Option<String>> {
    match c.rules.get(key) {
        Some(rule) => Some(rule.clone()),
        None if c.kind == CollectionKind::Auth => Some(auth_options::access_rule(&c.options, key)),
        None => None,
    }
}

const AUTH_RULE_KEYS: [&str; 2] = ["authRule", "manageRule"];

/// A system collection keeps the API rules it was made with, the auth
/// collection's `authRule` and `manageRule` included (`mfa.rule` is not an
/// access rule: PocketBase lets it change). A rule may still be put back
/// as made: PocketBase never holds another, but a data folder from an
/// earlier Cairn may (`restore_rules` puts back only the open ones).
pub fn check_rules(old: &Collection, new: &Collection, errors: &mut ErrorTree) {
    if !old.system {
        return;
    }
    let made = as_made(old);
    for key in RULE_KEYS.into_iter().chain(AUTH_RULE_KEYS) {
        let rule = rule_of(new, key);
        if rule_of(old, key) != rule && made.as_ref().is_none_or(|m| rule_of(m, key) != rule) {
            errors.add(&[key], rule_change());
        }
    }
}

/// Puts back the API rules of the system collections that a data folder
/// holds more open than they were made, closes any auth collection's
/// management to all (`manageRule: ""`), and names the collections it
/// repaired. Runs on every start and after every restore (a backup may
/// be older than these checks). A Cairn before `check_rules` accepted
/// `_superusers {"createRule": ""}` (anyone could make themselves a
/// superuser) and `manageRule: ""`; PocketBase never stores such. A rule
/// made `null` is put back whatever it holds (that only narrows it); any
/// other only if it is `""`, open to all: a narrower one a superuser set
/// (an `authRule` that asks more of superusers signing in) is theirs, and
/// `check_rules` lets them put it back as made.
pub fn restore_rules(tx: &Connection) -> Result<Vec<String>, StoreError> {
    let stored = Catalog::load(tx, 0)?;
    let mut repaired = Vec::new();
    for current in stored.all() {
        let mut fixed = (**current).clone();
        // Any auth collection's `manageRule: ""` (or blank, which reads
        // as `""`) let every signed-in account change every account's
        // email and password; `null` leaves that to superusers.
        if current.kind == CollectionKind::Auth
            && auth_options::access_rule(&current.options, "manageRule").is_some_and(|r| r.is_empty())
        {
            fixed.options.insert("manageRule".into(), Value::Null);
        }
        let Some(made) = as_made(current) else {
            if fixed != **current {
                catalog::save_row(tx, &fixed)?;
                repaired.push(fixed.name);
            }
            continue;
        };
        for key in RULE_KEYS.into_iter().chain(AUTH_RULE_KEYS) {
            let (Some(now), Some(was)) = (rule_of(current, key), rule_of(&made, key)) else {
                continue;
            };
            if now == was || (was.is_some() && now.as_deref() != Some("")) {
                continue;
            }
            if RULE_KEYS.contains(&key) {
                fixed.rules.set(key, was);
            } else {
                fixed
                    .options
                    .insert(key.to_owned(), was.map_or(Value::Null, Value::String));
            }
        }
        if fixed != **current {
            catalog::save_row(tx, &fixed)?;
            repaired.push(fixed.name);
        }
    }
    Ok(repaired)
}

/// The system fields of `old` must all be in `new` (matched by id) under
/// their own names, the primary key still a text field. Runs on the
/// fields as submitted, before `defaults::complete`: it puts a missing
/// system field back by name, which would hide a rename (the old field
/// and the new one then sharing an id) or a swap (a client's field taking
/// the system field's id).
pub fn check_fields(old: &Collection, new: &Collection, errors: &mut ErrorTree) {
    if old.kind == CollectionKind::View || new.kind == CollectionKind::View {
        return; // a view's fields are its query's
    }
    for system in old.fields.iter().filter(|f| f.system) {
        let primary = matches!(
            system.kind,
            FieldKind::Text {
                primary_key: true,
                ..
            }
        );
        let problem = match new.field_by_id(&system.id) {
            Some(f) if primary && (f.name != system.name || !matches!(f.kind, FieldKind::Text { .. })) => {
                Some(missing_primary_key())
            }
            Some(f) if f.name != system.name => Some(field_change()),
            Some(_) => None,
            // Another field took its name (and would take its column).
            None if new.field(&system.name).is_some() => Some(field_change()),
            None if defaults::puts_back(new.kind, &system.name) => None,
            None => Some(field_change()),
        };
        if let Some(problem) = problem {
            errors.add(&["fields"], problem);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// An edit of a collection's fields as `GET` shows them.
    type Change = fn(&mut Vec<Value>);

    fn errors_of(old: &Collection, patch: Value) -> Value {
        let mut new = old.clone();
        new.apply_patch(patch.as_object().expect("an object"))
            .expect("readable");
        let mut errors = ErrorTree::new();
        check_fields(old, &new, &mut errors);
        check_rules(old, &new, &mut errors);
        Value::Object(errors.into_map())
    }

    fn fields_with(c: &Collection, change: impl FnOnce(&mut Vec<Value>)) -> Value {
        let mut fields: Vec<Value> = c.to_json()["fields"].as_array().expect("a list").clone();
        change(&mut fields);
        json!({ "fields": fields })
    }

    fn at<'a>(fields: &'a mut [Value], name: &str) -> &'a mut Value {
        fields.iter_mut().find(|f| f["name"] == name).expect("the field")
    }

    #[test]
    fn a_system_collection_keeps_its_rules_but_may_send_them_back() {
        let su = defaults::superusers();
        for key in ["listRule", "createRule", "authRule", "manageRule"] {
            let errors = errors_of(&su, json!({ key: "id != ''" }));
            assert_eq!(
                errors[key]["code"], "validation_collection_system_rule_change",
                "{key}: {errors}"
            );
        }
        assert_eq!(
            errors_of(&su, json!({"listRule": null, "authRule": ""})),
            json!({})
        );
        assert_eq!(errors_of(&su, su.to_json()), json!({}));
        assert_eq!(errors_of(&su, json!({"mfa": {"rule": "id != ''"}})), json!({}));
        let users = defaults::users();
        assert_eq!(
            errors_of(&users, json!({"listRule": "", "authRule": null})),
            json!({})
        );
    }

    #[test]
    fn opened_rules_are_put_back_and_nothing_else_changes() {
        let conn = Connection::open_in_memory().expect("db");
        conn.execute_batch(include_str!("../../migrations/data/0002_collections.sql"))
            .expect("the catalog table");
        let mut su = defaults::superusers();
        su.rules.create = Some(String::new());
        su.options.insert("manageRule".into(), json!(""));
        su.options["authToken"]["duration"] = json!(60);
        su.options.insert("authRule".into(), json!("verified = true"));
        let mut external = defaults::external_auths();
        external.rules.list = Some(String::new());
        external.rules.view = None;
        let mut users = defaults::users();
        users.rules.list = Some(String::new());
        for c in [&su, &users, &external] {
            catalog::save_row(&conn, c).expect("saved");
        }
        assert_eq!(
            restore_rules(&conn).expect("repaired"),
            ["_superusers", "_externalAuths"]
        );
        let after = Catalog::load(&conn, 0).expect("loaded");
        let su_after = after.get("_superusers").expect("there");
        assert_eq!(su_after.rules, defaults::superusers().rules);
        assert_eq!(su_after.options["manageRule"], Value::Null);
        assert_eq!(su_after.options["authRule"], "verified = true", "narrower: kept");
        assert_eq!(su_after.options["authToken"]["duration"], 60, "the rest kept");
        let external_after = after.get("_externalAuths").expect("there");
        assert_eq!(external_after.rules.list, defaults::external_auths().rules.list);
        assert_eq!(external_after.rules.view, None, "narrower: kept");
        assert_eq!(after.get("users").expect("there").rules.list.as_deref(), Some(""));
        assert!(restore_rules(&conn).expect("again").is_empty());

        // What was kept may be put back as made, and nothing else.
        let mut back = (**su_after).clone();
        back.apply_patch(json!({"authRule": ""}).as_object().expect("object"))
            .expect("readable");
        let mut errors = ErrorTree::new();
        check_rules(su_after, &back, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        back.apply_patch(json!({"authRule": "id != ''"}).as_object().expect("object"))
            .expect("readable");
        check_rules(su_after, &back, &mut errors);
        assert!(!errors.is_empty());
    }

    #[test]
    fn system_fields_are_neither_renamed_nor_deleted_nor_swapped() {
        let su = defaults::superusers();
        let cases: [(&str, Change, &str); 6] = [
            (
                "rename id",
                |f| at(f, "id")["name"] = json!("ident"),
                "validation_missing_primary_key",
            ),
            (
                "retype id",
                |f| at(f, "id")["type"] = json!("number"),
                "validation_missing_primary_key",
            ),
            (
                "swap id",
                |f| at(f, "id")["id"] = json!("other123"),
                "validation_system_field_change",
            ),
            (
                "rename email",
                |f| at(f, "email")["name"] = json!("mail"),
                "validation_system_field_change",
            ),
            (
                "swap password",
                |f| at(f, "password")["id"] = json!("p1"),
                "validation_system_field_change",
            ),
            (
                "delete created",
                |f| f.retain(|x| x["name"] != "created"),
                "validation_system_field_change",
            ),
        ];
        for (label, change, code) in cases {
            let errors = errors_of(&su, fields_with(&su, change));
            assert_eq!(errors["fields"]["code"], code, "{label}: {errors}");
        }
    }

    #[test]
    fn what_complete_puts_back_may_be_left_out() {
        let su = defaults::superusers();
        for name in ["id", "email", "password", "tokenKey", "verified"] {
            let errors = errors_of(&su, fields_with(&su, |f| f.retain(|x| x["name"] != name)));
            assert_eq!(errors, json!({}), "{name}");
        }
        let users = defaults::users();
        let errors = errors_of(
            &users,
            fields_with(&users, |f| f.retain(|x| x["name"] != "created")),
        );
        assert_eq!(errors, json!({}), "not a system field in users");
    }
}
