//! An auth collection's OAuth2 options (`oauth2.enabled`,
//! `oauth2.providers[]`, `oauth2.mappedFields`), read into typed values
//! with each provider's defaults filled in, and checked when a collection
//! is saved. The client secret stays in here: `Debug` redacts it and the
//! collection's JSON output strips it (`schema::collection`).

use std::fmt;

use serde_json::{Map, Value, json};

use super::provider::{self, Provider};
use crate::{
    schema::Collection,
    validation::{ErrorTree, FieldError},
};

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

fn text(o: &Map<String, Value>, key: &str) -> String {
    o.get(key).and_then(Value::as_str).unwrap_or("").trim().to_owned()
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

/// Rewrites `oauth2` into PocketBase's stored shape: every provider with
/// the same keys (`pkce` `null` unless set, `extra` an object), unknown
/// keys dropped, and every `mappedFields` key present.
pub fn normalize(options: &mut Map<String, Value>) {
    let Some(Value::Object(o)) = options.get_mut("oauth2") else {
        return;
    };
    if let Some(Value::Array(list)) = o.get_mut("providers") {
        for entry in list.iter_mut() {
            let Some(p) = entry.as_object() else {
                continue;
            };
            let keep = |key: &str, fits: fn(&Value) -> bool, default: Value| {
                p.get(key).filter(|v| fits(v)).cloned().unwrap_or(default)
            };
            let mut canonical = Map::new();
            for key in [
                "name",
                "clientId",
                "clientSecret",
                "authURL",
                "tokenURL",
                "userInfoURL",
                "displayName",
            ] {
                canonical.insert(key.into(), json!(text(p, key)));
            }
            canonical.insert("pkce".into(), keep("pkce", Value::is_boolean, Value::Null));
            canonical.insert("extra".into(), keep("extra", Value::is_object, json!({})));
            *entry = Value::Object(canonical);
        }
    }
    if let Some(Value::Object(m)) = o.get_mut("mappedFields") {
        for key in ["id", "name", "username", "avatarURL"] {
            m.entry(key).or_insert(json!(""));
        }
    }
}

fn is_url(s: &str) -> bool {
    reqwest::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
}

/// Checks `oauth2` of an auth collection about to be saved. As in
/// PocketBase, providers are only checked while OAuth2 is enabled.
pub fn validate(options: &Map<String, Value>, errors: &mut ErrorTree) {
    let Some(o) = options.get("oauth2").and_then(Value::as_object) else {
        return;
    };
    if !o.get("enabled").and_then(Value::as_bool).unwrap_or(false) {
        return;
    }
    let Some(list) = o.get("providers").and_then(Value::as_array) else {
        return;
    };
    let mut seen = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let at = i.to_string();
        let empty = Map::new();
        let p = entry.as_object().unwrap_or(&empty);
        let name = text(p, "name");
        if provider::by_name(&name).is_none() {
            errors.add(
                &["oauth2", "providers", &at, "name"],
                FieldError::new(
                    "validation_missing_provider",
                    format!("Invalid or missing provider with name {name}."),
                )
                .with_params(json!({"name": name})),
            );
        } else if seen.contains(&name) {
            errors.add(
                &["oauth2", "providers", &at, "name"],
                FieldError::new(
                    "validation_duplicated_provider",
                    format!("The provider {name} is already registered."),
                )
                .with_params(json!({"name": name})),
            );
        }
        seen.push(name);
        for key in ["clientId", "clientSecret"] {
            if text(p, key).is_empty() {
                errors.add(&["oauth2", "providers", &at, key], FieldError::required());
            }
        }
        for key in ["authURL", "tokenURL", "userInfoURL"] {
            let url = text(p, key);
            if !url.is_empty() && !is_url(&url) {
                errors.add(
                    &["oauth2", "providers", &at, key],
                    FieldError::new("validation_is_url", "Must be a valid URL."),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn normalize_gives_every_provider_the_same_keys() {
        let mut c = with_oauth2(
            json!({"enabled": true, "mappedFields": {"name": "name"}, "providers": [
                {"name": "github", "clientId": "id", "clientSecret": "s", "unknown": 1, "extra": "not an object"},
            ]}),
        );
        normalize(&mut c.options);
        assert_eq!(
            c.options["oauth2"]["providers"][0],
            json!({"name": "github", "clientId": "id", "clientSecret": "s", "authURL": "", "tokenURL": "",
                   "userInfoURL": "", "displayName": "", "pkce": null, "extra": {}})
        );
        assert_eq!(
            c.options["oauth2"]["mappedFields"],
            json!({"id": "", "name": "name", "username": "", "avatarURL": ""})
        );
    }

    #[test]
    fn validation_names_each_bad_provider_entry() {
        let c = with_oauth2(json!({"enabled": true, "providers": [
            {"name": "nope", "clientId": "id", "clientSecret": "s"},
            {"name": "oidc", "clientId": "", "clientSecret": "s", "authURL": "not a url"},
            {"name": "oidc", "clientId": "id", "clientSecret": "s"},
        ]}));
        let mut errors = ErrorTree::new();
        validate(&c.options, &mut errors);
        let tree = Value::Object(errors.into_map());
        let providers = &tree["oauth2"]["providers"];
        assert_eq!(providers["0"]["name"]["code"], "validation_missing_provider");
        assert_eq!(providers["1"]["clientId"]["code"], "validation_required");
        assert_eq!(providers["1"]["authURL"]["code"], "validation_is_url");
        assert_eq!(providers["2"]["name"]["code"], "validation_duplicated_provider");
    }
}
