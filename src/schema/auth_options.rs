//! The options of auth collections, typed. A collection's options are
//! stored and answered as PocketBase's JSON (`Collection::options`, the
//! one source of both); they are read into an `AuthOptions` once, when the
//! catalog loads the collection, and every service reads that value
//! instead of looking keys up per request.
//!
//! Reading is as lenient as the services always were (a missing or
//! mistyped value takes its default), with one exception: a token secret.
//! A collection without one does not load (`OptionsError`), and a save
//! that would store one is refused (`validate_secrets`).
//!
//! The defaults of a new collection are built here too (`AuthOptions::
//! new_collection`), from the same constants that fill a missing value, so
//! each default is declared once. The services that act on the options
//! (`auth::sessions`, `auth::oauth2`, …) read them from here, so the
//! schema never calls into the services.

mod checks;
mod oauth2;
mod tokens;

pub use checks::{validate_auth_options, validate_sessions};
use serde::Serialize;
use serde_json::{Map, Value, json};

pub use oauth2::{
    MappedFields, OAUTH2_PROVIDERS, OAuth2Options, ProviderOptions, normalize_oauth2, validate_oauth2,
};
pub use tokens::{Secret, TokenKind, TokenOptions, Tokens, auth_secret_changed, validate_secrets};

use super::Collection;

/// Why a stored collection's options cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    #[error("collection {collection:?}: option {option}.secret is missing or empty")]
    MissingSecret {
        collection: String,
        option: &'static str,
    },
}

/// An auth collection's options, read once from its stored JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthOptions {
    /// Who may sign in: `None` (`null`) no one, `""` every account, or a
    /// rule the account must match. Trimmed.
    pub auth_rule: Option<String>,
    /// Who may manage other accounts as a superuser would: `None` no one,
    /// `""` every account, or a rule. Trimmed.
    pub manage_rule: Option<String>,
    pub auth_alert: AuthAlertOptions,
    pub oauth2: OAuth2Options,
    pub password_auth: PasswordAuthOptions,
    pub mfa: MfaOptions,
    pub otp: OtpOptions,
    pub tokens: Tokens,
    pub sessions: SessionOptions,
    pub verification_template: MailTemplate,
    pub reset_password_template: MailTemplate,
    pub confirm_email_change_template: MailTemplate,
}

/// A mail template: `{subject, body}` with PocketBase's placeholders.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MailTemplate {
    pub subject: String,
    pub body: String,
}

/// `passwordAuth`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordAuthOptions {
    pub enabled: bool,
    /// As configured (`["email"]` when unset); may be empty.
    pub identity_fields: Vec<String>,
}

impl PasswordAuthOptions {
    /// The fields a sign-in looks the identity up in: an empty list means
    /// the email.
    pub fn lookup_fields(&self) -> Vec<String> {
        if self.identity_fields.is_empty() {
            vec!["email".into()]
        } else {
            self.identity_fields.clone()
        }
    }
}

/// `mfa`: a second factor for the accounts `rule` matches (`""`: all).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MfaOptions {
    pub enabled: bool,
    /// How long a first factor waits for the second, in seconds.
    pub duration: u64,
    /// Trimmed.
    pub rule: String,
}

impl MfaOptions {
    pub const DEFAULT_DURATION: u64 = 600;
}

/// `otp`: one-time codes by email.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OtpOptions {
    pub enabled: bool,
    /// How long a code is valid, in seconds.
    pub duration: u64,
    /// Digits per code, as configured (`auth::otp` bounds it).
    pub length: u64,
    pub email_template: MailTemplate,
}

impl OtpOptions {
    pub const DEFAULT_DURATION: u64 = 180;
    pub const DEFAULT_LENGTH: u64 = 8;
}

/// `authAlert`: mail the owner on a sign-in from a new place.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthAlertOptions {
    pub enabled: bool,
    pub email_template: MailTemplate,
}

/// A collection's session settings (`sessions`, Cairn's own key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
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

    /// The session settings of `c`; the defaults for a collection that is
    /// not an auth collection.
    pub fn of(c: &Collection) -> Self {
        c.auth().map(|a| a.sessions).unwrap_or_default()
    }

    fn parse(o: Option<&Map<String, Value>>) -> Self {
        let num = |key: &str, default: u64| {
            o.and_then(|o| o.get(key))
                .and_then(Value::as_u64)
                .filter(|n| *n > 0)
                .unwrap_or(default)
        };
        Self {
            cookie: flag(o, "cookie", false),
            access_token_duration: num("accessTokenDuration", Self::DEFAULT_ACCESS),
            refresh_token_duration: num("refreshTokenDuration", Self::DEFAULT_REFRESH),
        }
    }
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            cookie: false,
            access_token_duration: Self::DEFAULT_ACCESS,
            refresh_token_duration: Self::DEFAULT_REFRESH,
        }
    }
}

