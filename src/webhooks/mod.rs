//! Webhooks (Cairn's own; PocketBase has none): a superuser names a
//! collection (or `*`), the events, an optional filter in the rule
//! language and a URL; every matching record change is POSTed there as
//! JSON, signed per Standard Webhooks (`sign`).
//!
//! Deliveries are jobs of the durable queue (`crate::jobs`), enqueued by
//! `outbox` inside the very transaction that writes the record (records
//! call it through `records::deps::TxHook`, wired in `app`): a write that
//! rolls back delivers nothing, and one that commits always delivers, a
//! crash in between included. The job's key is webhook + collection +
//! record, so the queue delivers one record's changes one at a time, in
//! order; the job's tag is the webhook, so its deliveries log is a read of
//! the queue. `deliver` sends them, through the SSRF guard (`target`).
//!
//! The write path must pay nothing when no webhook is set up: it consults
//! an in-memory list of the enabled webhooks (`active`), replaced whole
//! whenever a webhook changes, never the database.

mod deliver;
mod log;
mod manage;
pub mod model;
mod outbox;
pub mod sign;

use std::{
    sync::{Arc, RwLock, atomic::AtomicBool},
    time::Duration,
};

pub use deliver::{Delivered, KIND};
pub use log::{Deliveries, DeliveryRow, message_id};
pub use model::{ANY_COLLECTION, Draft, Event, Webhook};

use crate::{store::StoreError, validation::ErrorTree};

/// What the operator decides at start-up (flags or `CAIRN_*`), not a
/// superuser at run time: a stolen superuser session must not be able to
/// point webhooks into the server's own network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookOptions {
    /// Private, loopback and link-local targets are allowed.
    pub allow_private: bool,
    /// A webhook whose deliveries have all failed for this long is disabled.
    pub disable_after: Duration,
    /// The time one delivery attempt may take, connection to last byte.
    pub timeout: Duration,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            allow_private: false,
            disable_after: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("no such webhook")]
    NotFound,
    #[error("invalid webhook")]
    Invalid(ErrorTree),
    /// A redelivery of a delivery still waiting or running.
    #[error("the delivery has not finished")]
    Unfinished,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for WebhookError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Store(err.into())
    }
}

/// The webhooks service: the list the write path consults, and the options.
pub struct Webhooks {
    pub options: WebhookOptions,
    /// The enabled webhooks, replaced whole on every change.
    active: RwLock<model::Active>,
    /// Reloads one at a time, so an older read never replaces a newer one.
    reloading: tokio::sync::Mutex<()>,
    /// A delivery was enqueued in a transaction since the queue was last
    /// woken (see `take_enqueued`).
    enqueued: AtomicBool,
    /// HTTP clients kept between deliveries.
    clients: deliver::Clients,
}

impl Webhooks {
    pub fn new(options: WebhookOptions) -> Self {
        Self {
            options,
            active: RwLock::default(),
            reloading: tokio::sync::Mutex::new(()),
            enqueued: AtomicBool::new(false),
            clients: deliver::Clients::default(),
        }
    }

    /// The enabled webhooks, as they stand.
    pub fn active(&self) -> model::Active {
        self.active.read().map(|a| a.clone()).unwrap_or_default()
    }

    fn replace(&self, hooks: Vec<Webhook>) {
        let enabled: Vec<Arc<Webhook>> = hooks.into_iter().filter(|h| h.enabled).map(Arc::new).collect();
        if let Ok(mut active) = self.active.write() {
            *active = Arc::new(enabled);
        }
    }
}
