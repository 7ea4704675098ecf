//! The outbox: inside the transaction of a record write, each enabled
//! webhook that hears the change (its collection, its events, its filter
//! tested on the row in that transaction) gets a delivery job, with the
//! payload written out once, now, so every retry sends the same bytes.
//!
//! The payload (documented in the README):
//! `{"type": "record.create" | "record.update" | "record.delete" | "auth.signup" | "auth.signin",
//!   "timestamp": RFC 3339 of the change,
//!   "data": {"event": "create" | …, "collection": {"id", "name"}, "record": {…}, "previous"?: {…}}}`
//! — the record as a superuser sees it, without hidden fields unless the
//! webhook includes them, and never passwords nor `tokenKey`; `previous`
//! on updates only.

use std::sync::{Arc, atomic::Ordering};

use rusqlite::{Connection, types::Value as Sql};
use serde_json::{Map, Value};

use super::{
    Webhooks,
    model::{Event, Webhook},
};
use crate::{
    identity::Caller,
    query::compile::RequestInfo,
    records::{
        access::{Conditions, Requester},
        deps::TxHook,
        events::{ChangeAction, RecordChange},
        reveal,
        service::{matches_rule, read_shaped},
    },
    schema::{Catalog, Collection, CollectionKind},
};

/// Attempts per delivery before the queue gives up on it: with the
/// queue's backoff (10 s doubling to an hour, jittered to between half
/// and all of that) at least a day of trying and about a day and a half
/// on average, so that a receiver down for a day sees its webhook
/// disabled (`WebhookOptions::disable_after`) even if only one change
/// was waiting for it (a unit test adds up the shortest waits).
pub const MAX_ATTEMPTS: u32 = 60;

/// The event a change is for `hook`, if it hears it: a create in an auth
/// collection is a sign-up for a webhook that asks for those.
fn event_for(hook: &Webhook, c: &Collection, action: ChangeAction) -> Option<Event> {
    match action {
        ChangeAction::Create if c.kind == CollectionKind::Auth && hook.has(Event::SignUp) => {
            Some(Event::SignUp)
        }
        ChangeAction::Create => hook.has(Event::Create).then_some(Event::Create),
        ChangeAction::Update => hook.has(Event::Update).then_some(Event::Update),
        ChangeAction::Delete => hook.has(Event::Delete).then_some(Event::Delete),
    }
}

fn type_of(event: Event) -> &'static str {
    match event {
        Event::Create => "record.create",
        Event::Update => "record.update",
        Event::Delete => "record.delete",
        Event::SignUp => "auth.signup",
        Event::SignIn => "auth.signin",
    }
}

/// Whether record `id` of `c` matches `hook`'s filter, in `tx`. A filter
/// that does not compile for `c` (a `*` webhook naming a field `c`
/// lacks) matches nothing, and so does one SQLite cannot evaluate for
/// this record (a function given a value it refuses): a webhook's filter
/// never fails the write it listens to (see `TxHook`).
fn passes(
    tx: &Connection,
    catalog: &Catalog,
    c: &Collection,
    id: &str,
    hook: &Webhook,
) -> rusqlite::Result<bool> {
    if hook.filter.is_empty() {
        return Ok(true);
    }
    let nobody = Requester {
        caller: Caller::Guest,
        info: Arc::new(RequestInfo::default()),
    };
    let mut conditions = Conditions::default();
    conditions.params.push(Sql::Text(String::new()));
    if conditions.add_rule(catalog, c, &nobody, &hook.filter).is_err() {
        return Ok(false);
    }
    match matches_rule(tx, c, id, &conditions) {
        // SQLite's generic error: the query itself failed on this record.
        Err(err) if matches!(err.sqlite_error_code(), Some(rusqlite::ErrorCode::Unknown) | None) => {
            tracing::warn!(webhook = %hook.id, collection = %c.name, error = %err,
                "a webhook's filter could not be evaluated for a record; nothing is delivered for it");
            Ok(false)
        }
        // The database failing (I/O, a full disk): the write fails with it.
        other => other,
    }
}

/// A record as a delivery shows it: the map as it is, or without the
/// fields named in `hidden`. Serialized straight from the borrowed map:
/// building the body as a `Value` first (a copy of the record without its
/// hidden fields, then `json!`, which copies every part again through
/// `to_value`) cost a create about 20,000 instructions (callgrind).
struct Shown<'a> {
    record: &'a Map<String, Value>,
    hidden: &'a [&'a str],
}

