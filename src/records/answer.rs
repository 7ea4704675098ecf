//! Records as the API answers them: expanded and trimmed as `expand` and
//! `fields` ask, hidden fields added for superusers (`reveal`), emails
//! hidden from those who may not see them, and
//! serialized. Unless `fields` trims them (or a `manageRule` must be
//! consulted about an email), lists and views are written straight from
//! rows to response bytes by `shape::RecordWriter`, their expansions too
//! (`expand::write`), with no map in between: a 50-record list spent most
//! of its time building and dropping those maps.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{
    RecordId,
    access::Requester,
    deps::RecordsDeps,
    expand::ExpandTree,
    list::{self, Items, ListQuery},
    service::{self, RecordError},
    shape,
};
use crate::{fields_param::FieldsTree, schema::Collection};

/// The answer to a list request: the page envelope around its records.
pub async fn list(
    deps: &RecordsDeps<'_>,
    requester: &Requester,
    c: &Arc<Collection>,
    query: ListQuery,
    expand: &ExpandTree,
    fields: Option<&FieldsTree>,
) -> Result<Vec<u8>, RecordError> {
    let direct = direct(deps, c, requester, expand, fields);
    let paging = query.paging;
    let (total, items) = list::select(deps, requester, c.clone(), query, direct).await?;
    let items = match items {
        Items::Json(items) => items,
        Items::Records(records) => {
            let items = shape_output(deps, requester, c, records, expand, fields).await?;
            serde_json::to_vec(&items)?
        }
    };
    Ok(paging.envelope_json(total, &items))
}

/// The answer to a view request: one record.
pub async fn view(
    deps: &RecordsDeps<'_>,
    requester: &Requester,
    c: &Arc<Collection>,
    id: &RecordId,
    expand: &ExpandTree,
    fields: Option<&FieldsTree>,
) -> Result<Vec<u8>, RecordError> {
    let catalog = deps.schema.catalog();
    let (read_as, tree, trimmed) = (requester.clone(), expand.clone(), fields.is_some());
    // The collection is known only once the view is authorized, so the
    // choice between bytes and a map is made with the row in hand.
    let read = service::view_with(deps, requester, c.clone(), id, move |conn, c, id| {
        if trimmed || !super::expand::writes_final(&catalog, c, &tree, &read_as.caller) {
            return Ok(service::read_shaped(conn, c, id)?.map(|r| Items::Records(vec![r])));
        }
        let mut out = Vec::with_capacity(512);
        let found = service::rows_by_id(conn, c, id, |rows| {
            super::expand::write_rows(conn, &catalog, &read_as, c, rows, &tree, &mut out)
        })?;
        Ok((found > 0).then_some(Items::Json(out)))
    })
    .await?;
    match read {
        Items::Json(bytes) => Ok(bytes),
        Items::Records(mut records) => {
            let record = records.pop().unwrap_or_default();
            Ok(serde_json::to_vec(
                &one(deps, requester, c, record, expand, fields).await?,
            )?)
        }
    }
}

/// The expand tree to write a list's records straight from rows with, or
/// `None` when they must go through maps: `fields` trims them, or a
/// `manageRule` must be consulted about emails (`expand::writes_final`).
fn direct(
    deps: &RecordsDeps<'_>,
    c: &Collection,
    requester: &Requester,
    expand: &ExpandTree,
    fields: Option<&FieldsTree>,
) -> Option<ExpandTree> {
    (fields.is_none() && super::expand::writes_final(&deps.schema.catalog(), c, expand, &requester.caller))
        .then(|| expand.clone())
}

/// One record already read (a view, a create, an update), shaped.
pub async fn one(
    deps: &RecordsDeps<'_>,
    requester: &Requester,
    c: &Arc<Collection>,
    record: Map<String, Value>,
    expand: &ExpandTree,
    fields: Option<&FieldsTree>,
) -> Result<Value, RecordError> {
    let mut shaped = shape_output(deps, requester, c, vec![record], expand, fields).await?;
    Ok(shaped.pop().unwrap_or(Value::Null))
}

/// Applies `expand` and then `fields` to records of collection `c`.
pub async fn shape_output(
    deps: &RecordsDeps<'_>,
    requester: &Requester,
    c: &Arc<Collection>,
    mut records: Vec<Map<String, Value>>,
    expand: &ExpandTree,
    fields: Option<&FieldsTree>,
) -> Result<Vec<Value>, RecordError> {
    // Superusers' records get their hidden fields (`reveal`) in the read
    // that expands them; others' need no read unless they are expanded.
    if (!expand.is_empty() || requester.caller.is_superuser()) && !records.is_empty() {
        let c = c.clone();
        let catalog = deps.schema.catalog();
        let (requester, expand) = (requester.clone(), expand.clone());
        records = deps
            .db
            .read(move |conn| {
                super::reveal::fill(conn, &c, &requester.caller, &mut records)?;
                super::expand::apply(conn, &catalog, &requester, &c, &mut records, &expand)?;
                Ok::<_, RecordError>(records)
            })
            .await?;
    }
    let mut out: Vec<Value> = records.into_iter().map(Value::Object).collect();
    let catalog = deps.schema.catalog();
    let mut hidden = Vec::new();
    out.iter_mut()
        .for_each(|v| shape::hidden_email_records(v, &catalog, &requester.caller, &mut hidden));
    let managed =
        if super::manage::any_manage_rule(&catalog, &hidden) && requester.caller.record_id().is_some() {
            let (catalog, requester) = (catalog.clone(), requester.clone());
            deps.db
                .read(move |conn| super::manage::managed_among(conn, &catalog, &requester, &hidden))
                .await?
        } else {
            Vec::new()
        };
    out.iter_mut()
        .for_each(|v| shape::hide_private_emails(v, &catalog, &requester.caller, &managed));
    if let Some(fields) = fields {
        out.iter_mut().for_each(|v| fields.apply(v));
    }
    Ok(out)
}
