//! `GET /api/health` (liveness, PocketBase's exact answer) and
//! `GET /api/ready` (readiness: the writer can commit and the schema is
//! current), for load balancers and orchestrators.

use std::{sync::Arc, time::Duration};

use poem::{Request, http::header::AUTHORIZATION};
use poem_openapi::{Object, OpenApi, payload::Json};

use super::{ApiTags, guard, json_text::JsonText};
use crate::{
    app::AppState,
    http::{client::ClientInfo, error::ApiError},
    store::NotWritable,
};

const HEALTHY: &str = "API is healthy.";
/// The guest's answer, `HealthBody` with empty data (PocketBase's exact
/// bytes), written once.
const GUEST_HEALTH: &str = r#"{"code":200,"data":{},"message":"API is healthy."}"#;

/// How long readiness waits for the write lock before answering 503.
const WRITE_PROBE_LIMIT: Duration = Duration::from_secs(2);

#[derive(Object, Default)]
pub struct EmptyData {}

#[derive(Object)]
pub struct HealthBody<
    T: poem_openapi::types::Type + poem_openapi::types::ToJSON + poem_openapi::types::ParseFromJSON,
> {
    pub code: u16,
    pub message: String,
    pub data: T,
}

/// What a superuser also learns from `/api/health` (PocketBase's fields):
/// the client address as resolved, and a forwarding header that was not
/// believed, the sign of a proxy `trustedProxy` does not cover yet.
#[derive(Object, Default)]
pub struct HealthData {
    /// Whether a backup could start now (none or no restore is running).
    #[oai(rename = "canBackup", skip_serializing_if_is_none)]
    pub can_backup: Option<bool>,
    #[oai(rename = "realIP", skip_serializing_if_is_none)]
    pub real_ip: Option<String>,
    #[oai(rename = "possibleProxyHeader", skip_serializing_if_is_none)]
    pub possible_proxy_header: Option<String>,
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
    /// Liveness: the process is up and serving. Superusers also see the
    /// client address as resolved and any forwarding header ignored.
    #[oai(path = "/health", method = "get", method = "head")]
    async fn health(&self, req: &Request) -> poem::Result<JsonText<HealthBody<HealthData>>> {
        let superuser = if req.headers().contains_key(AUTHORIZATION) {
            match guard::identify(&self.state, req).await {
                Ok(caller) => caller.is_superuser(),
                // A superuser outside `superuserIPs`: refused here too, as
                // PocketBase refuses every request of theirs.
                Err(err) if err.status() == poem::http::StatusCode::FORBIDDEN => return Err(err.into()),
                Err(_) => false,
            }
        } else {
            false
        };
        let client = req.extensions().get::<ClientInfo>();
        Ok(match client {
            Some(client) if superuser => JsonText::of(&HealthBody {
                code: 200,
                message: HEALTHY.into(),
                data: HealthData {
                    can_backup: Some(!self.state.backups.is_running()),
                    real_ip: Some(client.ip.to_string()),
                    possible_proxy_header: Some(client.possible_proxy_header.unwrap_or_default().to_owned()),
                },
            }),
            _ => JsonText::fixed(GUEST_HEALTH),
        })
    }

    /// Readiness: 200 when the database accepts writes and every migration
    /// is applied; 503 with the reason otherwise.
    #[oai(path = "/ready", method = "get")]
    async fn ready(&self) -> poem::Result<Json<HealthBody<EmptyData>>> {
        let store = &self.state.store;
        for db in [&store.data, &*store.auxiliary] {
            db.check_writable(WRITE_PROBE_LIMIT).await.map_err(not_writable)?;
            let status = db.migration_status().await.map_err(|err| {
                tracing::warn!(error = %err, "readiness: cannot read the migration state");
                ApiError::unavailable("cannot read the migration state")
            })?;
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

/// The probe is public (load balancers call it unsigned), so its answer
/// names the kind of problem only; what SQLite said, which may hold a
/// file's path, goes to the server's log for whoever runs it.
fn not_writable(err: NotWritable) -> ApiError {
    tracing::warn!(error = %err, "readiness: the database is not writable");
    match err {
        NotWritable::Timeout(_) => ApiError::unavailable(err.to_string()),
        NotWritable::Failed(_) => ApiError::unavailable("the database cannot be written"),
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::ToJSON;

    use super::*;
    use crate::store::StoreError;

    #[test]
    fn the_fixed_guest_answer_is_what_its_type_serializes_to() {
        let body = HealthBody {
            code: 200,
            message: HEALTHY.into(),
            data: HealthData::default(),
        };
        assert_eq!(body.to_json_string(), GUEST_HEALTH);
    }

    #[test]
    fn readiness_names_the_problem_not_sqlites_words() {
        let failed = NotWritable::Failed(StoreError::Unusable {
            path: "/srv/secret-place/data.db".into(),
            problem: "attempt to write a readonly database".into(),
            fix: String::new(),
        });
        let answer = not_writable(failed);
        assert_eq!(answer.message(), "the database cannot be written");
        // The timeout says only how long it waited.
        let answer = not_writable(NotWritable::Timeout(Duration::from_secs(2)));
        assert_eq!(answer.message(), "the database did not accept a write within 2 s");
    }
}
