//! What an API key lets its holder do, as the caller carries it: the
//! scopes that narrow the bound record's rights, and whether the key is
//! still good. Issuing, storing and resolving keys is `keys`'; this is
//! the value every service that authorizes an action reads (records,
//! realtime), kept here so that none of them has to import `keys`.

use tokio_util::sync::CancellationToken;

/// One thing a scope may allow on a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyAction {
    List,
    View,
    Create,
    Update,
    Delete,
    Realtime,
}

impl KeyAction {
    pub const ALL: [KeyAction; 6] = [
        Self::List,
        Self::View,
        Self::Create,
        Self::Update,
        Self::Delete,
        Self::Realtime,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::List => "list",
            Self::View => "view",
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Realtime => "realtime",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// The actions a key may take on one collection (by id, so a renamed
/// collection keeps its scope and a new one of the same name gets none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub collection_id: String,
    pub actions: Vec<KeyAction>,
}

/// A resolved key, shared by every request that presents it until the
/// key changes. A change (update, revocation) retires the value, so that
/// holders of it that outlive a request (a realtime subscription) stop.
#[derive(Debug)]
pub struct KeyGrant {
    pub id: String,
    /// Empty: the bound record's full rights.
    pub scopes: Vec<Scope>,
    /// `datetime` text; empty for a key that does not expire.
    pub expires: String,
    /// The collections the scopes let the key list or view: the only ones
    /// its filters and sorts may reach through relations.
    readable: Vec<String>,
    /// Cancelled when the key changes or is revoked; holders that outlive
    /// a request wait on it (`retirement`) to end at once.
    retired: CancellationToken,
}

impl KeyGrant {
    pub fn new(id: String, scopes: Vec<Scope>, expires: String) -> Self {
        let readable = scopes
            .iter()
            .filter(|s| {
                s.actions
                    .iter()
                    .any(|a| matches!(a, KeyAction::List | KeyAction::View))
            })
            .map(|s| s.collection_id.clone())
            .collect();
        Self {
            id,
            scopes,
            readable,
            expires,
            retired: CancellationToken::new(),
        }
    }

    /// Whether the scopes allow `action` on collection `collection_id`.
    pub fn allows(&self, collection_id: &str, action: KeyAction) -> bool {
        self.scopes.is_empty()
            || self
                .scopes
                .iter()
                .any(|s| s.collection_id == collection_id && s.actions.contains(&action))
    }

    /// What the key's own filters and sorts may reach: `None` for a key
    /// without scopes (its record's full rights), else the collections it
    /// may list or view.
    pub fn filter_reach(&self) -> Option<&[String]> {
        (!self.scopes.is_empty()).then_some(self.readable.as_slice())
    }

    /// Not retired, and not expired at `now` (`datetime` text).
    pub fn is_live(&self, now: &str) -> bool {
        !self.is_retired() && !self.is_expired(now)
    }

    /// Expired at `now` (`datetime` text).
    pub fn is_expired(&self, now: &str) -> bool {
        !self.expires.is_empty() && now >= self.expires.as_str()
    }

    /// The key changed or was revoked since this value was made.
    pub fn is_retired(&self) -> bool {
        self.retired.is_cancelled()
    }

    /// Cancelled when this value is retired (a realtime stream opened
    /// with the key ends then); cancelling it retires nothing.
    pub fn retirement(&self) -> CancellationToken {
        self.retired.child_token()
    }

    /// The key changed or was revoked: this value no longer speaks for it.
    pub fn retire(&self) {
        self.retired.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_narrow_and_none_means_everything() {
        let full = KeyGrant::new("k".into(), vec![], String::new());
        assert!(full.allows("any", KeyAction::Delete));
        let narrow = KeyGrant::new(
            "k".into(),
            vec![Scope {
                collection_id: "posts".into(),
                actions: vec![KeyAction::List, KeyAction::Realtime],
            }],
            String::new(),
        );
        assert!(narrow.allows("posts", KeyAction::List));
        assert!(narrow.allows("posts", KeyAction::Realtime));
        assert!(!narrow.allows("posts", KeyAction::View));
        assert!(!narrow.allows("users", KeyAction::List));
        for a in KeyAction::ALL {
            assert_eq!(KeyAction::parse(a.as_str()), Some(a));
        }
        assert_eq!(KeyAction::parse("LIST"), None);
    }

    #[test]
    fn expiry_and_retirement_end_a_grant() {
        let g = KeyGrant::new("k".into(), vec![], "2030-01-01 00:00:00.000Z".into());
        assert!(g.is_live("2029-12-31 23:59:59.999Z"));
        assert!(!g.is_live("2030-01-01 00:00:00.000Z"));
        g.retire();
        assert!(!g.is_live("2000-01-01 00:00:00.000Z"));
    }
}
