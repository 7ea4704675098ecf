//! The provider's avatar on a new account, where the collection maps it
//! (`oauth2.mappedFields.avatarURL`, which PocketBase's default `users`
//! sets to its `avatar` file field): into a file field the picture itself,
//! downloaded; into any other field the URL as text.
//!
//! The URL comes from the provider's profile, which on some providers the
//! user writes, so the download goes through `outbound`: public addresses
//! only (unless `--oauth2-avatars-allow-private`), each redirect checked
//! again, bounded in time and to the field's size limit. It is a nicety:
//! a picture that cannot be had, is too large, or is of a type the field
//! refuses is left out with a warning in the log, and the sign-up goes on.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::{
    files::upload::{self, Upload},
    outbound,
    schema::{Collection, field::FieldKind},
    validation::ErrorTree,
};

/// How long the download may take, every hop included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(15);

/// Puts the avatar at `url` in `field` of the new account: into `body`
/// as text, or into `uploads` as a file. Nothing when the field is not
/// the collection's, or the client's `createData` already set it.
pub async fn map(
    c: &Collection,
    field: &str,
    url: &str,
    allow_private: bool,
    body: &mut Map<String, Value>,
    uploads: &mut Vec<Upload>,
) {
    let given = body.get(field).is_some_and(|v| v != "" && !v.is_null());
    let Some(f) = c.field(field).filter(|_| !url.is_empty() && !given) else {
        return;
    };
    if !matches!(f.kind, FieldKind::File { .. }) {
        body.insert(field.to_owned(), json!(url));
        return;
    }
    let limit = usize::try_from(upload::max_size(f)).unwrap_or(usize::MAX);
    let fetched = match outbound::fetch(url, allow_private, FETCH_TIMEOUT, limit).await {
        Ok(fetched) => fetched,
        Err(err) => {
            tracing::warn!(collection = %c.name, error = %err, "the OAuth2 avatar was not fetched; the account is made without it");
            return;
        }
    };
    let filename = fetched
        .url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|name| !name.is_empty())
        .unwrap_or("avatar")
        .to_owned();
    let avatar = Upload {
        key: field.to_owned(),
        filename,
        bytes: fetched.bytes,
    };
    // Checked as the create will check it, so a picture the field refuses
    // (its types, its size) is left out rather than failing the sign-up.
    let mut refused = ErrorTree::new();
    upload::accept(c, vec![avatar.clone()], &mut refused);
    if refused.is_empty() {
        uploads.push(avatar);
    } else {
        tracing::warn!(collection = %c.name, field, "the OAuth2 avatar is not a file the field accepts; the account is made without it");
    }
}
