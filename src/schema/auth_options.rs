//! The options of auth collections that the collection itself owns: their
//! stored shape and their checks on save. The services that act on them
//! (`auth::sessions`, `auth::oauth2`) read them from here, so the schema
//! never calls into the services.

use serde_json::{Map, Value, json};

use super::Collection;
use crate::validation::{ErrorTree, FieldError};

/// The OAuth2 providers a collection may name (`oauth2.providers[].name`);
/// `auth::oauth2::provider` implements each one, and a test there keeps
/// the two lists the same.
pub const OAUTH2_PROVIDERS: &[&str] = &["oidc", "github", "google"];

/// A collection's session settings (`options.sessions`, Cairn's own key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions {
    /// Always hand the refresh token out as an HttpOnly cookie.
    pub cookie: bool,
    /// Lifetime of the access tokens of session clients, in seconds.
    pub access_token_duration: u64,
    /// How long a session lives without being refreshed, in seconds.
    pub refresh_token_duration: u64,
}

impl SessionOptions {
    pub const DEFAULT_ACCESS: u64 = 15 * 60;
    pub const DEFAULT_REFRESH: u64 = 30 * 24 * 3600;

    /// The defaults as stored in a new auth collection's options.
    pub fn default_json() -> Value {
        serde_json::json!({
            "cookie": false,
            "accessTokenDuration": Self::DEFAULT_ACCESS,
            "refreshTokenDuration": Self::DEFAULT_REFRESH,
        })
    }

    pub fn of(c: &Collection) -> Self {
        let opts = c.options.get("sessions");
        let num = |key: &str, default: u64| {
            opts.and_then(|o| o.get(key))
                .and_then(Value::as_u64)
                .filter(|n| *n > 0)
                .unwrap_or(default)
        };
        Self {
            cookie: opts
                .and_then(|o| o.get("cookie"))
                .and_then(Value::as_bool)
                .unwrap_or(false),
            access_token_duration: num("accessTokenDuration", Self::DEFAULT_ACCESS),
            refresh_token_duration: num("refreshTokenDuration", Self::DEFAULT_REFRESH),
        }
    }
}

/// A trimmed text option (`""` when absent or not text).
pub fn text(o: &Map<String, Value>, key: &str) -> String {
    o.get(key).and_then(Value::as_str).unwrap_or("").trim().to_owned()
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
    use crate::schema::defaults;

    fn with_oauth2(oauth2: Value) -> Collection {
        let mut c = defaults::users();
        c.options.insert("oauth2".into(), oauth2);
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
