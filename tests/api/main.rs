//! Integration tests: the real server over HTTP on 127.0.0.1, with real
//! SQLite files in a temporary data folder. One test binary, many modules,
//! so the suite links once.
#![allow(clippy::unwrap_used)]

mod helpers;

mod account;
mod account_differential;
mod admin_ui;
mod auth;
mod backups_api;
mod backups_restore;
mod batch;
mod cli;
mod collections;
mod dash_dry_run;
mod dash_superusers;
mod dash_views;
mod defects_bodies;
mod defects_views;
mod differential;
mod edge;
mod edge_parse;
mod faults_clients;
mod faults_disk;
mod faults_startup;
mod file_downloads;
mod files;
mod filters;
mod followups_hidden_superuser;
mod followups_pk_change;
mod followups_rename;
mod followups_startup;
mod followups_superuser_ips;
mod health;
mod hidden_fields;
mod import_bad_input;
mod import_pocketbase;
mod installer;
mod limits_names;
mod limits_paths;
mod limits_proxy;
mod limits_sessions;
mod litestream_tables;
mod logging;
mod mail;
mod migrations;
mod oauth2;
mod ops_logs;
mod options_cookie;
mod options_secrets;
mod otp_mfa;
mod rate_limit;
mod realtime;
mod realtime_rules;
mod realtime_shared;
mod realtime_topics;
mod records;
mod relation_rules;
mod routes_batch_limits;
mod secrets;
mod security;
mod sessions;
mod shutdown;
mod sse;
