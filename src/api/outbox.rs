//! The dev outbox (a Cairn addition): superusers read the mail kept while
//! SMTP is disabled, newest first, in PocketBase's list envelope.

use std::sync::Arc;

use poem_openapi::{OpenApi, param::Query, payload::Json};
use serde_json::Value;

use super::{ApiTags, guard::Superuser};
use crate::{app::AppState, http::error::ApiError, mail::outbox, query::paging::Paging};

pub struct OutboxApi {
    state: Arc<AppState>,
}

impl OutboxApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[OpenApi(tag = "ApiTags::Mail")]
impl OutboxApi {
    /// Superusers only: messages kept while SMTP is disabled.
    #[oai(path = "/mail/outbox", method = "get")]
    async fn outbox(
        &self,
        _superuser: Superuser,
        page: Query<Option<String>>,
        #[oai(name = "perPage")] per_page: Query<Option<String>>,
    ) -> poem::Result<Json<Value>> {
        let paging = Paging::parse(page.0.as_deref(), per_page.0.as_deref(), None).map_err(ApiError::from)?;
        let found = outbox::list(&self.state.store.data, paging.page, paging.per_page)
            .await
            .map_err(ApiError::internal)?;
        let items = found
            .items
            .into_iter()
            .map(|m| serde_json::to_value(m).unwrap_or(Value::Null))
            .collect();
        Ok(Json(paging.envelope(Some(found.total), items)))
    }
}