impl serde::Serialize for Shown<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        for (k, v) in self.record {
            if !self.hidden.contains(&k.as_str()) {
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}

/// A delivery's body (documented in the module doc). The fields are
/// declared in the order of their names, the order the body had when it
/// was a `Value` (a sorted map), so the bytes sent did not change.
#[derive(serde::Serialize)]
struct Body<'a> {
    data: Data<'a>,
    timestamp: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(serde::Serialize)]
struct Data<'a> {
    collection: CollectionRef<'a>,
    event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous: Option<Shown<'a>>,
    record: Shown<'a>,
}

#[derive(serde::Serialize)]
struct CollectionRef<'a> {
    id: &'a str,
    name: &'a str,
}

/// Record `id` of `c` with the hidden fields a superuser sees.
fn whole(tx: &Connection, c: &Collection, id: &str) -> rusqlite::Result<Option<Map<String, Value>>> {
    read_shaped(tx, c, id)?
        .map(|record| revealed(tx, c, record))
        .transpose()
}

/// `record` (as the API shows it) with the hidden fields a superuser
/// sees, read from its row in `tx`.
fn revealed(
    tx: &Connection,
    c: &Collection,
    record: Map<String, Value>,
) -> rusqlite::Result<Map<String, Value>> {
    let mut records = [record];
    reveal::fill_for_superusers(tx, c, &mut records)?;
    let [record] = records;
    Ok(record)
}

