//! An auth collection's OAuth2 providers, resolved: each configured
//! provider (`oauth2.providers[]`, typed by `schema::auth_options`) joined
//! to its implementation, with the provider's defaults filled in. The
//! stored shape, the checks on save and the typed reading belong to the
//! collection. The client secret stays in here: `Debug` redacts it and
//! the collection's JSON output strips it (`schema::collection`).

use std::fmt;

use super::provider::{self, Provider};
pub use crate::schema::auth_options::MappedFields;
use crate::schema::{
    Collection,
    auth_options::{OAuth2Options, ProviderOptions},
};

/// One configured provider, with its defaults applied.
pub struct ProviderConfig {
    pub provider: &'static Provider,
    pub client_id: String,
    pub client_secret: String,
    pub auth_url: String,
    pub token_url: String,
    pub user_info_url: String,
    pub display_name: String,
    /// PKCE as the config says; `null` means the provider's default.
    pub pkce: bool,
    /// The provider's further options (an OIDC provider's `jwksURL` and
    /// `issuers`).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("name", &self.provider.name)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

fn oauth2(c: &Collection) -> Option<&OAuth2Options> {
    c.auth().map(|a| &a.oauth2)
}

fn or_default(configured: &str, default: &str) -> String {
    if configured.is_empty() {
        default.to_owned()
    } else {
        configured.to_owned()
    }
}

/// Whether the collection allows OAuth2 sign-in at all.
pub fn enabled(c: &Collection) -> bool {
    oauth2(c).is_some_and(|o| o.enabled)
}

fn resolve(o: &ProviderOptions) -> Option<ProviderConfig> {
    let provider = provider::by_name(&o.name)?;
    Some(ProviderConfig {
        provider,
        client_id: o.client_id.clone(),
        client_secret: o.client_secret.clone(),
        auth_url: or_default(&o.auth_url, provider.auth_url),
        token_url: or_default(&o.token_url, provider.token_url),
        user_info_url: or_default(&o.user_info_url, provider.user_info_url),
        display_name: or_default(&o.display_name, provider.display_name),
        pkce: o.pkce.unwrap_or(provider.pkce),
        extra: o.extra.clone(),
    })
}

/// The configured providers Cairn knows, in the collection's order (none
/// when OAuth2 is disabled).
pub fn providers(c: &Collection) -> Vec<ProviderConfig> {
    match oauth2(c) {
        Some(o) if o.enabled => o.providers.iter().filter_map(resolve).collect(),
        _ => Vec::new(),
    }
}

/// The enabled provider of this name.
pub fn find(c: &Collection, name: &str) -> Option<ProviderConfig> {
    providers(c).into_iter().find(|p| p.provider.name == name)
}

/// Which record fields receive the provider's user details on sign-up
/// (`oauth2.mappedFields`); empty names map nothing.
pub fn mapped_fields(c: &Collection) -> MappedFields {
    oauth2(c).map(|o| o.mapped_fields.clone()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    use crate::schema::defaults;

    fn with_oauth2(oauth2: Value) -> Collection {
        let mut c = defaults::users();
        c.set_option("oauth2", oauth2).expect("readable");
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