/// A trimmed text option (`""` when absent or not text).
pub fn text(o: &Map<String, Value>, key: &str) -> String {
    o.get(key).and_then(Value::as_str).unwrap_or("").trim().to_owned()
}

/// The object option `key` of `o`, if it is one.
fn group<'a>(o: Option<&'a Map<String, Value>>, key: &str) -> Option<&'a Map<String, Value>> {
    o?.get(key)?.as_object()
}

fn flag(o: Option<&Map<String, Value>>, key: &str, default: bool) -> bool {
    o.and_then(|o| o.get(key))
        .and_then(Value::as_bool)
        .unwrap_or(default)
}

fn seconds(o: Option<&Map<String, Value>>, key: &str, default: u64) -> u64 {
    o.and_then(|o| o.get(key))
        .and_then(Value::as_u64)
        .unwrap_or(default)
}

/// An `authRule`/`manageRule`: a text, trimmed; anything else is `null`.
pub fn access_rule(options: &Map<String, Value>, key: &str) -> Option<String> {
    options.get(key)?.as_str().map(|s| s.trim().to_owned())
}

/// The rules among the options, for validation to compile with the
/// collection's own, each with the path an error is reported at:
/// `authRule` and `manageRule` as stored, and the MFA rule that picks the
/// accounts needing a second factor (`mfa.rule`, as PocketBase reports
/// it), as stored.
pub fn rules(options: &Map<String, Value>) -> impl Iterator<Item = (&'static str, String)> + '_ {
    let mfa = group(Some(options), "mfa")
        .and_then(|m| m.get("rule"))
        .and_then(Value::as_str)
        .map(|r| ("mfa.rule", r.to_owned()));
    // As sent, not trimmed: validation refuses a blank rule, which
    // `access_rule` would read as `""`.
    ["authRule", "manageRule"]
        .into_iter()
        .filter_map(|k| Some((k, options.get(k)?.as_str()?.to_owned())))
        .chain(mfa)
}

impl MailTemplate {
    fn parse(o: Option<&Map<String, Value>>) -> Self {
        let part = |key| o.map(|o| text_untrimmed(o, key)).unwrap_or_default();
        Self {
            subject: part("subject"),
            body: part("body"),
        }
    }
}

fn text_untrimmed(o: &Map<String, Value>, key: &str) -> String {
    o.get(key).and_then(Value::as_str).unwrap_or("").to_owned()
}

impl AuthOptions {
    /// Reads the stored options of collection `collection`.
    pub fn parse(collection: &str, options: &Map<String, Value>) -> Result<Self, OptionsError> {
        let o = Some(options);
        let password = group(o, "passwordAuth");
        let mfa = group(o, "mfa");
        let otp = group(o, "otp");
        let alert = group(o, "authAlert");
        Ok(Self {
            auth_rule: access_rule(options, "authRule"),
            manage_rule: access_rule(options, "manageRule"),
            auth_alert: AuthAlertOptions {
                enabled: flag(alert, "enabled", false),
                email_template: MailTemplate::parse(group(alert, "emailTemplate")),
            },
            oauth2: OAuth2Options::parse(group(o, "oauth2")),
            password_auth: PasswordAuthOptions {
                enabled: flag(password, "enabled", true),
                identity_fields: password
                    .and_then(|p| p.get("identityFields"))
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                    .unwrap_or_else(|| vec!["email".into()]),
            },
            mfa: MfaOptions {
                enabled: flag(mfa, "enabled", false),
                duration: seconds(mfa, "duration", MfaOptions::DEFAULT_DURATION),
                rule: mfa.map(|m| text(m, "rule")).unwrap_or_default(),
            },
            otp: OtpOptions {
                enabled: flag(otp, "enabled", false),
                duration: seconds(otp, "duration", OtpOptions::DEFAULT_DURATION),
                length: seconds(otp, "length", OtpOptions::DEFAULT_LENGTH),
                email_template: MailTemplate::parse(group(otp, "emailTemplate")),
            },
            tokens: Tokens::parse(collection, options)?,
            sessions: SessionOptions::parse(group(o, "sessions")),
            verification_template: MailTemplate::parse(group(o, "verificationTemplate")),
            reset_password_template: MailTemplate::parse(group(o, "resetPasswordTemplate")),
            confirm_email_change_template: MailTemplate::parse(group(o, "confirmEmailChangeTemplate")),
        })
    }

    /// The options of a new auth collection: PocketBase's defaults, fresh
    /// token secrets, and these mail templates.
    pub fn new_collection(auth_token_duration: u64, templates: DefaultTemplates) -> Self {
        Self {
            auth_rule: Some(String::new()),
            manage_rule: None,
            auth_alert: AuthAlertOptions {
                enabled: true,
                email_template: templates.auth_alert,
            },
            oauth2: OAuth2Options::default(),
            password_auth: PasswordAuthOptions {
                enabled: true,
                identity_fields: vec!["email".into()],
            },
            mfa: MfaOptions {
                enabled: false,
                duration: MfaOptions::DEFAULT_DURATION,
                rule: String::new(),
            },
            otp: OtpOptions {
                enabled: false,
                duration: OtpOptions::DEFAULT_DURATION,
                length: OtpOptions::DEFAULT_LENGTH,
                email_template: templates.otp,
            },
            tokens: Tokens::generate(auth_token_duration),
            sessions: SessionOptions::default(),
            verification_template: templates.verification,
            reset_password_template: templates.reset_password,
            confirm_email_change_template: templates.confirm_email_change,
        }
    }

    /// The options in their stored JSON shape, secrets included. Only new
    /// collections are written from here: a stored collection keeps its
    /// own JSON (`Collection::options`).
    pub fn to_json(&self) -> Map<String, Value> {
        let mut o = Map::new();
        o.insert("authRule".into(), json!(self.auth_rule));
        o.insert("manageRule".into(), json!(self.manage_rule));
        o.insert("authAlert".into(), json!(self.auth_alert));
        o.insert("oauth2".into(), json!(self.oauth2));
        o.insert("passwordAuth".into(), json!(self.password_auth));
        o.insert("mfa".into(), json!(self.mfa));
        o.insert("otp".into(), json!(self.otp));
        self.tokens.insert_json(&mut o);
        o.insert("sessions".into(), json!(self.sessions));
        o.insert("verificationTemplate".into(), json!(self.verification_template));
        o.insert(
            "resetPasswordTemplate".into(),
            json!(self.reset_password_template),
        );
        o.insert(
            "confirmEmailChangeTemplate".into(),
            json!(self.confirm_email_change_template),
        );
        o
    }

    pub fn token(&self, kind: TokenKind) -> &TokenOptions {
        self.tokens.get(kind)
    }
}

/// The mail templates a new auth collection starts with
/// (`schema::defaults` words them).
pub struct DefaultTemplates {
    pub auth_alert: MailTemplate,
    pub otp: MailTemplate,
    pub verification: MailTemplate,
    pub reset_password: MailTemplate,
    pub confirm_email_change: MailTemplate,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::defaults;

    #[test]
    fn new_options_read_back_as_they_were_built() {
        let built = defaults::new_auth_options(3600);
        let read = AuthOptions::parse("accounts", &built.to_json()).expect("readable");
        assert_eq!(read, built);
        assert_eq!(read.token(TokenKind::Auth).duration, 3600);
        assert_eq!(
            read.token(TokenKind::File).duration,
            TokenKind::File.default_duration()
        );
    }

    #[test]
    fn a_missing_or_empty_secret_is_an_error_naming_collection_and_option() {
        let mut options = defaults::new_auth_options(3600).to_json();
        options["verificationToken"] = json!({"duration": 60, "secret": ""});
        assert_eq!(
            AuthOptions::parse("accounts", &options),
            Err(OptionsError::MissingSecret {
                collection: "accounts".into(),
                option: "verificationToken",
            })
        );
        options["verificationToken"] = json!({"duration": 60});
        let err = AuthOptions::parse("accounts", &options).expect_err("no secret");
        assert!(err.to_string().contains("\"accounts\""), "{err}");
        assert!(err.to_string().contains("verificationToken.secret"), "{err}");
    }

    #[test]
    fn secrets_never_print() {
        let built = defaults::new_auth_options(3600);
        let secret = built.token(TokenKind::Auth).secret.expose().to_owned();
        assert!(!format!("{built:?}").contains(&secret));
    }
}
