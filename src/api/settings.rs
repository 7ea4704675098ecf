//! Runtime settings for superusers: `GET /settings` and `PATCH /settings`
//! in PocketBase's shape. A PATCH is merged into the current settings
//! (objects key by key), so a client sends only what it changes. Secrets
//! (the SMTP password, S3 secret keys) are write-only: never echoed back.

use std::sync::Arc;

use poem_openapi::{Object, OpenApi, payload::Json};
use serde_json::Value;

use super::{ApiTags, body::Body, collections::Done, guard::Superuser};
use crate::{
    app::AppState,
    auth::oauth2::apple_secret::{self, AppleSecretError, AppleSecretInput},
    http::error::ApiError,
    identity::email::Email,
    mail::templates::Template,
    settings::{Settings, checks},
    validation::{ErrorTree, FieldError},
};

/// A sample message to check the mail settings with.
#[derive(Object)]
struct TestEmail {
    /// Where to send it.
    #[oai(default)]
    email: String,
    /// `verification`, `password-reset`, `email-change`, `otp` or `login-alert`.
    #[oai(default)]
    template: String,
    /// The auth collection whose template is sent; `_superusers` when empty.
    #[oai(default)]
    collection: String,
}

/// What makes an Apple client secret (see `auth::oauth2::apple_secret`).
#[derive(Object)]
#[oai(rename_all = "camelCase")]
struct AppleSecret {
    /// The Services ID the secret is for (the provider's client id).
    #[oai(default)]
    client_id: String,
    /// The 10-character team id of the Apple developer account.
    #[oai(default)]
    team_id: String,
    /// The 10-character id of the key.
    #[oai(default)]
    key_id: String,
    /// The key, as Apple gives it (PKCS#8 PEM); used once, never kept.
    #[oai(default)]
    private_key: String,
    /// How long the secret lasts, in seconds (at most 15777000).
    #[oai(default)]
    duration: i64,
}

/// The made secret.
#[derive(Object)]
struct AppleSecretMade {
    secret: String,
}

/// Which S3 settings to test.
#[derive(Object)]
struct TestS3 {
    /// `storage` (uploaded files) or `backups`.
    #[oai(default)]
    filesystem: String,
}

const TEST_S3_FAILED: &str = "Failed to test the S3 filesystem.";

/// PocketBase's message for every refusal of a test email.
const TEST_EMAIL_FAILED: &str = "Failed to send the test email.";

pub struct SettingsApi {
    state: Arc<AppState>,
}

impl SettingsApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

/// Merges `patch` into `target`: objects key by key, anything else replaced.
fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p,
    }
}

/// The settings as the API shows them, secrets left out.
fn shown(settings: &Settings) -> Result<Value, ApiError> {
    let mut v = serde_json::to_value(settings).map_err(ApiError::internal)?;
    if let Some(smtp) = v.get_mut("smtp").and_then(Value::as_object_mut) {
        smtp.remove("password");
    }
    for path in ["/s3", "/backups/s3"] {
        if let Some(s3) = v.pointer_mut(path).and_then(Value::as_object_mut) {
            s3.remove("secret");
        }
    }
    Ok(v)
}

#[OpenApi(tag = "ApiTags::Settings")]
impl SettingsApi {
    /// Superusers only: the runtime settings, without secrets.
    #[oai(path = "/settings", method = "get")]
    async fn get(&self, _superuser: Superuser) -> poem::Result<Json<Value>> {
        Ok(Json(shown(&self.state.settings.get())?))
    }

