//! An auth collection's OAuth2 options (`oauth2.enabled`,
//! `oauth2.providers[]`, `oauth2.mappedFields`), read into typed values
//! with each provider's defaults filled in. Their stored shape and their
//! checks on save belong to the collection (`schema::auth_options`). The
//! client secret stays in here: `Debug` redacts it and the
//! collection's JSON output strips it (`schema::collection`).

use std::fmt;

use serde_json::{Map, Value};

use super::provider::{self, Provider};
use crate::schema::{Collection, auth_options::text};

/// One configured provider, with its defaults applied.
pub struct ProviderConfig {
    pub provider: &'static dyn Provider,
    pub client_id: String,
    pub client_secret: String,
    pub auth_url: String,
    pub token_url: String,
    pub user_info_url: String,
    pub display_name: String,
    /// PKCE unless the config turns it off (`null` means on).
    pub pkce: bool,
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("name", &self.provider.name())
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

fn oauth2(c: &Collection) -> Option<&Map<String, Value>> {
    c.options.get("oauth2")?.as_object()
}

fn or_default(configured: String, default: &str) -> String {
    if configured.is_empty() {
        default.to_owned()
    } else {
        configured
    }
}

/// Whether the collection allows OAuth2 sign-in at all.
pub fn enabled(c: &Collection) -> bool {
    oauth2(c)
        .and_then(|o| o.get("enabled"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn read(entry: &Value) -> Option<ProviderConfig> {
    let o = entry.as_object()?;
    let provider = provider::by_name(&text(o, "name"))?;
    let defaults = provider.endpoints();
    Some(ProviderConfig {
        provider,
        client_id: text(o, "clientId"),
        client_secret: text(o, "clientSecret"),
        auth_url: or_default(text(o, "authURL"), defaults.auth_url),
        token_url: or_default(text(o, "tokenURL"), defaults.token_url),
        user_info_url: or_default(text(o, "userInfoURL"), defaults.user_info_url),
        display_name: or_default(text(o, "displayName"), provider.display_name()),
        pkce: o.get("pkce").and_then(Value::as_bool).unwrap_or(true),
    })
}

/// The configured providers Cairn knows, in the collection's order (none
/// when OAuth2 is disabled).
pub fn providers(c: &Collection) -> Vec<ProviderConfig> {
    if !enabled(c) {
        return Vec::new();
    }
    oauth2(c)
        .and_then(|o| o.get("providers"))
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(read).collect())
        .unwrap_or_default()
}

/// The enabled provider of this name.
pub fn find(c: &Collection, name: &str) -> Option<ProviderConfig> {
    providers(c).into_iter().find(|p| p.provider.name() == name)
}

/// Which record fields receive the provider's user details on sign-up
/// (`oauth2.mappedFields`); empty names map nothing.
pub struct MappedFields {
    pub id: String,
    pub name: String,
    pub username: String,
    pub avatar_url: String,
}

pub fn mapped_fields(c: &Collection) -> MappedFields {
    let empty = Map::new();
    let m = oauth2(c)
        .and_then(|o| o.get("mappedFields"))
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    MappedFields {
        id: text(m, "id"),
        name: text(m, "name"),
        username: text(m, "username"),
        avatar_url: text(m, "avatarURL"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::schema::defaults;

    fn with_oauth2(oauth2: Value) -> Collection {
        let mut c = defaults::users();
        c.options.insert("oauth2".into(), oauth2);
        c
    }

    #[test]
    fn defaults_fill_what_the_config_leaves_out() {
        let c = with_oauth2(json!({"enabled": true, "providers": [
            {"name": "github", "clientId": "id", "clientSecret": "s3cret"},
            {"name": "unknown", "clientId": "id", "clientSecret": "s"},
        ]}));
        let found = providers(&c);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].token_url, "https://github.com/login/oauth/access_token");
        assert_eq!(found[0].display_name, "GitHub");
        assert!(found[0].pkce);
        assert!(!format!("{:?}", found[0]).contains("s3cret"));
    }

    #[test]
    fn a_disabled_collection_offers_no_provider() {
        let c = with_oauth2(json!({"enabled": false, "providers": [
            {"name": "github", "clientId": "id", "clientSecret": "s"},
        ]}));
        assert!(find(&c, "github").is_none());
    }
}
