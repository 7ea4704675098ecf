//! Realtime: PocketBase's server-sent events. A client opens a stream
//! (`GET /api/realtime`), learns its id from the first event, then sets
//! its topics (`POST /api/realtime`) with its auth. Committed record
//! changes reach the broker through `records::events::committed`; the
//! dispatcher (one task) checks them per subscriber against the rules and
//! queues the frames on each client's bounded queue.
//!
//! Writers never wait on a client: `publish` only hands the change to the
//! dispatcher, and a client whose queue is full is disconnected (it may
//! reconnect and resubscribe, as the SDK does by itself).

mod accounts;
pub mod client;
mod dispatch;
pub mod topic;

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

use serde_json::Value;
use tokio::sync::mpsc;

pub use self::client::{Client, ClientStream};
use self::topic::Subscription;
use crate::{identity::Caller, records::events::RecordChange, schema::Schema, store::Database};

/// PocketBase's bound on the client id a subscribe request names (its own
/// ids are 40 characters): longer is a field error, not an unknown client.
pub const MAX_CLIENT_ID: usize = 255;

/// Bounds on each connection.
#[derive(Debug, Clone)]
pub struct RealtimeLimits {
    /// Frames a client may have waiting; one more and it is disconnected.
    pub queue: usize,
    /// A stream with nothing sent for this long is closed (PocketBase's
    /// five minutes), so forgotten tabs do not hold connections forever.
    pub idle_timeout: Duration,
    /// No stream lives longer than this; the SDK reconnects by itself.
    pub max_lifetime: Duration,
    /// Committed writes waiting for the dispatcher. Past this the
    /// dispatcher is hopelessly behind: every client is disconnected (and
    /// reconnects) rather than memory growing or events silently missing.
    pub backlog: usize,
}

