//! `GET /api/health` (liveness, PocketBase's exact answer) and
//! `GET /api/ready` (readiness: the writer can commit and the schema is
//! current), for load balancers and orchestrators.

use std::{sync::Arc, time::Duration};

use poem_openapi::{Object, OpenApi, payload::Json};

use super::ApiTags;
use crate::{app::AppState, http::error::ApiError};

/// How long readiness waits for the write lock before answering 503.
const WRITE_PROBE_LIMIT: Duration = Duration::from_secs(2);

#[derive(Object, Default)]
pub struct EmptyData {}

#[derive(Object)]
pub struct HealthBody {
    pub code: u16,
    pub message: String,
    pub data: EmptyData,
}

pub struct HealthApi {
    state: Arc<AppState>,
}

impl HealthApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness: the process is up and serving.
    #[oai(path = "/health", method = "get", method = "head")]
    async fn health(&self) -> Json<HealthBody> {
        Json(HealthBody {
            code: 200,
            message: "API is healthy.".into(),
            data: EmptyData {},
        })
    }

    /// Readiness: 200 when the database accepts writes and every migration
    /// is applied; 503 with the reason otherwise.
    #[oai(path = "/ready", method = "get")]
    async fn ready(&self) -> poem::Result<Json<HealthBody>> {
        let store = &self.state.store;
        for db in [&store.data, &store.auxiliary] {
            db.check_writable(WRITE_PROBE_LIMIT)
                .await
                .map_err(ApiError::unavailable)?;
            let status = db
                .migration_status()
                .await
                .map_err(|e| ApiError::unavailable(format!("cannot read the migration state: {e}")))?;
            if let Some(pending) = status.iter().find(|m| m.applied.is_none()) {
                return Err(
                    ApiError::unavailable(format!("migration {} is not applied", pending.file)).into(),
                );
            }
        }
        Ok(Json(HealthBody {
            code: 200,
            message: "Ready.".into(),
            data: EmptyData {},
        }))
    }
}
