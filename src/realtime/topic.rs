//! Subscription topics as the SDKs send them: `collection/*` (every record
//! the list rule lets the subscriber see), `collection/RECORD_ID` (one
//! record, under the view rule), the bare `collection` (PocketBase's older
//! form of `collection/*`, which community SDKs still send), each by
//! collection name or id; `@oauth2`, the one name that direct messages
//! use; or `PB_CONNECT`, the connect event, which the SDK lists among its
//! topics when an app listens for reconnections. Anything else would never receive an event, so it is refused
//! rather than accepted and left silent. A topic may carry
//! `?options={"query":{…},"headers":{…}}` (URL-encoded JSON): `expand`,
//! `fields` and `filter` in `query` shape and narrow the events, and both
//! maps stand in for `@request.query` / `@request.headers` in rules.
//!
//! The whole string, options included, is the subscription's key and the
//! SSE event name the SDK listens on.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::{
    fields_param::FieldsTree,
    records::{access::Filter, expand::ExpandTree, values},
    schema::{Catalog, CollectionKind},
    validation::FieldError,
};

/// The topic of the OAuth2 redirect's direct message.
pub const OAUTH2: &str = "@oauth2";
/// The event that opens every stream.
pub const CONNECT: &str = "PB_CONNECT";

/// PocketBase's bounds: the SDK never comes near them, a runaway client does.
pub const MAX_TOPICS: usize = 1000;
pub const MAX_TOPIC_LEN: usize = 2500;

/// Which records a subscription follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `collection/*` or `collection`: every record, under the list rule.
    Collection(String),
    /// `collection/id`: one record, under the view rule.
    Record(String, String),
    /// `@oauth2` or `PB_CONNECT`, or a topic no record event can match
    /// (`@other`, `a/b/c`, options that cannot be read): no record events.
    /// PocketBase keeps such topics and never delivers to them; refusing
    /// one refused the SDK's whole set, which it sends again on every
    /// subscribe and reconnect, so one such topic ended the client's
    /// realtime for good.
    Named,
}

/// One parsed subscription.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// The topic exactly as sent: the SSE event name.
    pub key: String,
    /// The key without its options.
    pub topic: String,
    pub target: Target,
    pub expand: ExpandTree,
    /// The raw `expand` option, for grouping subscribers that shape alike.
    pub expand_raw: String,
    pub fields: Option<FieldsTree>,
    pub fields_raw: String,
    pub filter: Option<Filter>,
    /// `@request.query` and `@request.headers` for rule checks.
    /// Shared by every rule check of every event the subscription gets.
    pub query: Arc<Map<String, Value>>,
    pub headers: Arc<Map<String, Value>>,
}

impl Subscription {
    /// The collection (name or id, as written) whose changes it follows.
    pub fn collection(&self) -> Option<&str> {
        match &self.target {
            Target::Collection(c) | Target::Record(c, _) => Some(c),
            Target::Named => None,
        }
    }
}

/// PocketBase's code for a topic it will not follow, with its message.
fn invalid_topic(message: impl Into<std::borrow::Cow<'static, str>>) -> FieldError {
    FieldError::new("validation_invalid_topic", message)
}

fn invalid() -> FieldError {
    invalid_topic("Invalid topic.")
}

