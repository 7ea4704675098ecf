//! `/api/logs`: the request log, for superusers only, in PocketBase's
//! shapes: a paged list with `filter` and `sort` over `id`, `created`,
//! `level`, `message` and `data.*` (and `@random`, `@rowid`); one entry; hourly totals
//! (`[{total, date}]`); and emptying it.
//!
//! Reading the log leaves no entry in it unless the read fails, as in
//! PocketBase (`telemetry::log_only_failure`); emptying it is kept, as a
//! trace of who did.

use std::sync::Arc;

use poem_openapi::{
    OpenApi,
    param::{Path, Query},
    payload::Json,
};
use serde_json::Value;

use super::{ApiTags, collections::Done, guard::Superuser};
use crate::{
    app::AppState,
    http::error::ApiError,
    ops::logs::{self, LogQuery},
    query::{Paging, parse_filter, parse_sort},
    telemetry,
};

/// The log's `filter`, parsed; blank counts as none.
fn filter(raw: Option<&str>) -> Result<Option<crate::query::parser::Expr>, ApiError> {
    parse_filter(raw.map(str::trim)).map_err(ApiError::from)
}

pub struct LogsApi {
    state: Arc<AppState>,
}

impl LogsApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[OpenApi(tag = "ApiTags::Logs")]
impl LogsApi {
    /// List log entries (paged, filtered, sorted).
    #[oai(path = "/logs", method = "get")]
    async fn list(
        &self,
        _superuser: Superuser,
        page: Query<Option<String>>,
        #[oai(name = "perPage")] per_page: Query<Option<String>>,
        sort: Query<Option<String>>,
        filter: Query<Option<String>>,
        #[oai(name = "skipTotal")] skip_total: Query<Option<String>>,
    ) -> poem::Result<Json<Value>> {
        telemetry::log_only_failure();
        let paging = Paging::parse(page.0.as_deref(), per_page.0.as_deref(), skip_total.0.as_deref())
            .map_err(ApiError::from)?;
        // Which paths sort is checked when the query compiles.
        let sort = parse_sort(sort.0.as_deref(), |f| {
            matches!(f, "@rowid" | "@random") || !f.starts_with('@')
        })
        .map_err(ApiError::from)?;
        let query = LogQuery {
            paging,
            sort,
            filter: self::filter(filter.0.as_deref())?,
        };
        let page = logs::list(&self.state.store.auxiliary, query)
            .await
            .map_err(ApiError::from)?;
        Ok(Json(page))
    }

    /// Entries per hour that the filter admits: `[{total, date}]`.
    #[oai(path = "/logs/stats", method = "get")]
    async fn stats(&self, _superuser: Superuser, filter: Query<Option<String>>) -> poem::Result<Json<Value>> {
        telemetry::log_only_failure();
        let filter = self::filter(filter.0.as_deref())?;
        let hours = logs::stats(&self.state.store.auxiliary, filter.as_ref())
            .await
            .map_err(ApiError::from)?;
        Ok(Json(Value::Array(hours)))
    }

    /// One log entry.
    #[oai(path = "/logs/:id", method = "get")]
    async fn view(&self, _superuser: Superuser, id: Path<String>) -> poem::Result<Json<Value>> {
        telemetry::log_only_failure();
        let entry = logs::one(&self.state.store.auxiliary, id.0)
            .await
            .map_err(ApiError::from)?;
        Ok(Json(entry))
    }

    /// Delete every log entry.
    #[oai(path = "/logs", method = "delete")]
    async fn delete(&self, _superuser: Superuser) -> poem::Result<Done> {
        logs::delete_all(&self.state.store.auxiliary)
            .await
            .map_err(ApiError::from)?;
        Ok(Done::NoContent)
    }
}
