//! `oauth2`: the providers an auth collection signs in with and the record
//! fields their user details fill. Its stored shape (every provider with
//! the same keys), its checks on save, and its typed reading. The provider
//! endpoints and defaults are the service's (`auth::oauth2::config`).

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{flag, group, text};
use crate::validation::{ErrorTree, FieldError};

/// The OAuth2 providers a collection may name (`oauth2.providers[].name`);
/// `auth::oauth2::provider` implements each one, and a test there keeps
/// the two lists the same.
pub const OAUTH2_PROVIDERS: &[&str] = &[
    "apple",
    "bitbucket",
    "box",
    "discord",
    "facebook",
    "gitea",
    "gitee",
    "github",
    "gitlab",
    "google",
    "instagram2",
    "kakao",
    "lark",
    "linear",
    "livechat",
    "mailcow",
    "microsoft",
    "monday",
    "notion",
    "oidc",
    "oidc2",
    "oidc3",
    "patreon",
    "planningcenter",
    "spotify",
    "strava",
    "trakt",
    "twitch",
    "twitter",
    "vk",
    "wakatime",
    "yandex",
];

/// `oauth2`, typed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuth2Options {
    pub enabled: bool,
    /// In the collection's order, as stored (names not checked here).
    pub providers: Vec<ProviderOptions>,
    pub mapped_fields: MappedFields,
}

/// One entry of `oauth2.providers`, as configured (empty texts where unset).
#[derive(Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderOptions {
    pub name: String,
    pub client_id: String,
    pub client_secret: String,
    #[serde(rename = "authURL")]
    pub auth_url: String,
    #[serde(rename = "tokenURL")]
    pub token_url: String,
    #[serde(rename = "userInfoURL")]
    pub user_info_url: String,
    pub display_name: String,
    /// `null` (unset) leaves the choice to the provider's default.
    pub pkce: Option<bool>,
    pub extra: Map<String, Value>,
}

impl fmt::Debug for ProviderOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderOptions")
            .field("name", &self.name)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Which record fields receive the provider's user details on sign-up
/// (`oauth2.mappedFields`); empty names map nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MappedFields {
    pub id: String,
    pub name: String,
    pub username: String,
    #[serde(rename = "avatarURL")]
    pub avatar_url: String,
}

impl OAuth2Options {
    pub(super) fn parse(o: Option<&Map<String, Value>>) -> Self {
        let empty = Map::new();
        let m = group(o, "mappedFields").unwrap_or(&empty);
        Self {
            enabled: flag(o, "enabled", false),
            providers: o
                .and_then(|o| o.get("providers"))
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(Value::as_object)
                        .map(ProviderOptions::parse)
                        .collect()
                })
                .unwrap_or_default(),
            mapped_fields: MappedFields {
                id: text(m, "id"),
                name: text(m, "name"),
                username: text(m, "username"),
                avatar_url: text(m, "avatarURL"),
            },
        }
    }
}

impl ProviderOptions {
    fn parse(p: &Map<String, Value>) -> Self {
        Self {
            name: text(p, "name"),
            client_id: text(p, "clientId"),
            client_secret: text(p, "clientSecret"),
            auth_url: text(p, "authURL"),
            token_url: text(p, "tokenURL"),
            user_info_url: text(p, "userInfoURL"),
            display_name: text(p, "displayName"),
            pkce: p.get("pkce").and_then(Value::as_bool),
            extra: p
                .get("extra")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
        }
    }
}

/// Rewrites `oauth2` into PocketBase's stored shape: every provider with
/// the same keys (`pkce` `null` unless set, `extra` an object), unknown
/// keys dropped, and every `mappedFields` key present.
pub fn normalize_oauth2(options: &mut Map<String, Value>) {
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
pub fn validate_oauth2(options: &Map<String, Value>, errors: &mut ErrorTree) {
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
        if !OAUTH2_PROVIDERS.contains(&name.as_str()) {
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
    use crate::schema::{Collection, defaults};

    fn with_oauth2(oauth2: Value) -> Collection {
        let mut c = defaults::users();
        c.set_option("oauth2", oauth2).expect("readable");
        c
    }

    #[test]
    fn normalize_gives_every_provider_the_same_keys() {
        let mut c = with_oauth2(
            json!({"enabled": true, "mappedFields": {"name": "name"}, "providers": [
                {"name": "github", "clientId": "id", "clientSecret": "s", "unknown": 1, "extra": "not an object"},
            ]}),
        );
        normalize_oauth2(&mut c.options);
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
        validate_oauth2(&c.options, &mut errors);
        let tree = Value::Object(errors.into_map());
        let providers = &tree["oauth2"]["providers"];
        assert_eq!(providers["0"]["name"]["code"], "validation_missing_provider");
        assert_eq!(providers["1"]["clientId"]["code"], "validation_required");
        assert_eq!(providers["1"]["authURL"]["code"], "validation_is_url");
        assert_eq!(providers["2"]["name"]["code"], "validation_duplicated_provider");
    }
}
