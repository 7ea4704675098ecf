//! Request and server logs in `auxiliary.db`'s `_logs`, in PocketBase's
//! shape: `{id, created, level, message, data}` with `data` a JSON object
//! (`type`, `method`, `url`, `status`, `execTime`, `remoteIP`, `userIP`,
//! `referer`, `userAgent`, `auth`, `authId`, and Cairn's `requestId`).
//!
//! Writing a log never slows a request: the edge hands over what its
//! access log recorded (`RequestRecord`) through a bounded queue and
//! returns; a background task turns the records into rows and inserts
//! them in batches, one transaction each. When the queue is full the
//! record is dropped and counted, never waited for; the writer then logs
//! how many it lost. `settings.logs` is read where the record is made
//! (`maxDays` 0 turns logging off, `minLevel` filters, `logIP` and
//! `logAuthId` decide what is kept, `maxDataSize` caps `data`).
//!
//! Reading (`query`) compiles PocketBase's filter language over the log's
//! columns with the same compiler the collections use. The table is one
//! B-tree keyed by time (`key`), which `id` and `created` are read from.

mod insert;
mod key;
mod query;
mod writer;

use std::{
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};

pub use self::{
    insert::copy_pocketbase_rows,
    query::{LogQuery, LogsError, delete_all, delete_older_than, list, one, stats},
};
use crate::{settings, store::Database};

/// PocketBase's (Go `slog`'s) levels.
pub mod level {
    pub const DEBUG: i32 = -4;
    pub const INFO: i32 = 0;
    pub const WARN: i32 = 4;
    pub const ERROR: i32 = 8;
}

/// Records waiting for the writer, at most. About a second of a busy
/// server's requests; past it, records are dropped rather than held.
const QUEUE: usize = 16_384;

/// What the access log recorded of one served request.
pub struct RequestRecord {
    pub at: DateTime<Utc>,
    pub method: String,
    /// Path and query, as requested.
    pub url: String,
    pub status: u16,
    pub exec_time: Duration,
    /// The peer the connection came from.
    pub remote_ip: IpAddr,
    /// The client, as the trusted proxy settings resolve it.
    pub user_ip: IpAddr,
    pub referer: String,
    pub user_agent: String,
    /// The signed-in record: its collection's name and its id.
    pub auth: Option<(String, String)>,
    /// The API key the record acted through, by id.
    pub api_key: Option<String>,
    pub request_id: String,
    /// Its reads slower than the threshold, with their plans.
    pub slow_queries: Vec<crate::store::explain::SlowQuery>,
    /// The error it was answered with: the message, and what explains it.
    pub error: Option<(String, String)>,
}

/// What `settings.logs` decides about a record's row, taken when the
/// record is made so that a settings change applies from the next one.
#[derive(Debug, Clone, Copy)]
struct Policy {
    log_ip: bool,
    log_auth_id: bool,
    max_data_size: u64,
}

impl Policy {
    fn of(s: &settings::Logs) -> Self {
        Self {
            log_ip: s.log_ip,
            log_auth_id: s.log_auth_id,
            max_data_size: s.max_data_size,
        }
    }
}

/// A log line of the server itself (a warning, an error).
struct ServerRecord {
    at: DateTime<Utc>,
    level: i32,
    message: String,
    data: Map<String, Value>,
}

enum Entry {
    Request(Box<RequestRecord>, Policy),
    Server(ServerRecord, Policy),
}

enum Msg {
    Entry(Entry),
    /// Answered once everything queued before it is written.
    Flush(oneshot::Sender<()>),
    /// A new `maxDays`: what was queued before it is written, then the
    /// entries older than the retention are removed (all of them with 0,
    /// and what is queued after a 0 is not written).
    Retain(u32),
}

/// The log's write side: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Logs {
    tx: mpsc::Sender<Msg>,
    dropped: Arc<AtomicU64>,
}

/// The level PocketBase gives a request: an error answer is an error.
pub fn request_level(status: u16) -> i32 {
    if status >= 400 { level::ERROR } else { level::INFO }
}

