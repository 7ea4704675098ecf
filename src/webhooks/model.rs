//! A webhook as stored, its events, and the checks a superuser's draft
//! must pass before it is saved (every problem at once, named by field).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::sign;
use crate::outbound::target;
use crate::{
    schema::{Catalog, CollectionKind},
    validation::{ErrorTree, FieldError},
};

/// What happened to a record that a webhook may be told of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Event {
    #[serde(rename = "create")]
    Create,
    #[serde(rename = "update")]
    Update,
    #[serde(rename = "delete")]
    Delete,
    /// A record created in an auth collection: an account signed up (or
    /// was created for someone).
    #[serde(rename = "auth.signup")]
    SignUp,
    /// An account authenticated successfully (any method; after MFA, once
    /// the session is open).
    #[serde(rename = "auth.signin")]
    SignIn,
}

impl Event {
    pub const ALL: [Event; 5] = [
        Event::Create,
        Event::Update,
        Event::Delete,
        Event::SignUp,
        Event::SignIn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::SignUp => "auth.signup",
            Self::SignIn => "auth.signin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// Whether only auth collections have it.
    pub fn auth_only(self) -> bool {
        matches!(self, Self::SignUp | Self::SignIn)
    }
}

/// `collection` of a webhook that hears every collection.
pub const ANY_COLLECTION: &str = "*";

/// A stored webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub id: String,
    pub name: String,
    /// A collection id, or `*`.
    pub collection: String,
    pub events: Vec<Event>,
    /// A rule expression the record must match; empty for every record.
    pub filter: String,
    pub url: String,
    pub secret: String,
    /// The secret `secret` replaced, still signing beside it until
    /// `previous_secret_until` so receivers can switch without a gap;
    /// both empty when there is none.
    pub previous_secret: String,
    pub previous_secret_until: String,
    pub enabled: bool,
    /// Whether the record in the payload carries its hidden fields
    /// (never passwords nor `tokenKey`).
    pub include_hidden: bool,
    /// When the current run of failures began (empty when not failing).
    pub failing_since: String,
    /// Why Cairn disabled it, if it did.
    pub disabled_reason: String,
    pub created: String,
    pub updated: String,
}

impl Webhook {
    /// A blank, enabled webhook made at `now`, before a draft fills it.
    pub fn new(id: String, now: String) -> Self {
        Self {
            id,
            name: String::new(),
            collection: String::new(),
            events: Vec::new(),
            filter: String::new(),
            url: String::new(),
            secret: String::new(),
            previous_secret: String::new(),
            previous_secret_until: String::new(),
            enabled: true,
            include_hidden: false,
            failing_since: String::new(),
            disabled_reason: String::new(),
            created: now.clone(),
            updated: now,
        }
    }

    /// Whether it hears changes to collection `c`. `*` means the app's
    /// collections: system ones (`_superusers`, `_externalAuths`, …) only
    /// when named, so a catch-all webhook never sends superusers' records
    /// and sign-ins off the server unasked.
    pub fn hears(&self, c: &crate::schema::Collection) -> bool {
        self.enabled && (self.collection == c.id || (self.collection == ANY_COLLECTION && !c.system))
    }

    pub fn has(&self, event: Event) -> bool {
        self.events.contains(&event)
    }

    /// The secrets a delivery made at `now` is signed with: the current
    /// one, and the one it replaced while that still overlaps.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if self.previous_secret_signs(now) {
            secrets.push(&self.previous_secret);
        }
        secrets
    }

    /// Whether the replaced secret still signs at `now`.
    pub fn previous_secret_signs(&self, now: DateTime<Utc>) -> bool {
        !self.previous_secret.is_empty()
            && crate::datetime::parse(&self.previous_secret_until).is_some_and(|until| now < until)
    }
}

/// How long a replaced secret may keep signing, at most: a week.
pub const MAX_PREVIOUS_SECRET_HOURS: u32 = 168;

/// The enabled webhooks, as the write path sees them.
pub type Active = Arc<Vec<Arc<Webhook>>>;

/// A superuser's changes to a webhook: `None` leaves a value as it is
/// (or at its default, for a new one).
#[derive(Debug, Default, Clone)]
pub struct Draft {
    pub name: Option<String>,
    pub collection: Option<String>,
    pub events: Option<Vec<String>>,
    pub filter: Option<String>,
    pub url: Option<String>,
    pub secret: Option<String>,
    /// How long from now the secret this change replaces (or, with no new
    /// secret, the one replaced before, if it still signs) keeps signing
    /// beside the new one; 0 (the default) ends it at once.
    pub previous_secret_hours: Option<u32>,
    pub enabled: Option<bool>,
    pub include_hidden: Option<bool>,
}