impl Default for RealtimeLimits {
    fn default() -> Self {
        Self {
            queue: 512,
            idle_timeout: Duration::from_secs(5 * 60),
            max_lifetime: Duration::from_secs(24 * 60 * 60),
            backlog: 10_000,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RealtimeError {
    #[error("no such client")]
    NoClient,
    /// The client signed in as someone else than before (or signed out).
    #[error("auth mismatch")]
    AuthMismatch,
    #[error("not subscribed to {0}")]
    NotSubscribed(String),
    /// The client's queue was full or its stream has ended.
    #[error("client gone")]
    Gone,
    /// The caller's API key has no `realtime` scope on this topic's
    /// collection.
    #[error("outside the API key's scopes: {0}")]
    OutOfScope(String),
}

/// Refuses topics whose collection the caller's API key may not follow
/// (`realtime` scope); callers without a key are not narrowed. Checked
/// when subscribing, so a key hears at once what it cannot follow; the
/// dispatcher checks again per event, for keys changed since.
pub fn check_scopes(
    caller: &Caller,
    subscriptions: &[Subscription],
    catalog: &crate::schema::Catalog,
) -> Result<(), RealtimeError> {
    if caller.key().is_none() {
        return Ok(());
    }
    for sub in subscriptions {
        let Some(name) = sub.collection() else {
            continue;
        };
        let allowed = catalog
            .get(name)
            .is_some_and(|c| caller.may(&c.id, crate::identity::KeyAction::Realtime));
        if !allowed {
            return Err(RealtimeError::OutOfScope(sub.topic.clone()));
        }
    }
    Ok(())
}

/// The connected clients, and the hand-off to the dispatcher.
pub struct Broker {
    limits: RealtimeLimits,
    clients: RwLock<HashMap<String, Arc<Client>>>,
    /// Clients by the collections their topics name (as written: name or
    /// id), so a change costs nothing for clients that do not follow it.
    /// Lock order: `index`, then a client's own lock.
    index: RwLock<HashMap<String, HashMap<String, Arc<Client>>>>,
    work: mpsc::Sender<Work>,
    /// Rule queries run for events so far: how well checks are shared.
    rule_checks: std::sync::atomic::AtomicU64,
    /// Clients cut off because they fell behind.
    fell_behind: std::sync::atomic::AtomicU64,
    /// Taken by `start`, which runs the dispatcher.
    pending: std::sync::Mutex<Option<mpsc::Receiver<Work>>>,
}

/// What the dispatcher does, in the order it was handed over.
enum Work {
    /// One write's committed changes, in order.
    Changes(Vec<RecordChange>),
    /// Every account of this auth collection is gone at once (the
    /// collection deleted or emptied), with no record change for each.
    AccountsGone(String),
}

impl Broker {
    pub fn new(limits: RealtimeLimits) -> Self {
        let (work, rx) = mpsc::channel(limits.backlog.max(1));
        Self {
            limits,
            clients: RwLock::default(),
            index: RwLock::default(),
            work,
            rule_checks: Default::default(),
            fell_behind: Default::default(),
            pending: std::sync::Mutex::new(Some(rx)),
        }
    }

    pub fn limits(&self) -> &RealtimeLimits {
        &self.limits
    }

    /// Starts the dispatcher (once), which checks changes against the
    /// rules with `db` and `schema`. It holds all three weakly, so a
    /// dropped app does not live on through it, and it ends once the
    /// broker is dropped.
    pub fn start(
        self: &Arc<Self>,
        db: &Arc<Database>,
        schema: &Arc<Schema>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let rx = self.pending.lock().ok()?.take()?;
        let sources = dispatch::Sources {
            broker: Arc::downgrade(self),
            db: Arc::downgrade(db),
            schema: Arc::downgrade(schema),
        };
        Some(tokio::spawn(dispatch::run(sources, rx)))
    }

    /// Registers a new client; its stream starts with `PB_CONNECT`.
    pub fn connect(&self) -> (Arc<Client>, mpsc::Receiver<bytes::Bytes>) {
        let (client, rx) = Client::new(crate::random::alphanumeric(40), self.limits.queue);
        let connect = serde_json::json!({"clientId": client.id}).to_string();
        client.send(client::frame(&client.id, topic::CONNECT, &connect));
        if let Ok(mut clients) = self.clients.write() {
            clients.insert(client.id.clone(), client.clone());
        }
        (client, rx)
    }

    pub fn client(&self, id: &str) -> Option<Arc<Client>> {
        self.clients.read().ok()?.get(id).cloned()
    }

    /// How many rule queries events have cost so far.
    pub fn rule_checks(&self) -> u64 {
        self.rule_checks.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Ends every client's stream: what they follow, and who they are,
    /// may not exist any more (the database was replaced by a restore).
    /// They reconnect and subscribe again.
    pub fn disconnect_all(&self) {
        let clients: Vec<Arc<Client>> = self
            .clients
            .read()
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default();
        for client in clients {
            client.close();
            self.remove(&client);
        }
    }

    /// How many clients are connected.
    pub fn len(&self) -> usize {
        self.clients.read().map_or(0, |c| c.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn remove(&self, client: &Arc<Client>) {
        if let Ok(mut clients) = self.clients.write()
            && clients.get(&client.id).is_some_and(|c| Arc::ptr_eq(c, client))
        {
            clients.remove(&client.id);
        }
        if let (Ok(mut index), Some(interest)) = (self.index.write(), client.interest()) {
            unindex(&mut index, &client.id, &interest.subscriptions);
        }
    }

    /// Replaces a client's topics, as the caller. The auth may go from
    /// guest to a record, or stay the same record, never anything else.
    pub fn set_subscriptions(
        &self,
        client_id: &str,
        caller: Caller,
        subscriptions: Vec<Subscription>,
    ) -> Result<(), RealtimeError> {
        let client = self.client(client_id).ok_or(RealtimeError::NoClient)?;
        let mut index = self.index.write().map_err(|_| RealtimeError::Gone)?;
        let key = caller.key().cloned();
        let previous = client.resubscribe(caller, subscriptions)?;
        client.watch_key(key.as_ref());
        unindex(&mut index, &client.id, &previous);
        if let Some(interest) = client.interest() {
            for name in interest.subscriptions.iter().filter_map(|s| s.collection()) {
                index
                    .entry(name.to_owned())
                    .or_default()
                    .insert(client.id.clone(), client.clone());
            }
        }
        drop(index);
        // A client that went away meanwhile must not stay indexed.
        if client.is_closed() {
            self.remove(&client);
        }
        Ok(())
    }

    /// Sends one message to one client on `topic`, which the client must
    /// have subscribed to (the OAuth2 redirect's `@oauth2`).
    pub fn send_to_client(&self, client_id: &str, topic: &str, message: &Value) -> Result<(), RealtimeError> {
        let client = self.client(client_id).ok_or(RealtimeError::NoClient)?;
        let key = client
            .subscription_key(topic)
            .ok_or_else(|| RealtimeError::NotSubscribed(topic.to_owned()))?;
        if self.send(&client, client::frame(&client.id, &key, &message.to_string())) {
            Ok(())
        } else {
            Err(RealtimeError::Gone)
        }
    }

    /// Queues a frame for `client`; a client that cannot take it is
    /// unregistered at once (its connection may linger until the peer
    /// reads or closes, but nothing more is queued for it).
    fn send(&self, client: &Arc<Client>, frame: bytes::Bytes) -> bool {
        let sent = client.send(frame);
        if sent == client::Sent::FellBehind {
            self.fell_behind
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        if sent != client::Sent::Queued {
            self.remove(client);
        }
        sent == client::Sent::Queued
    }

    /// Clients cut off so far because they fell behind.
    pub fn fell_behind(&self) -> u64 {
        self.fell_behind.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Subscriptions held by the connected clients.
    pub fn subscriptions(&self) -> usize {
        let clients: Vec<Arc<Client>> = self
            .clients
            .read()
            .map_or_else(|_| Vec::new(), |c| c.values().cloned().collect());
        clients
            .iter()
            .filter_map(|c| c.interest())
            .map(|i| i.subscriptions.len())
            .sum()
    }

    /// Hands committed changes to the dispatcher; never blocks.
    pub fn publish(&self, changes: Vec<RecordChange>) {
        if changes.is_empty() {
            return;
        }
        self.hand_over(Work::Changes(changes));
    }

    /// Signs out the clients signed in as an account of auth collection
    /// `collection_id`, whose accounts are all gone (the collection was
    /// deleted or emptied); without it they would go on hearing events
    /// as accounts that no longer exist. After the changes already
    /// handed over, so a deletion record by record is heard first.
    pub fn accounts_gone(&self, collection_id: &str) {
        self.hand_over(Work::AccountsGone(collection_id.to_owned()));
    }

    fn hand_over(&self, work: Work) {
        if self.is_empty() {
            return;
        }
        match self.work.try_send(work) {
            Ok(()) => {}
            // Writers never wait and no event is silently lost: when the
            // dispatcher is this far behind, every client is cut off, and
            // the SDKs reconnect (as after any network drop).
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::error!("realtime: dispatcher backlog full; disconnecting every client");
                for client in self.snapshot() {
                    client.close();
                    self.remove(&client);
                }
            }
            // The dispatcher is gone: the app is stopping.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// The clients with a topic on collection `name` or `id`.
    fn following(&self, name: &str, id: &str) -> Vec<Arc<Client>> {
        let Ok(index) = self.index.read() else {
            return Vec::new();
        };
        let by_name = index.get(name).into_iter().flat_map(|m| m.values());
        let by_id = index.get(id).into_iter().flat_map(|m| m.values());
        let mut seen = std::collections::HashSet::new();
        by_name
            .chain(by_id)
            .filter(|c| seen.insert(c.id.as_str()))
            .cloned()
            .collect()
    }

    /// Every client, for the dispatcher to match against a change.
    fn snapshot(&self) -> Vec<Arc<Client>> {
        self.clients
            .read()
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default()
    }
}

/// Drops `client_id` from the index entries of `subscriptions`.
fn unindex(
    index: &mut HashMap<String, HashMap<String, Arc<Client>>>,
    client_id: &str,
    subscriptions: &[Arc<Subscription>],
) {
    for name in subscriptions.iter().filter_map(|s| s.collection()) {
        if let Some(clients) = index.get_mut(name) {
            clients.remove(client_id);
            if clients.is_empty() {
                index.remove(name);
            }
        }
    }
}

#[cfg(test)]
mod tests;
