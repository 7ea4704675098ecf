//! `/api/crons`: Cairn's scheduled jobs, for superusers only, in
//! PocketBase's shapes: the list (`[{id, expression}]`) and "run now"
//! (204; the job runs in the background, and not twice at once).

use std::sync::Arc;

use poem_openapi::{Object, OpenApi, param::Path, payload::Json};

use super::{ApiTags, collections::Done, guard::Superuser};
use crate::{app::AppState, http::error::ApiError};

#[derive(Object)]
pub struct CronJob {
    /// The job's stable id.
    id: String,
    /// When it runs: a cron expression (UTC).
    expression: String,
}

pub struct CronsApi {
    state: Arc<AppState>,
}

impl CronsApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[OpenApi(tag = "ApiTags::Crons")]
impl CronsApi {
    /// List the scheduled jobs.
    #[oai(path = "/crons", method = "get")]
    async fn list(&self, _superuser: Superuser) -> poem::Result<Json<Vec<CronJob>>> {
        let jobs = self.state.crons.list();
        Ok(Json(
            jobs.into_iter()
                .map(|(id, expression)| CronJob { id, expression })
                .collect(),
        ))
    }

    /// Run a scheduled job now.
    #[oai(path = "/crons/:id", method = "post")]
    async fn run(&self, _superuser: Superuser, id: Path<String>) -> poem::Result<Done> {
        self.state.crons.run_now(&id.0).map_err(ApiError::from)?;
        Ok(Done::NoContent)
    }
}
