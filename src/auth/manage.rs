//! `manageRule` of auth collections: the accounts it matches may manage
//! other accounts of the collection as a superuser would (set their email,
//! verified state and password without the old password), as PocketBase.
//! `null` (the default) gives no one this power.

use std::sync::Arc;

use serde_json::Value;

use crate::{
    app::AppState,
    records::{
        access::{Access, Requester},
        service::{RecordError, matches_rule, rule_conditions},
    },
    schema::{Collection, CollectionKind},
    store::StoreError,
};

/// Whether the requester may manage record `id` of `c`.
pub async fn may_manage(
    state: &AppState,
    requester: &Requester,
    c: &Arc<Collection>,
    id: &str,
) -> Result<bool, RecordError> {
    if requester.caller.is_superuser() {
        return Ok(true);
    }
    if c.kind != CollectionKind::Auth || requester.caller.record_id().is_none() {
        return Ok(false);
    }
    let Some(expr) = c.options.get("manageRule").and_then(Value::as_str).map(str::trim) else {
        return Ok(false);
    };
    let access = if expr.is_empty() {
        Access::All
    } else {
        Access::Rule(expr.to_owned())
    };
    let Some(conditions) = rule_conditions(&state.schema.catalog(), c, requester, &access)? else {
        return Ok(true);
    };
    let (c, id) = (c.clone(), id.to_owned());
    Ok(state
        .store
        .data
        .read(move |conn| matches_rule(conn, &c, &id, &conditions).map_err(StoreError::from))
        .await?)
}
