//! The account side of a write to an auth collection: the address and
//! verified state only a manager changes directly, the old password a
//! password change needs, and the `tokenKey` that changes with the
//! password or the address (revoking every earlier token).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{TOKEN_KEY_LEN, WritePlan};
use crate::{
    records::{
        deps::RecordsDeps,
        service::{RecordError, Values, read_values},
        values,
    },
    schema::{Collection, CollectionKind, field::FieldKind},
    validation::{ErrorTree, FieldError},
};

/// Checks `oldPassword` against the stored hash, before the transaction
/// (verifying is slow; the writer must not wait on it).
pub(super) async fn old_password_matches(
    deps: &RecordsDeps<'_>,
    c: &Arc<Collection>,
    id: &str,
    body: &Map<String, Value>,
) -> Result<bool, RecordError> {
    let old = body
        .get("oldPassword")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if old.is_empty() {
        return Ok(false);
    }
    let (c2, id2) = (c.clone(), id.to_owned());
    let stored = deps
        .db
        .read(move |conn| read_values(conn, &c2, &id2).map_err(RecordError::from))
        .await?
        .and_then(|v| v.get("password").and_then(Value::as_str).map(str::to_owned));
    match stored {
        Some(hash) => Ok(deps.hasher.verify(old, hash).await?),
        None => Ok(false),
    }
}

impl WritePlan {
    /// An account's email and verified state change only through their
    /// own flows (or a manager), and a new account starts unverified;
    /// PocketBase answers a direct change so, rather than dropping it.
    pub(super) fn guard_account_fields(&self, before: &Values, creating: bool, errors: &mut ErrorTree) {
        if self.c.kind != CollectionKind::Auth || self.manager {
            return;
        }
        let guarded: &[&str] = if creating {
            &["verified"]
        } else {
            &["email", "verified"]
        };
        for &key in guarded {
            if let (Some(given), Some(f)) = (self.body.get(key), self.c.field(key))
                && values::normalize(f, given) != before.get(key).cloned().unwrap_or_else(|| values::zero(f))
            {
                errors.add(&[key], FieldError::values_mismatch());
            }
        }
    }

    /// Stores the prepared hashes; on an auth collection checks
    /// `passwordConfirm` (and `oldPassword` for a non-manager's change)
    /// and, when the password or the email changes, issues a new
    /// `tokenKey`, which revokes every earlier token (as PocketBase: a
    /// token must not outlive the address it was issued to). A key a
    /// superuser sets explicitly is kept.
    pub(super) fn set_passwords(
        &self,
        values: &mut Values,
        before: &Values,
        creating: bool,
        errors: &mut ErrorTree,
    ) {
        let body = &self.body;
        for f in self
            .c
            .fields
            .iter()
            .filter(|f| matches!(f.kind, FieldKind::Password { .. }))
        {
            if creating && f.kind.is_required() && body.get(&f.name).is_none() {
                errors.add(&[&f.name], FieldError::required());
            }
        }
        for (name, hash) in &self.hashed {
            values.insert(name.clone(), Value::String(hash.clone()));
        }
        if self.c.kind != CollectionKind::Auth {
            return;
        }
        let text = |key| {
            body.get(key)
                .map(crate::schema::field::as_text)
                .unwrap_or_default()
        };
        let (given, confirm) = (text("password"), text("passwordConfirm"));
        let changing = !given.is_empty();
        if creating && confirm.is_empty() {
            errors.add(&["passwordConfirm"], FieldError::required());
        } else if (creating || changing) && given != confirm {
            errors.add(&["passwordConfirm"], FieldError::values_mismatch());
        }
        if !creating && changing && !self.manager {
            let old_given = body
                .get("oldPassword")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty());
            if !old_given {
                errors.add(&["oldPassword"], FieldError::required());
            } else if self.old_password_ok != Some(true) {
                errors.add(
                    &["oldPassword"],
                    FieldError::new(
                        "validation_invalid_old_password",
                        "Missing or invalid old password.",
                    ),
                );
            }
        }
        let email_changed = !creating && values.get("email") != before.get("email");
        let key_given = self.body.contains_key("tokenKey");
        if (changing || email_changed) && !key_given {
            values.insert(
                "tokenKey".into(),
                json!(crate::random::alphanumeric(TOKEN_KEY_LEN)),
            );
        }
    }
}
