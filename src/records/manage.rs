//! `manageRule` of auth collections: the accounts it matches may manage
//! other accounts of the collection as a superuser would (set their email,
//! verified state and password without the old password), as PocketBase.
//! `null` (the default) gives no one this power.

use std::sync::Arc;

use super::{
    access::{Access, Requester},
    deps::RecordsDeps,
    service::{RecordError, matches_rule, rule_conditions},
};
use crate::{
    schema::{Collection, CollectionKind},
    store::StoreError,
};

/// The `manageRule` of an auth collection as an access rule; `None` when
/// it has none (`null`: no one manages).
fn manage_access(c: &Collection) -> Option<Access> {
    if c.kind != CollectionKind::Auth {
        return None;
    }
    let expr = c.auth()?.manage_rule.as_deref()?;
    Some(if expr.is_empty() {
        Access::All
    } else {
        Access::Rule(expr.to_owned())
    })
}

/// Whether the requester may manage record `id` of `c`.
pub async fn may_manage(
    deps: &RecordsDeps<'_>,
    requester: &Requester,
    c: &Arc<Collection>,
    id: &str,
) -> Result<bool, RecordError> {
    if requester.caller.is_superuser() {
        return Ok(true);
    }
    let Some(access) = manage_access(c).filter(|_| requester.caller.record_id().is_some()) else {
        return Ok(false);
    };
    let Some(conditions) = rule_conditions(&deps.schema.catalog(), c, requester, &access)? else {
        return Ok(true);
    };
    let (c, id) = (c.clone(), id.to_owned());
    Ok(deps
        .db
        .read(move |conn| matches_rule(conn, &c, &id, &conditions).map_err(StoreError::from))
        .await?)
}

/// Of `candidates` (collection id, record id), the accounts whose
/// collection's `manageRule` lets the requester manage them. Runs on an
/// open connection; collections without a `manageRule` cost nothing.
pub fn managed_among(
    conn: &rusqlite::Connection,
    catalog: &crate::schema::Catalog,
    requester: &Requester,
    candidates: &[(String, String)],
) -> Result<Vec<(String, String)>, RecordError> {
    let mut out = Vec::new();
    if requester.caller.record_id().is_none() {
        return Ok(out);
    }
    let mut by_collection: Vec<&str> = candidates.iter().map(|(cid, _)| cid.as_str()).collect();
    by_collection.sort_unstable();
    by_collection.dedup();
    for cid in by_collection {
        let Some((c, access)) = catalog.by_id(cid).and_then(|c| Some((c, manage_access(c)?))) else {
            continue;
        };
        let conditions = rule_conditions(catalog, c, requester, &access)?;
        for (_, id) in candidates.iter().filter(|(x, _)| x == cid) {
            let allowed = match &conditions {
                None => true,
                Some(conditions) => matches_rule(conn, c, id, conditions)?,
            };
            if allowed {
                out.push((cid.to_owned(), id.clone()));
            }
        }
    }
    Ok(out)
}

/// Whether `c` has a `manageRule` at all.
pub fn has_manage_rule(c: &Collection) -> bool {
    manage_access(c).is_some()
}

/// Whether any of `candidates`' collections has a `manageRule` at all.
pub fn any_manage_rule(catalog: &crate::schema::Catalog, candidates: &[(String, String)]) -> bool {
    candidates
        .iter()
        .any(|(cid, _)| catalog.by_id(cid).is_some_and(|c| has_manage_rule(c)))
}
