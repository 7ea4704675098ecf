//! The dispatcher: turns each committed change into frames for the
//! clients allowed to see it.
//!
//! Checks are shared wherever the answer is provably the same (see
//! `Checks`): superusers and open rules need no query; otherwise a rule
//! and filter are compiled once per distinct caller and topic (all guests
//! on a topic are one), and queried once per distinct compiled condition,
//! which carries everything the answer takes from the caller. Expansion is
//! shared by caller, and the event JSON is serialized once per distinct
//! shape. All of a change's queries run in one read on a blocking thread.
//!
//! Every event is checked against the record as its change left it, never
//! as the row is when the dispatcher gets to it: by then a later write of
//! the same batch, or a quick next request, may have made a private record
//! public (its earlier, private version must not go out to those the public
//! one is for) or deleted it (its owner must still hear of its creation).
//! So the rule runs on the table while the row is still as the change
//! left it, and otherwise with the change's own values standing in for
//! the row (see `check`).

use std::{
    collections::HashMap,
    sync::{Arc, Weak},
};

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, params_from_iter, types::Value as Sql};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::{
    Broker, Work, accounts,
    client::{Client, Interest, frame},
    topic::{Subscription, Target},
};
use crate::{
    identity::{Caller, KeyAction},
    query::compile::{RequestInfo, RequestValues, RuleContext},
    records::{
        access::{Access, Conditions, Filter, Requester, decide},
        events::{ChangeAction, RecordChange},
        expand, shape, values,
    },
    schema::{Catalog, Collection, CollectionKind, Schema, sync::quote},
    store::{Database, StoreError},
};

/// What the dispatcher reads: the broker it serves, the data database
/// and the live collections. Held weakly and taken only for one batch of
/// changes, so the dispatcher keeps none of them alive: the broker owns
/// the sending end of `rx`, and a strong hold while waiting would keep
/// that channel open, and the dispatcher running, forever.
pub(super) struct Sources {
    pub broker: Weak<Broker>,
    pub db: Weak<Database>,
    pub schema: Weak<Schema>,
}

/// Runs until the broker is dropped (its channel closes) or any of the
/// sources is gone.
pub(super) async fn run(sources: Sources, mut rx: mpsc::Receiver<Work>) {
    while let Some(work) = rx.recv().await {
        let (Some(broker), Some(db), Some(schema)) = (
            sources.broker.upgrade(),
            sources.db.upgrade(),
            sources.schema.upgrade(),
        ) else {
            break;
        };
        match work {
            Work::Changes(changes) => {
                // The clients of accounts this write deleted hear all of
                // it as those accounts, as in PocketBase, which judges a
                // delete (and what it cascades to) before it happens: the
                // account hears of its own deletion, and a relation the
                // deletion empties is not taken for the now empty
                // `@request.auth.id`. Then they are signed out.
                let mut signed_out = Vec::new();
                for change in changes {
                    deliver(&broker, &db, &schema, change, &mut signed_out).await;
                }
                for (client, caller) in signed_out {
                    client.reauth(caller);
                }
            }
            Work::AccountsGone(collection_id) => accounts::collection_gone(&broker, &collection_id),
        }
    }
}

/// One subscription of one client that a change may concern.
struct Follower {
    client: Arc<Client>,
    caller: Caller,
    sub: Arc<Subscription>,
}

/// Sends `change` to the clients it concerns, as each may see it.
/// Clients whose account `change` deletes are added to `signed_out`.
async fn deliver(
    broker: &Broker,
    db: &Database,
    schema: &Schema,
    change: RecordChange,
    signed_out: &mut Vec<(Arc<Client>, Caller)>,
) {
    if change.collection.kind == CollectionKind::Auth {
        accounts::refresh(broker, db, &change, signed_out).await;
    }
    let c = &change.collection;
    let Some(id) = change.record.get("id").and_then(Value::as_str) else {
        return;
    };
    let names = |name: &str| name == c.name || name == c.id;
    let mut targets = Vec::new();
    for client in broker.following(&c.name, &c.id) {
        let Some(Interest {
            caller,
            subscriptions,
        }) = client.interest()
        else {
            continue;
        };
        for sub in subscriptions.iter() {
            let concerned = match &sub.target {
                Target::Collection(name) => names(name),
                Target::Record(name, rid) => names(name) && rid == id,
                Target::Named => false,
            };
            if concerned {
                targets.push(Follower {
                    client: client.clone(),
                    caller: caller.clone(),
                    sub: sub.clone(),
                });
            }
        }
    }
    if targets.is_empty() {
        return;
    }
    let catalog = schema.catalog();
    let frames = db
        .read(move |conn| Ok::<_, StoreError>(evaluate(conn, &catalog, &change, targets)))
        .await;
    match frames {
        Ok((frames, queries)) => {
            broker
                .rule_checks
                .fetch_add(queries, std::sync::atomic::Ordering::Relaxed);
            for (client, frame) in frames {
                broker.send(&client, frame);
            }
        }
        Err(err) => tracing::error!(error = %err, "realtime: cannot check a change's subscribers"),
    }
}

