//! Integration tests: the real server over HTTP on 127.0.0.1, with real
//! SQLite files in a temporary data folder. One test binary, many modules,
//! so the suite links once.
#![allow(clippy::unwrap_used)]

mod helpers;

mod admin_ui;
mod auth;
mod cli;
mod collections;
mod differential;
mod edge;
mod filters;
mod health;
mod installer;
mod logging;
mod migrations;
mod rate_limit;
mod realtime;
mod realtime_rules;
mod records;
mod security;
mod shutdown;
mod sse;
