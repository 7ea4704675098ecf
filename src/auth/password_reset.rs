//! Confirming a password reset: the mailed token and a new password,
//! which sets the password and a new token key (every session ends). The
//! request that mails the token is with the other flows (`flows`).

use std::sync::Arc;

use serde_json::json;

use super::{
    account::{self, Change},
    deps::AuthDeps,
    flows::{FlowError, token_account},
    token::Purpose,
};
use crate::{
    identity::password,
    schema::{
        Collection,
        field::{Field, FieldKind},
    },
    validation::{FieldError, FieldErrors},
};

pub struct NewPassword {
    pub token: String,
    pub password: String,
    pub password_confirm: String,
}

/// The upper bound PocketBase's reset form puts on a new password, before
/// the password field's own options (which cap it lower) are checked.
const RESET_FORM_MAX_LEN: usize = 255;

/// Sets the new password and a new token key (every session ends); the
/// account also counts as verified, since the reset mail reached it.
///
/// Checked in PocketBase's two steps. First the form, every field at once
/// (a bad token and a bad password are both named): the token, the
/// password's length between the password field's `min` and 255, the
/// confirmation. Then the new password against the collection's password
/// field, its `min`, `max` (71 at most: bcrypt's bound, kept so the same
/// passwords are valid on both) and `pattern`, as a record save checks it;
/// so a collection that asks for longer passwords gets them here too.
pub async fn confirm_password_reset(
    auth: &AuthDeps<'_>,
    c: Arc<Collection>,
    input: NewPassword,
) -> Result<(), FlowError> {
    let mut errors = FieldErrors::new();
    let mut found = None;
    if input.token.is_empty() {
        errors.insert("token".into(), FieldError::required());
    } else {
        match token_account(auth, &c, Purpose::PasswordReset, &input.token).await {
            Ok((account, _)) => found = Some(account),
            Err(FlowError::Invalid(token_errors)) => errors.extend(token_errors),
            Err(other) => return Err(other),
        }
    }
    let field = c.field("password");
    let min = match field.map(|f| &f.kind) {
        Some(FieldKind::Password { min, .. }) if *min > 0 => usize::try_from(*min).unwrap_or(usize::MAX),
        _ => 1,
    };
    let len = input.password.chars().count();
    if input.password.is_empty() {
        errors.insert("password".into(), FieldError::required());
    } else if !(min..=RESET_FORM_MAX_LEN).contains(&len) {
        let bounds = FieldError::new(
            "validation_length_out_of_range",
            format!("The length must be between {min} and {RESET_FORM_MAX_LEN}."),
        )
        .with_params(json!({"min": min, "max": RESET_FORM_MAX_LEN}));
        errors.insert("password".into(), bounds);
    }
    if input.password_confirm.is_empty() {
        errors.insert("passwordConfirm".into(), FieldError::required());
    } else if input.password_confirm != input.password {
        errors.insert("passwordConfirm".into(), FieldError::values_mismatch());
    }
    let Some(account) = found.filter(|_| errors.is_empty()) else {
        return Err(FlowError::Invalid(errors));
    };
    if let Some(refused) = refused_password(field, &input.password) {
        return Err(FlowError::NotSet(FieldErrors::from([(
            "password".to_owned(),
            refused,
        )])));
    }
    let hash = auth.hasher.hash(input.password).await?;
    let reset = Change {
        password_hash: Some(hash),
        verified: Some(true),
        rotate_token_key: true,
        ..Change::default()
    };
    account::change(auth, c, &account.id, reset).await?;
    Ok(())
}

/// Why the collection's password field refuses `password`, if it does:
/// as a record save checks it (its `max`, 71 at most and where it sets
/// none, then its `min` and `pattern`), worded as PocketBase's password
/// field words them.
fn refused_password(field: Option<&Field>, password: &str) -> Option<FieldError> {
    match field {
        Some(field) => crate::records::values::check(field, &json!(password)),
        None => password::check_policy(password).err(),
    }
}