/// Who a subscriber is, for sharing answers: "" for guests. An API key
/// is told apart from its record's tokens: its scopes may hide what an
/// expansion would show the record.
fn auth_key(caller: &Caller) -> String {
    match (caller, caller.key()) {
        (Caller::Record(r, _), None) => format!("{}/{}", r.collection.id, r.id),
        (Caller::Record(r, _), Some(k)) => format!("{}/{}#{}", r.collection.id, r.id, k.id),
        (Caller::Guest, _) => String::new(),
    }
}

fn requester(caller: &Caller, sub: &Subscription) -> Requester {
    Requester {
        caller: caller.clone(),
        info: RequestInfo {
            auth: caller.rule_auth(),
            method: "GET".into(),
            context: RuleContext::Realtime,
            query: RequestValues::ready(sub.query.clone()),
            headers: RequestValues::ready(sub.headers.clone()),
            body: Map::new(),
        }
        .into(),
    }
}

/// Decides, for every target, whether and what it receives; and how many
/// rule queries that took.
fn evaluate(
    conn: &Connection,
    catalog: &Catalog,
    change: &RecordChange,
    targets: Vec<Follower>,
) -> (Vec<(Arc<Client>, Bytes)>, u64) {
    let c = &change.collection;
    let mut checks = Checks::default();
    let mut shapes: HashMap<(String, String, String), Arc<str>> = HashMap::new();
    let mut out = Vec::with_capacity(targets.len());
    let now = crate::datetime::now();
    for t in targets {
        // An API key that was revoked, changed or has expired since it
        // subscribed hears nothing more.
        if let Some(key) = t.caller.key()
            && !(key.is_live(&now) && key.allows(&c.id, KeyAction::Realtime))
        {
            continue;
        }
        let rule = match t.sub.target {
            Target::Record(..) => &c.rules.view,
            _ => &c.rules.list,
        };
        let access = decide(&t.caller, rule);
        let filter = t.sub.filter.as_ref();
        let allowed = match (&access, filter) {
            (Access::SuperusersOnly, _) => false,
            (Access::All, None) => true,
            (_, _) => checks.allowed(conn, catalog, change, &t, &access),
        };
        if !allowed {
            continue;
        }
        // Expansion depends on who asks; without it, only whether the
        // subscriber may see an account's email does.
        let who = if !t.sub.expand.is_empty() || t.caller.is_superuser() {
            // A superuser's event carries hidden fields (`reveal`): never
            // a shape another subscriber gets.
            auth_key(&t.caller)
        } else if shape::email_visible(c, &change.record, &t.caller) {
            "email".to_owned()
        } else if crate::records::manage::has_manage_rule(c) {
            // Whether the subscriber manages the account decides.
            auth_key(&t.caller)
        } else {
            String::new()
        };
        let key = (who, t.sub.expand_raw.clone(), t.sub.fields_raw.clone());
        let data = shapes
            .entry(key)
            .or_insert_with(|| shape(conn, catalog, change, &t.caller, &t.sub))
            .clone();
        out.push((t.client.clone(), frame(&t.client.id, &t.sub.key, &data)));
    }
    (out, checks.queries)
}

