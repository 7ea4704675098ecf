//! The API's endpoint groups (poem-openapi). Handlers stay thin: parse the
//! input into typed values, call the owning module, shape the answer. A
//! route's rate-limit tag is declared with the route (`tags`).

pub mod account;
pub mod auth;
pub mod backups;
pub mod batch;
pub mod body;
pub mod collections;
pub mod crons;
pub mod files;
pub mod guard;
pub mod health;
pub mod installer;
pub mod jobs;
pub mod json_text;
pub mod keys;
pub mod logs;
pub mod oauth2_redirect;
pub mod otp;
pub mod outbox;
pub mod path;
pub mod realtime;
pub mod records;
pub mod refresh_cookie;
pub mod ruletest;
pub mod sessions;
pub mod settings;
pub mod tags;
pub mod webhooks;

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
    /// Sign-in and account flows.
    Auth,
    /// Refresh-token sessions (Cairn's addition): rotation, listing, logout.
    Sessions,
    /// Outgoing mail (the dev outbox).
    Mail,
    /// Runtime settings (superusers).
    Settings,
    /// The request log (superusers).
    Logs,
    /// Scheduled jobs (superusers).
    Crons,
    /// Backups of the data folder, and restores (superusers).
    Backups,
    /// The durable job queue (Cairn's addition; superusers).
    Jobs,
    /// API keys for servers and scripts (Cairn's addition; superusers).
    Keys,
    /// Webhooks (Cairn's addition, superusers): signed POSTs of record
    /// changes, their deliveries log and redelivery.
    Webhooks,
}

pub type Api = (
    health::HealthApi,
    installer::InstallerApi,
    collections::CollectionsApi,
    ruletest::RuleTestApi,
    auth::AuthApi,
    sessions::SessionsApi,
    account::AccountApi,
    otp::OtpApi,
    outbox::OutboxApi,
    settings::SettingsApi,
    logs::LogsApi,
    crons::CronsApi,
    backups::BackupsApi,
    jobs::JobsApi,
    keys::KeysApi,
    webhooks::WebhooksApi,
);

/// Every endpoint group, described once for both routing and the document.
pub fn service(state: Arc<AppState>) -> OpenApiService<Api, ()> {
    OpenApiService::new(
        (
            health::HealthApi::new(state.clone()),
            installer::InstallerApi::new(state.clone()),
            collections::CollectionsApi::new(state.clone()),
            ruletest::RuleTestApi::new(state.clone()),
            auth::AuthApi::new(state.clone()),
            sessions::SessionsApi::new(state.clone()),
            account::AccountApi::new(state.clone()),
            otp::OtpApi::new(state.clone()),
            outbox::OutboxApi::new(state.clone()),
            settings::SettingsApi::new(state.clone()),
            logs::LogsApi::new(state.clone()),
            crons::CronsApi::new(state.clone()),
            backups::BackupsApi::new(state.clone()),
            jobs::JobsApi::new(state.clone()),
            keys::KeysApi::new(state.clone()),
            webhooks::WebhooksApi::new(state),
        ),
        "Cairn",
        env!("CARGO_PKG_VERSION"),
    )
    // `fields` is told here rather than declared on each operation: a
    // picked answer lacks keys its schema requires, so a declared
    // `fields` would make every schema wrong for some input
    // (`http::middleware::fields` says which answers it picks).
    .description(
        "PocketBase's Web API, and more. Every path below is under `/api`. \
         Every JSON answer takes `?fields=` as PocketBase's do: a comma list of \
         paths (`id,expand.author.name`), `*` for every key at a level, and \
         `:excerpt(n[,true])`; a page picks its items.",
    )
    .server("/api")
}
