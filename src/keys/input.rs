//! What a superuser sends to create or change a key, checked field by
//! field into values the rest of `keys` can trust: every problem becomes
//! a field error (`scopes.0.actions.1`), all of them reported at once.

use std::sync::Arc;

use chrono::Utc;

use super::store::StoredScope;
use crate::{
    datetime,
    identity::KeyAction,
    schema::{Catalog, Collection, CollectionKind},
    settings::Network,
    validation::{ErrorTree, FieldError},
};

pub const MAX_NAME_LEN: usize = 100;
/// More than any real key needs; bounds what each request reads.
pub const MAX_SCOPES: usize = 200;
pub const MAX_ALLOWED_IPS: usize = 100;

/// The fields a create or an update may carry (`None`: not sent).
#[derive(Debug, Default, Clone)]
pub struct KeyInput {
    pub name: Option<String>,
    /// The bound record's auth collection (name or id); create only.
    pub collection: Option<String>,
    /// The bound record (id or email); create only.
    pub record: Option<String>,
    pub scopes: Option<Vec<ScopeInput>>,
    pub allowed_ips: Option<Vec<String>>,
    /// A datetime (PocketBase's form or RFC 3339), or empty for none.
    pub expires: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ScopeInput {
    /// Collection name or id.
    pub collection: String,
    pub actions: Vec<String>,
}

/// The auth collection (name or id) the key's record belongs to.
pub fn auth_collection(errors: &mut ErrorTree, catalog: &Catalog, raw: &str) -> Option<Arc<Collection>> {
    let raw = raw.trim();
    if raw.is_empty() {
        errors.add(&["collection"], FieldError::required());
        return None;
    }
    let found = catalog
        .get(raw)
        .filter(|c| c.kind == CollectionKind::Auth)
        .cloned();
    if found.is_none() {
        errors.add(
            &["collection"],
            FieldError::new(
                "validation_invalid_collection",
                "Must be the name or id of an auth collection.",
            ),
        );
    }
    found
}

pub fn name(errors: &mut ErrorTree, raw: &str) -> String {
    let name = raw.trim();
    if name.is_empty() {
        errors.add(&["name"], FieldError::required());
    } else if name.chars().count() > MAX_NAME_LEN {
        errors.add(
            &["name"],
            FieldError::new(
                "validation_length_out_of_range",
                format!("The length must be between 1 and {MAX_NAME_LEN}."),
            )
            .with_params(serde_json::json!({"min": 1, "max": MAX_NAME_LEN})),
        );
    }
    name.to_owned()
}

/// Scopes by collection id, their actions in a stable order.
pub fn scopes(errors: &mut ErrorTree, catalog: &Catalog, raw: &[ScopeInput]) -> Vec<StoredScope> {
    if raw.len() > MAX_SCOPES {
        errors.add(
            &["scopes"],
            FieldError::new(
                "validation_length_too_long",
                format!("The length must be no more than {MAX_SCOPES}."),
            ),
        );
        return Vec::new();
    }
    let mut out: Vec<StoredScope> = Vec::with_capacity(raw.len());
    for (i, scope) in raw.iter().enumerate() {
        let at = i.to_string();
        let collection = match catalog.get(scope.collection.trim()) {
            Some(c) => Some(c.id.clone()),
            None => {
                let error = if scope.collection.trim().is_empty() {
                    FieldError::required()
                } else {
                    FieldError::new("validation_invalid_collection", "Missing or invalid collection.")
                };
                errors.add(&["scopes", &at, "collection"], error);
                None
            }
        };
        let mut actions = Vec::with_capacity(scope.actions.len());
        if scope.actions.is_empty() {
            errors.add(&["scopes", &at, "actions"], FieldError::required());
        }
        for (j, a) in scope.actions.iter().enumerate() {
            match KeyAction::parse(a) {
                Some(action) => actions.push(action),
                None => errors.add(
                    &["scopes", &at, "actions", &j.to_string()],
                    FieldError::new(
                        "validation_invalid_action",
                        "Must be one of list, view, create, update, delete, realtime.",
                    ),
                ),
            }
        }
        actions.sort();
        actions.dedup();
        let Some(collection) = collection else {
            continue;
        };
        let actions: Vec<String> = actions.iter().map(|a| a.as_str().to_owned()).collect();
        // Two entries for one collection are one scope.
        match out.iter_mut().find(|s| s.collection == collection) {
            Some(existing) => {
                existing.actions.extend(actions);
                existing.actions.sort();
                existing.actions.dedup();
            }
            None => out.push(StoredScope { collection, actions }),
        }
    }
    out
}

pub fn allowed_ips(errors: &mut ErrorTree, raw: &[String]) -> Vec<String> {
    if raw.len() > MAX_ALLOWED_IPS {
        errors.add(
            &["allowedIps"],
            FieldError::new(
                "validation_length_too_long",
                format!("The length must be no more than {MAX_ALLOWED_IPS}."),
            ),
        );
        return Vec::new();
    }
    let mut out = Vec::with_capacity(raw.len());
    for (i, entry) in raw.iter().enumerate() {
        match entry.parse::<Network>() {
            Ok(net) => out.push(net.compact()),
            Err(_) => errors.add(
                &["allowedIps", &i.to_string()],
                FieldError::new(
                    "validation_invalid_ip",
                    "Must be an IP address or a CIDR network (10.0.0.0/8).",
                ),
            ),
        }
    }
    out.dedup();
    out
}

/// The expiry in `datetime` form; empty for none. It must be in the
/// future: a key that is born expired is a mistake, said now.
pub fn expires(errors: &mut ErrorTree, raw: &str) -> String {
    let raw = raw.trim();
    if raw.is_empty() {
        return String::new();
    }
    let parsed = datetime::parse(raw);
    match parsed {
        None => {
            errors.add(
                &["expires"],
                FieldError::new(
                    "validation_invalid_datetime",
                    "Must be a valid datetime (2006-01-02 15:04:05.000Z).",
                ),
            );
            String::new()
        }
        Some(t) if t <= Utc::now() => {
            errors.add(
                &["expires"],
                FieldError::new("validation_date_in_past", "Must be a date in the future."),
            );
            String::new()
        }
        Some(t) => datetime::format(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlist_entries_parse_or_are_refused() {
        let mut errors = ErrorTree::new();
        let ok = allowed_ips(
            &mut errors,
            &[
                "127.0.0.1".into(),
                " 10.1.2.3/8 ".into(),
                "::1".into(),
                "fd00::/8".into(),
            ],
        );
        assert!(errors.is_empty());
        assert_eq!(ok, ["127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"]);
        let mut errors = ErrorTree::new();
        allowed_ips(&mut errors, &["10.0.0.0/33".into(), "nope".into(), "".into()]);
        let map = errors.into_map();
        let list = map["allowedIps"].as_object().expect("nested");
        assert_eq!(list.len(), 3);
        assert_eq!(list["0"]["code"], "validation_invalid_ip");
    }

    #[test]
    fn expiry_must_parse_and_lie_ahead() {
        let mut errors = ErrorTree::new();
        assert_eq!(
            expires(&mut errors, "2999-01-02 03:04:05.000Z"),
            "2999-01-02 03:04:05.000Z"
        );
        assert_eq!(
            expires(&mut errors, "2999-01-02T03:04:05+01:00"),
            "2999-01-02 02:04:05.000Z"
        );
        assert_eq!(expires(&mut errors, ""), "");
        assert!(errors.is_empty());
        expires(&mut errors, "2001-01-01 00:00:00.000Z");
        assert_eq!(errors.into_map()["expires"]["code"], "validation_date_in_past");
        let mut errors = ErrorTree::new();
        expires(&mut errors, "tomorrow");
        assert_eq!(
            errors.into_map()["expires"]["code"],
            "validation_invalid_datetime"
        );
    }
}
