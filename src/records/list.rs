//! Listing records: the collection's list rule and the client's filter as
//! one set of conditions, sort (through relation paths too), paging, and
//! the `expand`/`fields` shaping every record response shares.

use rusqlite::{params_from_iter, types::Value as Sql};
use serde_json::{Map, Value};

use super::{
    access::{Access, Conditions, Requester, decide},
    service::{RecordError, collection},
    shape,
};
use crate::{
    app::AppState,
    http::error::ApiError,
    query::{
        Paging, SortKey,
        compile::{CompileError, Scope, sort_expression},
    },
    schema::{Collection, CollectionKind, sync::quote},
};

/// A parsed list request.
pub struct ListQuery {
    pub paging: Paging,
    pub sort: Vec<SortKey>,
    /// The client's own filter expression, if any.
    pub filter: Option<String>,
}

/// Applies `expand` and then `fields` to records of collection `name`.
pub async fn shape_output(
    state: &AppState,
    requester: &Requester,
    name: &str,
    mut records: Vec<Map<String, Value>>,
    expand: &super::expand::ExpandTree,
    fields: Option<&super::fields::FieldsTree>,
) -> Result<Vec<Value>, RecordError> {
    if !expand.is_empty() && !records.is_empty() {
        let c = collection(state, name)?;
        let catalog = state.schema.catalog();
        let (requester, expand) = (requester.clone(), expand.clone());
        records = state
            .store
            .data
            .read(move |conn| {
                super::expand::apply(conn, &catalog, &requester, &c, &mut records, &expand)?;
                Ok::<_, RecordError>(records)
            })
            .await?;
    }
    let mut out: Vec<Value> = records.into_iter().map(Value::Object).collect();
    let catalog = state.schema.catalog();
    let mut hidden = Vec::new();
    out.iter_mut()
        .for_each(|v| shape::hidden_email_records(v, &catalog, &requester.caller, &mut hidden));
    let managed = if crate::auth::manage::any_manage_rule(&catalog, &hidden)
        && requester.caller.record_id().is_some()
    {
        let (catalog, requester) = (catalog.clone(), requester.clone());
        state
            .store
            .data
            .read(move |conn| crate::auth::manage::managed_among(conn, &catalog, &requester, &hidden))
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

/// Whether `sort` may name this key on `c` (a path is checked when the
/// list query is compiled).
pub fn sortable(c: &Collection, key: &str) -> bool {
    key == "@random" || (key == "@rowid" && c.kind != CollectionKind::View) || !key.starts_with('@')
}

/// One page of records: the items and, unless skipped, the total.
pub struct Page {
    pub paging: Paging,
    pub total: Option<u64>,
    pub items: Vec<Map<String, Value>>,
}

pub async fn list(
    state: &AppState,
    requester: &Requester,
    name: &str,
    query: ListQuery,
) -> Result<Page, RecordError> {
    let c = collection(state, name)?;
    let catalog = state.schema.catalog();
    // Paging takes ?1 and ?2; the rule and the filter follow. The count
    // query binds the same conditions (it simply does not use ?1 and ?2).
    let mut conditions = Conditions::default();
    conditions.params.extend([Sql::Integer(0), Sql::Integer(0)]);
    match decide(&requester.caller, &c.rules.list) {
        Access::SuperusersOnly => return Err(RecordError::SuperusersOnly),
        Access::Rule(expr) => conditions.add_expression(&catalog, &c, requester, &expr, true)?,
        Access::All => {}
    }
    if let Some(filter) = query.filter.as_deref() {
        conditions.add_expression(&catalog, &c, requester, filter, false)?;
    }
    let scope = Scope {
        collection: &c,
        catalog: Some(&catalog),
        request: &requester.info,
        trusted: requester.caller.is_superuser(),
    };
    let mut order = Vec::new();
    for k in &query.sort {
        let dir = if k.descending { "DESC" } else { "ASC" };
        order.push(match k.field.as_str() {
            "@random" => "RANDOM()".to_owned(),
            "@rowid" => format!("_rowid_ {dir}"),
            f => {
                let expr = sort_expression(&scope, f).map_err(|e| match e {
                    CompileError::Invalid(m) => {
                        RecordError::BadFilter(ApiError::bad_request(format!("Invalid sort: {m}.")))
                    }
                    CompileError::Forbidden(m) => {
                        RecordError::BadFilter(ApiError::new(poem::http::StatusCode::FORBIDDEN, m))
                    }
                })?;
                format!("{expr} {dir}")
            }
        });
    }
    let order: Vec<String> = order
        .into_iter()
        // Insertion order last, so pages are stable; views have no rowid.
        .chain((c.kind != CollectionKind::View).then(|| "_rowid_ ASC".to_owned()))
        .collect();
    let paging = query.paging;
    conditions.params[0] = Sql::Integer(paging.per_page as i64);
    conditions.params[1] = Sql::Integer(paging.offset() as i64);
    state
        .store
        .data
        .read(move |conn| {
            let order_by = if order.is_empty() {
                String::new()
            } else {
                format!(" ORDER BY {}", order.join(", "))
            };
            let table = quote(&c.name);
            let filter = conditions.where_sql();
            let sql = format!(
                "SELECT {} FROM {table}{filter}{order_by} LIMIT ?1 OFFSET ?2",
                shape::select_list(&c),
            );
            let items = conn
                .prepare_cached(&sql)?
                .query_map(params_from_iter(conditions.params.iter()), |row| {
                    shape::row_to_json(&c, row)
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let total = if paging.skip_total {
                None
            } else {
                // The same conditions and parameters; ?1 and ?2 (paging) are
                // bound but unused, which SQLite allows.
                let mut stmt = conn.prepare_cached(&format!("SELECT count(*) FROM {table}{filter}"))?;
                // Only the parameters the conditions use (none, or ?1…?N).
                let used = &conditions.params[..stmt.parameter_count().min(conditions.params.len())];
                let n: i64 = stmt.query_row(params_from_iter(used.iter()), |r| r.get(0))?;
                Some(n as u64)
            };
            Ok::<_, RecordError>(Page { paging, total, items })
        })
        .await
}
