//! The API's endpoint groups (poem-openapi). Handlers stay thin: parse the
//! input into typed values, call the owning module, shape the answer.

pub mod auth;
pub mod batch;
pub mod collections;
pub mod files;
pub mod guard;
pub mod health;
pub mod installer;
pub mod records;

use std::sync::Arc;

use poem_openapi::{OpenApiService, Tags};

use crate::app::AppState;

#[derive(Tags)]
pub enum ApiTags {
    /// Liveness and readiness.
    Health,
    /// First-run setup.
    Installer,
    /// Collection definitions (superusers).
    Collections,
    /// Sign-in.
    Auth,
}

pub type Api = (
    health::HealthApi,
    installer::InstallerApi,
    collections::CollectionsApi,
    auth::AuthApi,
);

/// Every endpoint group, described once for both routing and the document.
pub fn service(state: Arc<AppState>) -> OpenApiService<Api, ()> {
    OpenApiService::new(
        (
            health::HealthApi::new(state.clone()),
            installer::InstallerApi::new(state.clone()),
            collections::CollectionsApi::new(state.clone()),
            auth::AuthApi::new(state),
        ),
        "Cairn",
        env!("CARGO_PKG_VERSION"),
    )
    .description("PocketBase's Web API, and more. Every path below is under `/api`.")
    .server("/api")
}
