//! Whether a caller may perform an action under a collection rule.
//!
//! `null` locks the action to superusers and `""` opens it to everyone,
//! as in PocketBase. An expression rule filters rows; until the query
//! language lands, an expression is evaluated as matching no row for
//! anyone but superusers: the safe reading, which never shows or changes
//! what the rule might deny.

use crate::auth::caller::Caller;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Every row the action touches is allowed.
    All,
    /// The rule is an expression the caller's rows must match.
    Filtered,
    /// Only superusers may do this at all.
    SuperusersOnly,
}

pub fn decide(caller: &Caller, rule: &Option<String>) -> Access {
    if caller.is_superuser() {
        return Access::All;
    }
    match rule.as_deref().map(str::trim) {
        None => Access::SuperusersOnly,
        Some("") => Access::All,
        Some(_) => Access::Filtered,
    }
}
