//! The filter language applied to the collections themselves: whether a
//! collection's rule compiles (the check the schema runs on every save,
//! handed to it at load), and the collections list's `filter`.

use super::{
    QueryError,
    compile::{CompileError, RequestInfo, Scope, compile},
    parser::{Expr, parse},
};
use crate::{
    schema::{Catalog, Collection, collection_attributes},
    store::{Database, StoreError},
};

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why `rule` cannot be used on `collection` (as it will be saved), if it
/// cannot: a parse or compile error, worded for the client.
pub fn rule_problem(catalog: &Catalog, collection: &Collection, rule: &str) -> Option<String> {
    let request = RequestInfo::default();
    let scope = Scope {
        collection,
        catalog: Some(catalog),
        request: &request,
        trusted: true,
        reach: None,
    };
    match parse(rule) {
        Err(e) => Some(e.to_string()),
        Ok(expr) => compile(&expr, &scope, 0).err().map(|e| match e {
            CompileError::Invalid(m) | CompileError::Forbidden(m) => m,
        }),
    }
}

/// The ids of the collections matching a client's `filter` (parsed by
/// `query::parse_filter`) over the collection attributes (`name`,
/// `type`, `system`, rules, dates).
pub async fn filter_ids(db: &Database, filter: &Expr) -> Result<Vec<String>, FilterError> {
    let attributes = collection_attributes();
    let request = RequestInfo::default();
    let scope = Scope {
        collection: &attributes,
        catalog: None,
        request: &request,
        trusted: false,
        reach: None,
    };
    // The caller is a superuser: `@request` and `@collection` are refused
    // because they say nothing about collections (a 400, as PocketBase
    // answers), not because of who asks (the 403 said "only superusers"
    // to a superuser).
    let compiled = compile(filter, &scope, 0).map_err(|e| match e {
        CompileError::Invalid(m) => QueryError::invalid_filter(m),
        CompileError::Forbidden(_) => {
            QueryError::invalid_filter("only the collections' own attributes can be filtered by")
        }
    })?;
    let ids = db
        .read(move |conn| {
            let sql = format!("SELECT id FROM _collections WHERE {}", compiled.sql);
            let ids = conn
                .prepare(&sql)?
                .query_map(rusqlite::params_from_iter(compiled.params), |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok::<_, StoreError>(ids)
        })
        .await?;
    Ok(ids)
}