    /// Superusers only: changes the given settings and answers all of them.
    #[oai(path = "/settings", method = "patch")]
    async fn update(&self, _superuser: Superuser, body: Body<Value>) -> poem::Result<Json<Value>> {
        let mut current = serde_json::to_value(&*self.state.settings.get()).map_err(ApiError::internal)?;
        merge(&mut current, body.0);
        let refused =
            |errors| ApiError::validation_with("An error occurred while saving the new settings.", errors);
        let next: Settings = checks::read(current).map_err(refused)?;
        let mut errors = checks::problems(&next);
        if let Some(Err(err)) =
            (!next.backups.cron.is_empty()).then(|| next.backups.cron.parse::<crate::ops::cron::Schedule>())
        {
            errors.add(
                &["backups", "cron"],
                crate::validation::FieldError::new("validation_invalid_cron", err.to_string()),
            );
        }
        if !errors.is_empty() {
            return Err(refused(errors).into());
        }
        let answer = shown(&next)?;
        self.state
            .replace_settings(next)
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(answer))
    }

    /// Superusers only: makes the client secret of the `apple` OAuth2
    /// provider (a JWT signed with the account's private key), as
    /// PocketBase's SDK asks for it (`settings.generateAppleClientSecret`).
    #[oai(path = "/settings/apple/generate-client-secret", method = "post")]
    async fn apple_client_secret(
        &self,
        _superuser: Superuser,
        body: Body<AppleSecret>,
    ) -> poem::Result<Json<AppleSecretMade>> {
        let b = body.0;
        let input = AppleSecretInput {
            client_id: b.client_id,
            team_id: b.team_id,
            key_id: b.key_id,
            private_key: b.private_key,
            duration: b.duration,
        };
        match apple_secret::generate(&input, chrono::Utc::now().timestamp()) {
            Ok(secret) => Ok(Json(AppleSecretMade { secret })),
            Err(AppleSecretError::Invalid(errors)) => {
                Err(ApiError::validation_with("Invalid client secret data.", errors).into())
            }
            Err(AppleSecretError::Key(why)) => Err(ApiError::bad_request(format!(
                "Failed to generate client secret. Raw error: \n{why}"
            ))
            .into()),
        }
    }

    /// Superusers only: PocketBase's test of its S3 settings. Cairn keeps
    /// files and backups in the data folder and never connects to S3, so
    /// the answer says which: not enabled, or enabled but unused.
    #[oai(path = "/settings/test/s3", method = "post")]
    async fn test_s3(&self, _superuser: Superuser, body: Body<TestS3>) -> poem::Result<Done> {
        let settings = self.state.settings.get();
        let s3 = match body.0.filesystem.as_str() {
            "storage" => &settings.s3,
            "backups" => &settings.backups.s3,
            other => {
                let mut errors = ErrorTree::new();
                let error = if other.is_empty() {
                    FieldError::required()
                } else {
                    FieldError::not_allowed_value()
                };
                errors.add(&["filesystem"], error);
                return Err(ApiError::validation_with(TEST_S3_FAILED, errors).into());
            }
        };
        let why = if s3.enabled {
            "Cairn keeps files and backups in its data folder and does not use S3 storage; these settings are kept, not used."
        } else {
            "S3 storage filesystem is not enabled."
        };
        Err(ApiError::bad_request(format!("{TEST_S3_FAILED} Raw error: \n{why}")).into())
    }

    /// Superusers only: sends a sample of an auth collection's mail
    /// template to `email` with the current mail settings, and answers
    /// once the mail server took it (or with its refusal).
    #[oai(path = "/settings/test/email", method = "post")]
    async fn test_email(&self, _superuser: Superuser, body: Body<TestEmail>) -> poem::Result<Done> {
        let TestEmail {
            email,
            template,
            collection,
        } = body.0;
        let mut errors = ErrorTree::new();
        let to = match Email::parse_required(&email) {
            Ok(to) => Some(to),
            Err(e) => {
                errors.add(&["email"], e);
                None
            }
        };
        let chosen = if template.is_empty() {
            errors.add(&["template"], FieldError::required());
            None
        } else {
            let named = Template::named(&template);
            if named.is_none() {
                errors.add(&["template"], FieldError::not_allowed_value());
            }
            named
        };
        let name = if collection.is_empty() {
            "_superusers"
        } else {
            &collection
        };
        let auth = super::path::find_auth_collection(&self.state, name);
        if auth.is_none() {
            errors.add(
                &["collection"],
                FieldError::new(
                    "validation_invalid_auth_collection",
                    "Must be a valid auth collection id or name.",
                ),
            );
        }
        let (Some(to), Some(template), Some(c), true) = (to, chosen, auth, errors.is_empty()) else {
            return Err(ApiError::validation_with(TEST_EMAIL_FAILED, errors).into());
        };
        self.state
            .mailer()
            .send_test(&c, template, &to)
            .await
            .map_err(|err| ApiError::bad_request(format!("{TEST_EMAIL_FAILED} Raw error: \n{err}")))?;
        Ok(Done::NoContent)
    }
}