/// A record's level: its status's, raised to a warning when it ran a
/// slow query (Cairn's: so a log kept from `WARN` up still shows them).
fn record_level(record: &RequestRecord) -> i32 {
    let level = request_level(record.status);
    if record.slow_queries.is_empty() {
        level
    } else {
        level.max(level::WARN)
    }
}

/// Whether logs are kept at all: PocketBase's `maxDays` 0 keeps none.
pub fn enabled(s: &settings::Logs) -> bool {
    s.max_days > 0
}

impl Logs {
    /// Starts the writer task on `db` (the auxiliary database); it ends
    /// when the last `Logs` is dropped. Needs a Tokio runtime.
    pub fn start(db: Arc<Database>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        tokio::spawn(writer::run(db, rx, dropped.clone()));
        Self { tx, dropped }
    }

    /// Queues a served request's record, if `s` keeps it.
    pub fn request(&self, s: &settings::Logs, record: RequestRecord) {
        if enabled(s) && record_level(&record) >= s.min_level {
            self.send(Entry::Request(Box::new(record), Policy::of(s)));
        }
    }

    /// Queues a line of the server's own (`level` is one of `level::*`),
    /// if `s` keeps it.
    pub fn server(&self, s: &settings::Logs, level: i32, message: String, data: Map<String, Value>) {
        if enabled(s) && level >= s.min_level {
            let record = ServerRecord {
                at: Utc::now(),
                level,
                message,
                data,
            };
            self.send(Entry::Server(record, Policy::of(s)));
        }
    }

    fn send(&self, entry: Entry) {
        if self.tx.try_send(Msg::Entry(entry)).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many records were dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Applies a changed `maxDays` now, rather than at the retention
    /// job's next run: in the writer's order, so what was queued before
    /// the change is removed by it too, and with 0 nothing queued after
    /// it is written (a request that began while logging was on, such as
    /// the one that turned it off). Waits only for room in the queue.
    pub async fn retain(&self, max_days: u32) {
        // The writer is gone only when the server is: nothing to apply.
        let _ = self.tx.send(Msg::Retain(max_days)).await;
    }

    /// Waits (at most `limit`) until every record queued so far is
    /// written: at shutdown, and for tests that read what they caused.
    pub async fn flush(&self, limit: Duration) {
        let (done, written) = oneshot::channel();
        let wait = async {
            if self.tx.send(Msg::Flush(done)).await.is_ok() {
                let _ = written.await;
            }
        };
        let _ = tokio::time::timeout(limit, wait).await;
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A plain GET of `/` from loopback, answered with `status`.
    pub(in super::super) fn record(status: u16) -> RequestRecord {
        RequestRecord {
            at: Utc::now(),
            method: "GET".into(),
            url: "/".into(),
            status,
            exec_time: Duration::ZERO,
            remote_ip: "127.0.0.1".parse().expect("ip"),
            user_ip: "127.0.0.1".parse().expect("ip"),
            referer: String::new(),
            user_agent: String::new(),
            auth: None,
            api_key: None,
            request_id: "r".into(),
            slow_queries: Vec::new(),
            error: None,
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts_and_settings_filter_first() {
        // A queue of two that nobody reads: the writer has fallen behind.
        let (tx, mut rx) = mpsc::channel(2);
        let logs = Logs {
            tx,
            dropped: Arc::default(),
        };
        let on = settings::Logs::default();
        for _ in 0..5 {
            logs.request(&on, record(200));
        }
        assert_eq!(logs.dropped(), 3);
        // Filtered out by the settings: neither queued nor counted as lost.
        let quiet = settings::Logs {
            min_level: level::WARN,
            ..settings::Logs::default()
        };
        logs.request(&quiet, record(200));
        let off = settings::Logs {
            max_days: 0,
            ..settings::Logs::default()
        };
        logs.request(&off, record(500));
        assert_eq!(logs.dropped(), 3);
        let mut queued = 0;
        while rx.try_recv().is_ok() {
            queued += 1;
        }
        assert_eq!(queued, 2);
    }
}
