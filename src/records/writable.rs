//! What a client may write: a hidden field belongs to the server (a
//! `role`, a `plan`, a `banned` flag), so from anyone but a superuser its
//! values are dropped, silently, as PocketBase drops them. They go before
//! anything reads the body, rules included: PocketBase's
//! `@request.body.role` never sees a client's `role`, and neither does
//! Cairn's.

use serde_json::{Map, Value};

use super::access::Requester;
use crate::{files::Upload, schema::Collection};

/// The field name a body or form key writes: `name`, or `+name`,
/// `name+`, `name-` (the modifiers).
fn target(key: &str) -> [&str; 2] {
    let bare = key
        .strip_prefix('+')
        .or_else(|| key.strip_suffix('+'))
        .or_else(|| key.strip_suffix('-'))
        .unwrap_or(key);
    [key, bare]
}

/// Drops from `body` and `uploads` what `requester` may not write to `c`.
/// When something went, returns the requester to use instead, its
/// `@request.body` stripped the same way; `None` leaves `requester` as it is
/// (superusers, and the usual body with nothing to drop, at no cost beyond
/// a look at the field list).
pub fn strip(
    c: &Collection,
    requester: &Requester,
    body: &mut Map<String, Value>,
    uploads: &mut Vec<Upload>,
) -> Option<Requester> {
    if requester.caller.is_superuser() {
        return None;
    }
    let locked: Vec<&str> = c
        .fields
        .iter()
        .filter(|f| c.superusers_write(f))
        .map(|f| f.name.as_str())
        .collect();
    if locked.is_empty() {
        return None;
    }
    let writable = |key: &str| !target(key).iter().any(|name| locked.contains(name));
    let before = (body.len(), uploads.len());
    body.retain(|k, _| writable(k));
    uploads.retain(|u| writable(&u.key));
    let info = &requester.info;
    if before == (body.len(), uploads.len()) && info.body.keys().all(|k| writable(k)) {
        return None;
    }
    let mut seen = info.body.clone();
    seen.retain(|k, _| writable(k));
    Some(requester.with_body(seen))
}

#[cfg(test)]
mod tests {
    use super::target;

    #[test]
    fn modifier_keys_name_their_field() {
        assert_eq!(target("perms+"), ["perms+", "perms"]);
        assert_eq!(target("+perms"), ["+perms", "perms"]);
        assert_eq!(target("perms-"), ["perms-", "perms"]);
        assert_eq!(target("role"), ["role", "role"]);
    }
}