/// Parses one topic, or says what is wrong with it (as a field error).
pub fn parse(key: &str) -> Result<Subscription, FieldError> {
    if key.chars().count() > MAX_TOPIC_LEN {
        return Err(FieldError::new(
            "validation_length_too_long",
            format!("The length must be no more than {MAX_TOPIC_LEN}."),
        )
        .with_params(serde_json::json!({"max": MAX_TOPIC_LEN, "min": 0})));
    }
    // A line break would end the SSE `event:` line the key is sent in.
    if key.trim().is_empty() || key.contains(['\r', '\n']) {
        return Err(invalid());
    }
    let (topic, suffix) = key.split_once('?').unwrap_or((key, ""));
    let target = match topic.split_once('/') {
        None if topic == OAUTH2 || topic == CONNECT => Target::Named,
        // Collection names never start with `@`: any other such name is a
        // direct-message topic nothing here sends to.
        None if topic.is_empty() || topic.starts_with('@') => Target::Named,
        None => Target::Collection(topic.to_owned()),
        Some(("", _)) => Target::Named,
        Some((c, "*")) => Target::Collection(c.to_owned()),
        // An id names one record: any text without a slash or a space.
        Some((c, id)) if !id.is_empty() && !id.contains(['/', ' ', '\t']) => {
            Target::Record(c.to_owned(), id.to_owned())
        }
        Some(_) => Target::Named,
    };
    let mut sub = Subscription {
        key: key.to_owned(),
        topic: topic.to_owned(),
        target,
        expand: ExpandTree::default(),
        expand_raw: String::new(),
        fields: None,
        fields_raw: String::new(),
        filter: None,
        query: Arc::default(),
        headers: Arc::default(),
    };
    // Options that cannot be read make a topic that never delivers, as
    // in PocketBase (see `Target::Named`).
    let unreadable = |mut sub: Subscription| {
        sub.target = Target::Named;
        Ok(sub)
    };
    // The first `options` is the one read, as PocketBase reads it
    // (`url.Values.Get`); any repeat is part of the key and nothing more.
    let options = suffix
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .find(|(name, _)| *name == "options");
    if let Some((_, raw)) = options {
        let Some(options) = percent_decode(raw).and_then(|json| serde_json::from_str::<Value>(&json).ok())
        else {
            return unreadable(sub);
        };
        let strings = |v: Option<&Value>| -> Map<String, Value> {
            v.and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            let s = match v {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            (k.clone(), Value::String(s))
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        sub.query = strings(options.get("query")).into();
        // Header names as rules see them: lower-case, `-` as `_`.
        sub.headers = strings(options.get("headers"))
            .into_iter()
            .map(|(k, v)| (crate::query::compile::header_key(&k), v))
            .collect::<Map<String, Value>>()
            .into();
    }
    let option = |name: &str| {
        sub.query
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if let Some(raw) = option("expand") {
        sub.expand = ExpandTree::parse(&raw);
        sub.expand_raw = raw;
    }
    if let Some(raw) = option("fields") {
        let Ok(fields) = FieldsTree::parse(&raw) else {
            return unreadable(sub);
        };
        sub.fields = fields;
        sub.fields_raw = raw;
    }
    sub.filter = option("filter").as_deref().and_then(Filter::parse);
    Ok(sub)
}

/// Parses one topic, as PocketBase keeps it: one that names no collection
/// of `catalog`, a view (whose rows are never written) or an id its
/// collection cannot have is kept and never delivers, as there; the
/// server's debug log says why, for the developer wondering.
pub fn parse_in(key: &str, catalog: &Catalog) -> Result<Subscription, FieldError> {
    let sub = parse(key)?;
    // Only for the log: a subscribe (up to 1,000 topics) does not look
    // each one up in the catalog otherwise.
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return Ok(sub);
    }
    if let Some(name) = sub.collection() {
        let found = catalog.all().find(|c| c.name == name || c.id == name);
        let why = match found {
            None => "names no collection",
            Some(c) if c.kind == CollectionKind::View => "names a view, which has no realtime events",
            Some(c)
                if let Target::Record(_, id) = &sub.target
                    && c.field("id")
                        .and_then(|f| values::check(f, &serde_json::json!(id)))
                        .is_some() =>
            {
                "names an id its collection cannot have"
            }
            Some(_) => return Ok(sub),
        };
        tracing::debug!(topic = %sub.topic, "a realtime topic that will never deliver: it {why}");
    } else if sub.target == Target::Named && sub.topic != OAUTH2 && sub.topic != CONNECT {
        tracing::debug!(topic = %sub.topic, "a realtime topic that will never deliver");
    }
    Ok(sub)
}

/// Decodes `%XX` escapes and `+` (as a space), as a query string encodes them.
fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = raw.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            parse("posts/*").unwrap().target,
            Target::Collection("posts".into())
        );
        assert_eq!(
            parse("posts/abcdefghij12345").unwrap().target,
            Target::Record("posts".into(), "abcdefghij12345".into())
        );
        assert_eq!(
            parse("posts?options=%7B%7D").unwrap().target,
            Target::Collection("posts".into())
        );
        assert_eq!(parse("@oauth2").unwrap().target, Target::Named);
        assert_eq!(parse("@oauth2?x=1").unwrap().target, Target::Named);
        assert_eq!(parse("PB_CONNECT").unwrap().target, Target::Named);
        // Kept, as PocketBase keeps them, and never delivered to.
        for never in ["/*", "posts/", "posts/*/x", "posts/a b", "@other", "?x"] {
            assert_eq!(parse(never).unwrap().target, Target::Named, "{never:?}");
        }
        // Refused: nothing, and a line break (it would end the SSE line
        // the topic is sent in).
        for refused in ["", " ", "a\nb", "a\rb"] {
            assert!(parse(refused).is_err(), "{refused:?}");
        }
        assert_eq!(
            parse(&"x".repeat(2501)).unwrap_err().code,
            "validation_length_too_long"
        );
        assert!(parse(&"x".repeat(2500)).is_ok());
    }

    #[test]
    fn collections_by_exact_name_or_id() {
        let catalog = Catalog::from_collections(vec![crate::schema::defaults::users()]);
        let users = catalog.all().next().unwrap().clone();
        assert!(parse_in("users/*", &catalog).is_ok());
        assert!(parse_in("users", &catalog).is_ok());
        assert!(parse_in(&format!("{}/abcdefghij12345", users.id), &catalog).is_ok());
        assert!(parse_in("@oauth2", &catalog).is_ok());
        // Kept, as PocketBase keeps them: no event matches them.
        for never in [
            "Users/*",
            "posts/*",
            "posts",
            "abcdefghij12345",
            "users/abc",
            "users/not-an-id-123",
        ] {
            assert!(parse_in(never, &catalog).is_ok(), "{never:?}");
        }
    }

    #[test]
    fn options_as_the_sdk_encodes_them() {
        // encodeURIComponent(JSON.stringify({query: {...}, headers: {...}}))
        let key = "posts/*?options=%7B%22query%22%3A%7B%22fields%22%3A%22id%2Ctitle%22%2C%22expand%22%3A%22author%22%2C%22filter%22%3A%22title%20%3D%201%22%7D%2C%22headers%22%3A%7B%22X-Team%22%3A%22a%22%7D%7D";
        let sub = parse(key).unwrap();
        assert_eq!(sub.key, key);
        assert_eq!(sub.topic, "posts/*");
        assert_eq!(sub.fields_raw, "id,title");
        assert_eq!(sub.expand_raw, "author");
        assert_eq!(sub.filter, Filter::parse("title = 1"));
        assert_eq!(sub.headers["x_team"], "a");
        // Unreadable options: kept, never delivered (PocketBase's way).
        assert_eq!(
            parse("posts/*?options=%7Bnot-json").unwrap().target,
            Target::Named
        );
        let twice = "posts/*?options=%7B%22query%22%3A%7B%22fields%22%3A%22id%22%7D%7D&options=%7Bnot-json";
        assert_eq!(
            parse(twice).unwrap().fields_raw,
            "id",
            "the first options is read"
        );
        assert_eq!(parse("posts/*?options=%zz").unwrap().target, Target::Named);
    }
}
