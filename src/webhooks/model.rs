//! A webhook as stored, its events, and the checks a superuser's draft
//! must pass before it is saved (every problem at once, named by field).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{sign, target};
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
}

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
    pub enabled: Option<bool>,
    pub include_hidden: Option<bool>,
}

/// Applies `draft` to `hook` (a new one starts blank), checking every
/// value; `allow_private` is the operator's SSRF switch.
pub fn apply(
    catalog: &Catalog,
    allow_private: bool,
    hook: &mut Webhook,
    draft: Draft,
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
        let code = match e {
            target::TargetError::Private(_) => "validation_private_target",
            _ => "validation_invalid_url",
        };
        errors.add(
            &["url"],
            FieldError::new(code, format!("{e}.")).with_params(json!({"allowPrivate": allow_private})),
        );
    }
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