/// The answers of one change's rule checks, shared where they are
/// provably the same.
///
/// A subscriber's answer is fixed by who it is and by its topic string
/// (the rule follows from the topic's form, the filter and the
/// `@request.query`/`headers` values from its options), so subscribers
/// alike in both (all guests on one topic) compile once. The compiled
/// condition, SQL text and bound values, is then all the query depends on:
/// everything taken from the caller (its account for `@request.auth`, its
/// own id for the emails a client filter may match, whether it may use
/// hidden fields at all, whatever the rules of related collections make of
/// it) is either in that text or among those values. So equal conditions
/// share one query, and no caller ever receives another's answer; a
/// condition that reads nothing of the caller is queried once for guests
/// and accounts alike.
#[derive(Default)]
struct Checks {
    /// By (auth, topic key).
    by_subscriber: HashMap<(String, String), bool>,
    /// By compiled condition and its values.
    by_condition: HashMap<String, bool>,
    /// Queries run (`Broker::rule_checks` counts them all).
    queries: u64,
}

impl Checks {
    fn allowed(
        &mut self,
        conn: &Connection,
        catalog: &Catalog,
        change: &RecordChange,
        t: &Follower,
        access: &Access,
    ) -> bool {
        let key = (auth_key(&t.caller), t.sub.key.clone());
        if let Some(&known) = self.by_subscriber.get(&key) {
            return known;
        }
        let requester = requester(&t.caller, &t.sub);
        let answer = match conditions(catalog, change, &requester, access, t.sub.filter.as_ref()) {
            // A rule or filter this caller cannot use denies.
            None => false,
            Some(conditions) => {
                let key = format!("{}\u{0}{:?}", conditions.and_sql(), conditions.params);
                *self.by_condition.entry(key).or_insert_with(|| {
                    self.queries += 1;
                    check(conn, change, conditions)
                })
            }
        };
        self.by_subscriber.insert(key, answer);
        answer
    }
}

/// The rule and the subscriber's own filter compiled for this subscriber,
/// after the record id (`?1`); `None` if either is not usable by it.
fn conditions(
    catalog: &Catalog,
    change: &RecordChange,
    requester: &Requester,
    access: &Access,
    filter: Option<&Filter>,
) -> Option<Conditions> {
    let c = &change.collection;
    let id = change.record.get("id").and_then(Value::as_str).unwrap_or("");
    let mut conditions = Conditions::default();
    conditions.params.push(Sql::Text(id.to_owned()));
    let compiled = (|| {
        if let Access::Rule(expr) = access {
            conditions.add_rule(catalog, c, requester, expr)?;
        }
        if let Some(filter) = filter {
            // A superuser's filter may name hidden fields, as on the list
            // API. PocketBase 0.40's realtime never resolves them, even
            // for superusers, so such a subscription hears nothing there:
            // kept apart on purpose, since no client could want that.
            conditions.add_filter(catalog, c, requester, filter)?;
        }
        Ok::<_, crate::records::service::RecordError>(())
    })();
    match compiled {
        Ok(()) => Some(conditions),
        Err(err) => {
            tracing::warn!(collection = %c.name, error = %err, "realtime: rule or filter not usable");
            None
        }
    }
}