impl Webhooks {
    /// Enqueues a delivery of `event` on record `record` of `c` to each
    /// webhook of `hooks` that passes its filter.
    fn enqueue_for(
        &self,
        tx: &Connection,
        catalog: &Catalog,
        c: &Collection,
        record: &Map<String, Value>,
        previous: Option<&Map<String, Value>>,
        hooks: &[(Arc<Webhook>, Event)],
    ) -> rusqlite::Result<()> {
        let id = record.get("id").and_then(Value::as_str).unwrap_or("");
        let mut with_hidden: Option<Map<String, Value>> = None;
        let hidden: Vec<&str> = c
            .fields
            .iter()
            .filter(|f| f.hidden)
            .map(|f| f.name.as_str())
            .collect();
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        for (hook, event) in hooks {
            if !passes(tx, catalog, c, id, hook)? {
                continue;
            }
            // The change's record, its hidden fields read once (a delete
            // is heard while its row is still there), for the webhooks
            // that include them.
            if hook.include_hidden && with_hidden.is_none() {
                with_hidden = Some(revealed(tx, c, record.clone())?);
            }
            let (shown, leave_out): (&Map<String, Value>, &[&str]) = match (&with_hidden, hook.include_hidden)
            {
                (Some(whole), true) => (whole, &[]),
                _ => (record, &hidden),
            };
            let body = Body {
                data: Data {
                    collection: CollectionRef {
                        id: &c.id,
                        name: &c.name,
                    },
                    event: event.as_str(),
                    previous: previous.map(|p| Shown {
                        record: p,
                        hidden: leave_out,
                    }),
                    record: Shown {
                        record: shown,
                        hidden: leave_out,
                    },
                },
                timestamp: &now,
                kind: type_of(*event),
            };
            // The job's payload is the body itself, as it will be sent;
            // its tag names the webhook. A map of JSON values always
            // serializes.
            let body = serde_json::to_string(&body).unwrap_or_default();
            let key = format!("{}:{}:{}", hook.id, c.id, id);
            enqueue(tx, key, hook.id.clone(), body)?;
            self.enqueued.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// The webhooks that hear `action` on `c`, with the event each hears.
    fn hearing(&self, c: &Collection, action: ChangeAction) -> Vec<(Arc<Webhook>, Event)> {
        self.active()
            .iter()
            .filter(|h| h.hears(c))
            .filter_map(|h| Some((h.clone(), event_for(h, c, action)?)))
            .collect()
    }

    /// Whether any delivery was enqueued since the last call (the queue
    /// is then woken, after the commit).
    pub fn take_enqueued(&self) -> bool {
        self.enqueued.swap(false, Ordering::AcqRel)
    }
}

impl TxHook for Webhooks {
    fn wants(&self, c: &Collection, action: ChangeAction) -> bool {
        let active = self.active();
        !active.is_empty()
            && active
                .iter()
                .any(|h| h.hears(c) && event_for(h, c, action).is_some())
    }

    fn before_update(
        &self,
        tx: &Connection,
        c: &Collection,
        id: &str,
    ) -> rusqlite::Result<Option<Map<String, Value>>> {
        if !self.wants(c, ChangeAction::Update) {
            return Ok(None);
        }
        whole(tx, c, id)
    }

    fn changed(
        &self,
        tx: &Connection,
        catalog: &Catalog,
        change: &RecordChange,
        previous: Option<&Map<String, Value>>,
    ) -> rusqlite::Result<()> {
        let hooks = self.hearing(&change.collection, change.action);
        if hooks.is_empty() {
            return Ok(());
        }
        self.enqueue_for(tx, catalog, &change.collection, &change.record, previous, &hooks)
    }

    fn signed_in(
        &self,
        tx: &Connection,
        catalog: &Catalog,
        c: &Arc<Collection>,
        record: &Map<String, Value>,
    ) -> rusqlite::Result<()> {
        let hooks: Vec<(Arc<Webhook>, Event)> = self
            .active()
            .iter()
            .filter(|h| h.hears(c) && h.has(Event::SignIn))
            .map(|h| (h.clone(), Event::SignIn))
            .collect();
        if hooks.is_empty() {
            return Ok(());
        }
        self.enqueue_for(tx, catalog, c, record, None, &hooks)
    }
}

/// A delivery job, in the open transaction.
fn enqueue(tx: &Connection, key: String, tag: String, payload: String) -> rusqlite::Result<()> {
    crate::jobs::enqueue(
        tx,
        &crate::jobs::NewJob {
            kind: super::KIND,
            key: Some(key),
            tag: Some(tag),
            payload,
            max_attempts: MAX_ATTEMPTS,
        },
    )
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body written from borrowed parts is the text the body built
    /// as a `Value` had (the form the README documents and receivers
    /// have seen): with and without `previous`, with the hidden fields
    /// left out or kept, and with text that needs escaping.
    #[test]
    fn the_body_is_the_text_it_was_as_a_value() {
        use serde_json::json;
        let mut secret = crate::schema::field::Field::plain_text("secret");
        secret.hidden = true;
        let c = Collection::unstored(
            "notes",
            vec![crate::schema::field::Field::plain_text("title"), secret],
        );
        let record = json!({"id": "r1", "title": "a \"quoted\" \u{e9}\n", "secret": "s", "n": 1.5, "tags": ["x", {"y": null}]});
        let record = record.as_object().expect("a map");
        let previous = json!({"id": "r1", "title": "old", "secret": "t"});
        let previous = previous.as_object().expect("a map");
        let hidden = ["secret"];
        for (prev, leave_out) in [
            (None, &hidden[..]),
            (Some(previous), &hidden[..]),
            (Some(previous), &[][..]),
        ] {
            let strip = |m: &Map<String, Value>| {
                let mut m = m.clone();
                for h in leave_out {
                    m.remove(*h);
                }
                m
            };
            let mut data = json!({
                "event": "update",
                "collection": {"id": c.id, "name": c.name},
                "record": strip(record),
            });
            if let Some(p) = prev {
                data["previous"] = Value::Object(strip(p));
            }
            let reference =
                json!({"type": "record.update", "timestamp": "2026-12-07T05:00:00.000Z", "data": data})
                    .to_string();
            let body = Body {
                data: Data {
                    collection: CollectionRef {
                        id: &c.id,
                        name: &c.name,
                    },
                    event: "update",
                    previous: prev.map(|p| Shown {
                        record: p,
                        hidden: leave_out,
                    }),
                    record: Shown {
                        record,
                        hidden: leave_out,
                    },
                },
                timestamp: "2026-12-07T05:00:00.000Z",
                kind: "record.update",
            };
            assert_eq!(serde_json::to_string(&body).expect("serializes"), reference);
        }
    }

    /// A delivery is not given up before its webhook has failed long
    /// enough to be disabled, however short the jitter makes each wait:
    /// otherwise a receiver down for a day, with one change waiting, saw
    /// its delivery dead and its webhook left enabled.
    #[test]
    fn a_delivery_outlasts_the_time_that_disables_its_webhook() {
        let limits = crate::jobs::Limits::default();
        let shortest: std::time::Duration = (1..MAX_ATTEMPTS).map(|a| limits.backoff_floor(a)).sum();
        let disable_after = super::super::WebhookOptions::default().disable_after;
        assert!(shortest >= disable_after, "{shortest:?} < {disable_after:?}");
    }
}
