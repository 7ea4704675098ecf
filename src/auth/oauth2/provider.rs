//! The OAuth2 providers Cairn knows: each a small struct behind one trait
//! that says where the provider lives by default, which scopes to ask for,
//! and how to read its user profile. The HTTP exchange itself is shared
//! (`exchange.rs`); a provider only describes itself.

use serde_json::Value;

/// A user as an OAuth2 provider describes them.
#[derive(Debug, Clone, Default)]
pub struct ExternalUser {
    /// The provider's stable id for the user (OIDC `sub`).
    pub id: String,
    pub name: String,
    pub username: String,
    /// Empty unless the provider vouches that the address is verified:
    /// an unverified address must never link or create an account.
    pub email: String,
    pub avatar_url: String,
    /// The profile as the provider sent it.
    pub raw: Value,
}

/// Where a provider's endpoints are unless the collection says otherwise.
pub struct Endpoints {
    pub auth_url: &'static str,
    pub token_url: &'static str,
    pub user_info_url: &'static str,
}

pub trait Provider: Send + Sync {
    /// The name in `oauth2.providers[].name`.
    fn name(&self) -> &'static str;
    fn display_name(&self) -> &'static str;
    fn endpoints(&self) -> Endpoints;
    /// Scopes for the authorization URL, space-separated there.
    fn scopes(&self) -> &'static [&'static str];
    /// Reads the user info response.
    fn user(&self, raw: Value) -> ExternalUser;
    /// Where to look up verified addresses when the profile carries none
    /// it can vouch for (GitHub's profile email is only the public one).
    fn emails_url(&self, _user_info_url: &str) -> Option<String> {
        None
    }
}

fn text(raw: &Value, key: &str) -> String {
    match raw.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// OIDC claims (`sub`, `name`, `preferred_username`, `email`,
/// `email_verified`, `picture`), which Google also speaks.
fn oidc_user(raw: Value) -> ExternalUser {
    // Some providers send `email_verified` as the string "true".
    let verified = match raw.get("email_verified") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    ExternalUser {
        id: text(&raw, "sub"),
        name: text(&raw, "name"),
        username: text(&raw, "preferred_username"),
        email: if verified {
            text(&raw, "email")
        } else {
            String::new()
        },
        avatar_url: text(&raw, "picture"),
        raw,
    }
}

/// Any OpenID Connect provider; its URLs come from the collection's config.
pub struct Oidc;

impl Provider for Oidc {
    fn name(&self) -> &'static str {
        "oidc"
    }
    fn display_name(&self) -> &'static str {
        "OpenID Connect"
    }
    fn endpoints(&self) -> Endpoints {
        Endpoints {
            auth_url: "",
            token_url: "",
            user_info_url: "",
        }
    }
    fn scopes(&self) -> &'static [&'static str] {
        &["openid", "email", "profile"]
    }
    fn user(&self, raw: Value) -> ExternalUser {
        oidc_user(raw)
    }
}

pub struct Google;

impl Provider for Google {
    fn name(&self) -> &'static str {
        "google"
    }
    fn display_name(&self) -> &'static str {
        "Google"
    }
    fn endpoints(&self) -> Endpoints {
        Endpoints {
            auth_url: "https://accounts.google.com/o/oauth2/v2/auth",
            token_url: "https://oauth2.googleapis.com/token",
            user_info_url: "https://www.googleapis.com/oauth2/v3/userinfo",
        }
    }
    fn scopes(&self) -> &'static [&'static str] {
        &[
            "https://www.googleapis.com/auth/userinfo.profile",
            "https://www.googleapis.com/auth/userinfo.email",
        ]
    }
    fn user(&self, raw: Value) -> ExternalUser {
        oidc_user(raw)
    }
}

pub struct GitHub;

impl Provider for GitHub {
    fn name(&self) -> &'static str {
        "github"
    }
    fn display_name(&self) -> &'static str {
        "GitHub"
    }
    fn endpoints(&self) -> Endpoints {
        Endpoints {
            auth_url: "https://github.com/login/oauth/authorize",
            token_url: "https://github.com/login/oauth/access_token",
            user_info_url: "https://api.github.com/user",
        }
    }
    fn scopes(&self) -> &'static [&'static str] {
        &["read:user", "user:email"]
    }
    fn user(&self, raw: Value) -> ExternalUser {
        ExternalUser {
            id: text(&raw, "id"),
            name: text(&raw, "name"),
            username: text(&raw, "login"),
            // The profile's email is whatever the user made public, not a
            // verified address: `emails_url` supplies that.
            email: String::new(),
            avatar_url: text(&raw, "avatar_url"),
            raw,
        }
    }
    fn emails_url(&self, user_info_url: &str) -> Option<String> {
        Some(format!("{}/emails", user_info_url.trim_end_matches('/')))
    }
}

/// GitHub's `/user/emails`: the primary address, if it is verified.
pub fn primary_verified_email(list: &Value) -> Option<String> {
    list.as_array()?
        .iter()
        .find(|e| {
            e.get("primary") == Some(&Value::Bool(true)) && e.get("verified") == Some(&Value::Bool(true))
        })
        .and_then(|e| e.get("email")?.as_str().map(str::to_owned))
}

static PROVIDERS: [&dyn Provider; 3] = [&Oidc, &GitHub, &Google];

/// The provider of this name, if Cairn knows it.
pub fn by_name(name: &str) -> Option<&'static dyn Provider> {
    PROVIDERS.iter().copied().find(|p| p.name() == name)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_provider_a_collection_may_name_is_implemented() {
        let names: Vec<&str> = PROVIDERS.iter().map(|p| p.name()).collect();
        assert_eq!(names, crate::schema::auth_options::OAUTH2_PROVIDERS);
    }

    #[test]
    fn an_unverified_oidc_email_is_dropped() {
        let user = Oidc.user(json!({"sub": "1", "email": "a@b.co", "email_verified": false}));
        assert_eq!(user.id, "1");
        assert_eq!(user.email, "");
        let user = Oidc.user(json!({"sub": "1", "email": "a@b.co", "email_verified": "true"}));
        assert_eq!(user.email, "a@b.co");
    }

    #[test]
    fn github_ids_are_numbers_and_emails_come_from_the_list() {
        let user = GitHub.user(json!({"id": 42, "login": "octo", "email": "public@x.co"}));
        assert_eq!(
            (user.id.as_str(), user.username.as_str(), user.email.as_str()),
            ("42", "octo", "")
        );
        let list = json!([
            {"email": "old@x.co", "primary": false, "verified": true},
            {"email": "main@x.co", "primary": true, "verified": true},
        ]);
        assert_eq!(primary_verified_email(&list).as_deref(), Some("main@x.co"));
        let unverified = json!([{"email": "main@x.co", "primary": true, "verified": false}]);
        assert_eq!(primary_verified_email(&unverified), None);
    }

    #[test]
    fn only_known_providers_are_found() {
        assert_eq!(by_name("google").map(|p| p.display_name()), Some("Google"));
        assert!(by_name("facebook").is_none());
    }
}
