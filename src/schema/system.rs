//! What no change may do to what the server itself relies on: the API
//! rules of a system collection (`_superusers`, `_externalAuths`).
//!
//! As PocketBase 0.40.6 answers, observed against its binary: a changed
//! rule of a system collection is `validation_collection_system_rule_change`
//! under that rule's key (`null` sent back for a `null` rule is no
//! change). Without this, `_superusers {"createRule": ""}` let anyone
//! make themselves a superuser.

use super::{
    auth_options,
    collection::{Collection, CollectionKind, RULE_KEYS},
};
use crate::validation::{ErrorTree, FieldError};

fn rule_change() -> FieldError {
    FieldError::new(
        "validation_collection_system_rule_change",
        "The API rules of a system collection cannot be changed.",
    )
}

/// A system collection keeps the API rules it was made with, the auth
/// collection's `authRule` and `manageRule` included (`mfa.rule` is not an
/// access rule: PocketBase lets it change).
pub fn check_rules(old: &Collection, new: &Collection, errors: &mut ErrorTree) {
    if !old.system {
        return;
    }
    for key in RULE_KEYS {
        if old.rules.get(key) != new.rules.get(key) {
            errors.add(&[key], rule_change());
        }
    }
    if old.kind == CollectionKind::Auth {
        for key in ["authRule", "manageRule"] {
            if auth_options::access_rule(&old.options, key) != auth_options::access_rule(&new.options, key) {
                errors.add(&[key], rule_change());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{super::defaults, *};

    fn errors_of(old: &Collection, patch: Value) -> Value {
        let mut new = old.clone();
        new.apply_patch(patch.as_object().expect("an object"))
            .expect("readable");
        let mut errors = ErrorTree::new();
        check_rules(old, &new, &mut errors);
        Value::Object(errors.into_map())
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
}
