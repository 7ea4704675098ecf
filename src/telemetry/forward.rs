//! The server's own warnings and errors, forwarded to whoever keeps them
//! (the request log, through `app`): a `tracing` layer that hands each
//! `WARN` or `ERROR` event, with its fields and the request id it was
//! logged under, to every registered sink.
//!
//! Sinks are process-wide, as the subscriber is: a process runs one
//! server. (Tests run several in one process; each then sees the others'
//! warnings too, each marked with the request id it came from.) The
//! access line and the log writer's own complaints (`cairn::logs`) are
//! not forwarded: the first is already the request's log, the second
//! would feed itself when the log cannot be written.

use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};
use tracing::{Event, Level, Subscriber, field::Field};
use tracing_subscriber::{Layer, layer::Context, registry::LookupSpan};

/// Where forwarded events go.
pub trait EventSink: Send + Sync {
    /// `level` is `WARN` or `ERROR`; `data` holds the event's fields, its
    /// target and, inside a request, `requestId`.
    fn event(&self, level: Level, message: String, data: Map<String, Value>);
}

static SINKS: RwLock<Vec<Arc<dyn EventSink>>> = RwLock::new(Vec::new());

/// Adds a sink for the life of the process.
pub fn add_sink(sink: Arc<dyn EventSink>) {
    match SINKS.write() {
        Ok(mut sinks) => sinks.push(sink),
        Err(poisoned) => poisoned.into_inner().push(sink),
    }
}

/// The layer `init` (or `ensure_forwarding`) installs.
pub(super) struct Forward;

/// Targets never forwarded (see the module doc).
const SKIPPED: [&str; 2] = [super::ACCESS_TARGET, "cairn::logs"];

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Forward {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() > Level::WARN || SKIPPED.contains(&meta.target()) {
            return;
        }
        let Ok(sinks) = SINKS.read() else { return };
        if sinks.is_empty() {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        fields.data.insert("type".into(), "app".into());
        fields.data.insert("target".into(), meta.target().into());
        if let Some(id) = super::current_request() {
            fields.data.insert("requestId".into(), id.into());
        }
        for sink in sinks.iter() {
            sink.event(*meta.level(), fields.message.clone(), fields.data.clone());
        }
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    data: Map<String, Value>,
}

impl tracing::field::Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
        } else if !field.name().starts_with("log.") {
            self.data.insert(field.name().to_owned(), value);
        }
    }
}