/// Whether the changed record passes `conditions`. A query that fails
/// denies.
///
/// While the row is still stored as the change left it (nearly always),
/// the rule is answered on the table itself, with its indexes, in the same
/// statement that compares the row (so no write can come between). Else
/// (a later write got there first, or it is a delete) it runs with the
/// change's values standing in for the row (`as_changed`).
fn check(conn: &Connection, change: &RecordChange, conditions: Conditions) -> bool {
    let c = &change.collection;
    let table = quote(&c.name);
    let and_sql = conditions.and_sql();
    let mut params = conditions.params;
    let run = |sql: &str, params: Vec<Sql>| -> rusqlite::Result<Option<(bool, bool)>> {
        conn.prepare_cached(sql)?
            .query_row(params_from_iter(params), |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
    };
    let answer = (|| {
        if change.action != ChangeAction::Delete {
            let mut with_row = params.clone();
            let same = same_as_changed(change, &mut with_row);
            let sql = format!(
                "SELECT {same}, EXISTS (SELECT 1 WHERE 1{and_sql}) FROM {table} WHERE {table}.id = ?1"
            );
            if let Some((true, allowed)) = run(&sql, with_row)? {
                return Ok(allowed);
            }
        }
        let prefix = as_changed(c, change, &mut params);
        let sql = format!("{prefix}SELECT 1, count(*) > 0 FROM {table} WHERE {table}.id = ?1{and_sql}");
        Ok::<_, rusqlite::Error>(run(&sql, params)?.is_some_and(|(_, allowed)| allowed))
    })();
    answer.unwrap_or_else(|err| {
        tracing::error!(collection = %c.name, error = %err, "realtime: rule check failed");
        false
    })
}

/// An expression true while the changed row holds every value the change
/// gave it (a value stored in another spelling reads as changed, which
/// only takes the slower, equally right, path).
fn same_as_changed(change: &RecordChange, params: &mut Vec<Sql>) -> String {
    let c = &change.collection;
    let table = quote(&c.name);
    let mut same = vec!["1".to_owned()];
    for f in &c.fields {
        let Some(v) = change.record.get(&f.name).or_else(|| change.hidden.get(&f.name)) else {
            continue;
        };
        params.push(values::to_sql(f, v));
        same.push(format!("{table}.{} IS ?{}", quote(&f.name), params.len()));
    }
    format!("({})", same.join(" AND "))
}

/// `WITH "name"(cols) AS (SELECT ?, … [UNION ALL SELECT cols FROM
/// main."name" WHERE id != ?1]) `: the collection as the change left it,
/// under its own name, so the compiled rule reads the changed record's
/// values where it would read its row. A schema-qualified name is the
/// table itself, never the common table expression it shadows. After a
/// create or update the other rows are there as stored (a relation back
/// into the same collection); a rule that reads the collection twice then
/// copies it whole, which only a write racing the dispatcher costs. A
/// deleted record stands alone, as the one row of its collection: a rule
/// reaching other rows of it through a relation reads none (PocketBase
/// checks before the delete), so a delete, on every event, copies nothing.
/// Hidden fields come from the values the write kept
/// (`RecordChange::hidden`): read as empty, a rule such as
/// `secret != 'private'` would announce a record to those it was hidden
/// from. Only passwords and `tokenKey` read as their zero value.
fn as_changed(c: &Collection, change: &RecordChange, params: &mut Vec<Sql>) -> String {
    let mut cols = Vec::with_capacity(c.fields.len());
    let mut marks = Vec::with_capacity(c.fields.len());
    for f in &c.fields {
        let v = (change.record.get(&f.name))
            .or_else(|| change.hidden.get(&f.name))
            .cloned()
            .unwrap_or_else(|| values::zero(f));
        params.push(values::to_sql(f, &v));
        cols.push(quote(&f.name));
        marks.push(format!("?{}", params.len()));
    }
    let (table, cols) = (quote(&c.name), cols.join(", "));
    let others = match change.action {
        ChangeAction::Delete => String::new(),
        _ => format!(" UNION ALL SELECT {cols} FROM main.{table} WHERE id != ?1"),
    };
    format!("WITH {table}({cols}) AS (SELECT {}{others}) ", marks.join(", "))
}

/// The event's JSON for one shape: expanded as the subscriber may see,
/// then trimmed to the fields asked for.
fn shape(
    conn: &Connection,
    catalog: &Catalog,
    change: &RecordChange,
    caller: &Caller,
    sub: &Subscription,
) -> Arc<str> {
    let mut records = vec![change.record.clone()];
    // What a superuser sees of the record as the change left it, kept by
    // the write (the row may have changed or gone since).
    crate::records::reveal::fill_kept(caller, &mut records[0], &change.hidden);
    if !sub.expand.is_empty() {
        let requester = requester(caller, sub);
        if let Err(err) = expand::apply(
            conn,
            catalog,
            &requester,
            &change.collection,
            &mut records,
            &sub.expand,
        ) {
            tracing::warn!(error = %err, "realtime: expand failed; sending the record unexpanded");
        }
    }
    let mut record = records.pop().map(Value::Object).unwrap_or(Value::Null);
    let mut hidden = Vec::new();
    shape::hidden_email_records(&mut record, catalog, caller, &mut hidden);
    let managed = if crate::records::manage::any_manage_rule(catalog, &hidden) {
        crate::records::manage::managed_among(conn, catalog, &requester(caller, sub), &hidden)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    shape::hide_private_emails(&mut record, catalog, caller, &managed);
    if let Some(fields) = &sub.fields {
        fields.apply(&mut record);
    }
    json!({"action": change.action.as_str(), "record": record})
        .to_string()
        .into()
}
