//! Cairn: a production backend in one file. PocketBase's Web API over
//! SQLite, with the operational qualities a self-hoster needs.
//!
//! `App::build(config)` assembles exactly what `cairn serve` runs; tests
//! build it on port 0 with a temporary data folder.

pub mod api;
pub mod app;
#[cfg(test)]
mod architecture;
pub mod auth;
pub mod backups;
pub mod cli;
pub mod config;
pub mod datetime;
pub mod export;
pub mod fields_param;
pub mod files;
pub mod http;
pub mod identity;
pub mod import;
pub mod jobs;
pub mod keys;
pub mod mail;
pub mod ops;
pub mod outbound;
pub mod query;
pub mod random;
pub mod realtime;
pub mod records;
pub mod schema;
pub mod settings;
pub mod stats;
pub mod store;
pub mod telemetry;
pub mod validation;
pub mod webhooks;

pub use app::AppState;
pub use config::Config;
pub use http::server::{App, StartupError};
