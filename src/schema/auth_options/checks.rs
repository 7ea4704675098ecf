//! The checks on an auth collection's options when it is saved, with
//! PocketBase 0.40's codes, bounds and paths (observed against its binary:
//! `PATCH /api/collections/users` with each bad value). Before these, a
//! negative lifetime or an identity field without a unique index was
//! stored as sent, and the typed reading quietly fell back to defaults, so
//! what the dashboard showed was not what the server did.
//!
//! Only what the request or the stored collection holds is checked; a
//! missing group is filled with defaults by the typed reading, as before.
//! The OAuth2 providers (`oauth2.rs`) and the token secrets (`tokens.rs`)
//! have their own checks; Cairn's `sessions` group is checked here too
//! (`validate_sessions`). `authRule`, `manageRule` and `mfa.rule` are
//! compiled with the other rules (`schema::validate`, which reads them
//! through `auth_options::rules`).

use serde_json::{Map, Value, json};

use super::{TokenKind, group};
use crate::schema::{Collection, index::has_unique_index};
use crate::validation::{ErrorTree, FieldError};

/// PocketBase's bounds, in seconds: token lifetimes up to three years,
/// OTP and MFA windows up to a day.
const TOKEN_MAX: i64 = 94_670_856;
const WINDOW_MAX: i64 = 86_400;
const DURATION_MIN: i64 = 10;
const OTP_LENGTH_MIN: i64 = 4;

pub fn validate_auth_options(new: &Collection, errors: &mut ErrorTree) {
    let o = &new.options;
    // `null` gives no one the power to manage accounts; `""` would give it
    // to every signed-in account of any collection, so it is refused, as
    // PocketBase refuses it.
    if o.get("manageRule")
        .and_then(Value::as_str)
        .is_some_and(|rule| rule.trim().is_empty())
    {
        errors.add(
            &["manageRule"],
            FieldError::new("validation_nil_or_not_empty_required", "Cannot be blank."),
        );
    }
    for kind in TokenKind::ALL {
        let key = kind.option_key();
        if let Some(g) = group(Some(o), key) {
            bounded(g, "duration", DURATION_MIN, TOKEN_MAX, &[key, "duration"], errors);
        }
    }
    if let Some(otp) = group(Some(o), "otp") {
        if enabled(otp) {
            bounded(
                otp,
                "duration",
                DURATION_MIN,
                WINDOW_MAX,
                &["otp", "duration"],
                errors,
            );
            bounded(
                otp,
                "length",
                OTP_LENGTH_MIN,
                i64::MAX,
                &["otp", "length"],
                errors,
            );
        }
        template(otp.get("emailTemplate"), &["otp", "emailTemplate"], errors);
    }
    if let Some(mfa) = group(Some(o), "mfa").filter(|m| enabled(m)) {
        bounded(
            mfa,
            "duration",
            DURATION_MIN,
            WINDOW_MAX,
            &["mfa", "duration"],
            errors,
        );
    }
    if let Some(alert) = group(Some(o), "authAlert") {
        template(
            alert.get("emailTemplate"),
            &["authAlert", "emailTemplate"],
            errors,
        );
    }
    for key in [
        "verificationTemplate",
        "resetPasswordTemplate",
        "confirmEmailChangeTemplate",
    ] {
        template(o.get(key), &[key], errors);
    }
    if let Some(password) = group(Some(o), "passwordAuth").filter(|p| enabled(p)) {
        identity_fields(new, password, errors);
    }
}

/// Cairn's `sessions` option: a flag and two lifetimes, each from a
/// minute to ten years.
pub fn validate_sessions(options: &Map<String, Value>, errors: &mut ErrorTree) {
    let Some(sessions) = options.get("sessions") else {
        return;
    };
    let Some(map) = sessions.as_object() else {
        errors.add(
            &["sessions"],
            FieldError::new("validation_invalid_value", "Must be an object."),
        );
        return;
    };
    if map.get("cookie").is_some_and(|v| !v.is_boolean()) {
        errors.add(
            &["sessions", "cookie"],
            FieldError::new("validation_invalid_value", "Must be true or false."),
        );
    }
    const MIN: u64 = 60;
    const MAX: u64 = 10 * 365 * 86_400;
    for key in ["accessTokenDuration", "refreshTokenDuration"] {
        if map
            .get(key)
            .is_some_and(|v| v.as_u64().is_none_or(|n| !(MIN..=MAX).contains(&n)))
        {
            errors.add(
                &["sessions", key],
                FieldError::new(
                    "validation_min_greater_equal_than_required",
                    format!("Must be a whole number of seconds from {MIN} to {MAX}."),
                )
                .with_params(json!({"min": MIN, "max": MAX})),
            );
        }
    }
}

fn enabled(g: &Map<String, Value>) -> bool {
    g.get("enabled").and_then(Value::as_bool).unwrap_or(false)
}

/// A whole number of seconds (or digits) in `min..=max`; `0` or absent
/// from a group that has the key is blank, as PocketBase has it.
fn bounded(g: &Map<String, Value>, key: &str, min: i64, max: i64, path: &[&str], errors: &mut ErrorTree) {
    let Some(raw) = g.get(key) else {
        return;
    };
    let problem = match raw.as_i64() {
        None if raw.is_null() => Some(FieldError::required()),
        None => Some(FieldError::new(
            "validation_invalid_value",
            "Must be a whole number.",
        )),
        Some(0) => Some(FieldError::required()),
        Some(n) if n < min => Some(
            FieldError::new(
                "validation_min_greater_equal_than_required",
                format!("Must be no less than {min}."),
            )
            .with_params(json!({"threshold": min})),
        ),
        Some(n) if n > max => Some(
            FieldError::new(
                "validation_max_less_equal_than_required",
                format!("Must be no greater than {max}."),
            )
            .with_params(json!({"threshold": max})),
        ),
        Some(_) => None,
    };
    if let Some(p) = problem {
        errors.add(path, p);
    }
}

/// A mail template needs both a subject and a body.
fn template(raw: Option<&Value>, path: &[&str], errors: &mut ErrorTree) {
    let Some(raw) = raw else {
        return;
    };
    let empty = Map::new();
    let t = raw.as_object().unwrap_or(&empty);
    for key in ["subject", "body"] {
        if t.get(key).and_then(Value::as_str).is_none_or(str::is_empty) {
            let mut at = path.to_vec();
            at.push(key);
            errors.add(&at, FieldError::required());
        }
    }
}

/// Sign-in looks an identity up in each field: each must exist and be
/// unique on its own (one-column UNIQUE index), or two accounts could
/// answer to the same identity. The first problem is reported, on the list.
fn identity_fields(new: &Collection, password: &Map<String, Value>, errors: &mut ErrorTree) {
    let path = ["passwordAuth", "identityFields"];
    let names: Vec<&str> = password
        .get("identityFields")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if names.is_empty() {
        errors.add(&path, FieldError::required());
        return;
    }
    for name in names {
        if !new.fields.iter().any(|f| f.name == name) {
            errors.add(
                &path,
                FieldError::new(
                    "validation_missing_field",
                    format!("Invalid or missing field {name}."),
                )
                .with_params(json!({"fieldName": name})),
            );
            return;
        }
        if !has_unique_index(&new.indexes, name) {
            errors.add(
                &path,
                FieldError::new(
                    "validation_missing_unique_constraint",
                    format!("The field {name} doesn't have a UNIQUE constraint."),
                )
                .with_params(json!({"fieldName": name})),
            );
            return;
        }
    }
}