/// Applies `draft` to `hook` (a new one starts blank) at `now`, checking
/// every value; `allow_private` is the operator's SSRF switch.
pub fn apply(
    catalog: &Catalog,
    allow_private: bool,
    hook: &mut Webhook,
    draft: Draft,
    now: DateTime<Utc>,
) -> Result<(), ErrorTree> {
    let mut errors = ErrorTree::new();
    if let Some(name) = draft.name {
        hook.name = name.trim().to_owned();
    }
    if hook.name.chars().count() > 100 {
        errors.add(
            &["name"],
            FieldError::new(
                "validation_length_out_of_range",
                "Must be at most 100 characters.",
            ),
        );
    }
    if let Some(c) = draft.collection {
        let c = c.trim();
        hook.collection = match catalog.get(c) {
            _ if c == ANY_COLLECTION => c.to_owned(),
            Some(found) if found.kind != CollectionKind::View => found.id.clone(),
            Some(_) => {
                errors.add(
                    &["collection"],
                    FieldError::new(
                        "validation_invalid_collection",
                        "View collections have no writes to hear of.",
                    ),
                );
                c.to_owned()
            }
            None => {
                errors.add(&["collection"], missing_collection(c));
                c.to_owned()
            }
        };
    }
    let collection = catalog.get(&hook.collection).cloned();
    if hook.collection.is_empty() {
        errors.add(&["collection"], FieldError::required());
    } else if hook.collection != ANY_COLLECTION && collection.is_none() {
        errors.add(&["collection"], missing_collection(&hook.collection));
    }
    if let Some(events) = draft.events {
        let mut parsed = Vec::new();
        for e in &events {
            match Event::parse(e.trim()) {
                Some(e) if !parsed.contains(&e) => parsed.push(e),
                Some(_) => {}
                None => errors.add(
                    &["events"],
                    FieldError::new(
                        "validation_invalid_event",
                        format!(
                            "Unknown event {e:?}; one of create, update, delete, auth.signup, auth.signin."
                        ),
                    ),
                ),
            }
        }
        hook.events = parsed;
    }
    if hook.events.is_empty() {
        errors.add(
            &["events"],
            FieldError::new("validation_required", "Choose at least one event."),
        );
    } else if let Some(c) = &collection
        && c.kind != CollectionKind::Auth
        && hook.events.iter().any(|e| e.auth_only())
    {
        errors.add(
            &["events"],
            FieldError::new(
                "validation_invalid_event",
                "auth.signup and auth.signin are events of auth collections only.",
            ),
        );
    }
    if let Some(filter) = draft.filter {
        hook.filter = filter.trim().to_owned();
    }
    if !hook.filter.is_empty() {
        let problem = match &collection {
            Some(c) => crate::query::collections::rule_problem(catalog, c, &hook.filter),
            // Any collection: the expression must parse; where it names a
            // field a collection lacks, that collection's records do not match.
            None => crate::query::parser::parse(&hook.filter)
                .err()
                .map(|e| e.to_string()),
        };
        if let Some(problem) = problem {
            errors.add(
                &["filter"],
                FieldError::new(
                    "validation_invalid_rule",
                    format!("Invalid rule. Raw error: {problem}."),
                ),
            );
        }
    }
    if let Some(url) = draft.url {
        hook.url = url.trim().to_owned();
    }
    if hook.url.is_empty() {
        errors.add(&["url"], FieldError::required());
    } else if hook.url.len() > 2000 {
        errors.add(
            &["url"],
            FieldError::new(
                "validation_length_out_of_range",
                "Must be at most 2000 characters.",
            ),
        );
    } else if let Err(e) = target::parse(&hook.url, allow_private) {
        let (code, message) = match e {
            // Says how to allow one: a receiver on this host is the usual
            // first webhook.
            target::TargetError::Private(_) => (
                "validation_private_target",
                format!(
                    "{e}. To send to this host or its network, start Cairn with --webhooks-allow-private."
                ),
            ),
            _ => ("validation_invalid_url", format!("{e}.")),
        };
        errors.add(
            &["url"],
            FieldError::new(code, message).with_params(json!({"allowPrivate": allow_private})),
        );
    }
    let replaced = hook.secret.clone();
    match draft.secret.map(|s| s.trim().to_owned()) {
        Some(s) if s.is_empty() => hook.secret = sign::generate_secret(),
        Some(s) => {
            if sign::key_of(&s).is_none() {
                errors.add(
                    &["secret"],
                    FieldError::new(
                        "validation_invalid_secret",
                        "Must be whsec_ followed by the base64 of 24 to 64 bytes; leave it empty to have one generated.",
                    ),
                );
            }
            hook.secret = s;
        }
        None if hook.secret.is_empty() => hook.secret = sign::generate_secret(),
        None => {}
    }
    let rotated = !replaced.is_empty() && replaced != hook.secret;
    if rotated {
        // The old secret stops at once unless the draft keeps it a while.
        hook.previous_secret = replaced;
        hook.previous_secret_until.clear();
    }
    match draft.previous_secret_hours {
        Some(h) if h > MAX_PREVIOUS_SECRET_HOURS => errors.add(
            &["previousSecretHours"],
            FieldError::new(
                "validation_max_less_equal_than_required",
                format!("Must be no greater than {MAX_PREVIOUS_SECRET_HOURS} (a week)."),
            )
            .with_params(json!({"threshold": MAX_PREVIOUS_SECRET_HOURS})),
        ),
        Some(h) if h > 0 && (rotated || hook.previous_secret_signs(now)) => {
            hook.previous_secret_until = crate::datetime::format(now + chrono::Duration::hours(i64::from(h)));
        }
        Some(_) => hook.previous_secret_until.clear(),
        None => {}
    }
    if !hook.previous_secret_signs(now) {
        hook.previous_secret.clear();
        hook.previous_secret_until.clear();
    }
    if let Some(enabled) = draft.enabled {
        if enabled && !hook.enabled {
            // Enabled again by a superuser: a fresh start.
            hook.failing_since.clear();
            hook.disabled_reason.clear();
        }
        hook.enabled = enabled;
    }
    if let Some(hidden) = draft.include_hidden {
        hook.include_hidden = hidden;
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

fn missing_collection(c: &str) -> FieldError {
    FieldError::new(
        "validation_missing_collection",
        format!("No collection {c:?}; name one, or * for all."),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn hook() -> Webhook {
        Webhook {
            collection: ANY_COLLECTION.into(),
            events: vec![Event::Create],
            url: "http://127.0.0.1:9/in".into(),
            secret: sign::generate_secret(),
            ..Webhook::new("h".into(), String::new())
        }
    }

    fn change(
        h: &mut Webhook,
        secret: Option<&str>,
        hours: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<(), ErrorTree> {
        let draft = Draft {
            secret: secret.map(str::to_owned),
            previous_secret_hours: hours,
            ..Draft::default()
        };
        apply(&Catalog::default(), true, h, draft, now)
    }

    #[test]
    fn a_replaced_secret_signs_beside_the_new_one_for_the_hours_asked_then_stops() {
        let now = Utc::now();
        let mut h = hook();
        let first = h.secret.clone();
        change(&mut h, Some(""), Some(24), now).unwrap();
        let second = h.secret.clone();
        assert_ne!(second, first);
        assert_eq!(h.signing_secrets(now), [second.as_str(), first.as_str()]);
        let hour = Duration::hours(1);
        assert_eq!(h.signing_secrets(now + hour * 23).len(), 2);
        assert_eq!(
            h.signing_secrets(now + hour * 24),
            [second.as_str()],
            "it ends when its time is up"
        );

        // Cut short (the old one leaked): 0 without a new secret.
        change(&mut h, None, Some(0), now + hour).unwrap();
        assert_eq!(h.signing_secrets(now + hour), [second.as_str()]);
        assert!(h.previous_secret.is_empty() && h.previous_secret_until.is_empty());
        // …and it cannot be brought back: nothing is left to extend.
        change(&mut h, None, Some(24), now + hour).unwrap();
        assert_eq!(h.signing_secrets(now + hour), [second.as_str()]);
    }

    #[test]
    fn without_hours_a_rotation_ends_the_old_secret_at_once() {
        let now = Utc::now();
        let mut h = hook();
        let given = sign::generate_secret();
        change(&mut h, Some(&given), None, now).unwrap();
        assert_eq!(h.signing_secrets(now), [given.as_str()]);
        // The same secret again is no rotation: an overlap in force stays.
        let mut h = hook();
        let first = h.secret.clone();
        change(&mut h, Some(""), Some(2), now).unwrap();
        let current = h.secret.clone();
        change(&mut h, Some(&current), None, now).unwrap();
        assert_eq!(h.signing_secrets(now), [current.as_str(), first.as_str()]);
        // A second rotation replaces the overlap: only the last secret
        // replaced signs beside the new one.
        change(&mut h, Some(""), Some(1), now).unwrap();
        assert_eq!(h.signing_secrets(now), [h.secret.as_str(), current.as_str()]);
    }

    #[test]
    fn more_than_a_week_is_refused_and_a_new_webhook_has_nothing_to_keep() {
        let now = Utc::now();
        let mut h = hook();
        let errors = change(&mut h, Some(""), Some(MAX_PREVIOUS_SECRET_HOURS + 1), now).unwrap_err();
        let errors = errors.into_map();
        assert_eq!(
            errors["previousSecretHours"]["code"], "validation_max_less_equal_than_required",
            "{errors:?}"
        );
        let mut h = hook();
        h.secret.clear();
        change(&mut h, None, Some(MAX_PREVIOUS_SECRET_HOURS), now).unwrap();
        assert_eq!(h.signing_secrets(now).len(), 1);
        assert!(h.previous_secret.is_empty());
    }
}
