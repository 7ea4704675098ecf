//! Renders a collection's mail template (`{subject, body}` in its options)
//! with `settings.meta` and the values of one message. Placeholders are
//! PocketBase's: `{APP_NAME}`, `{APP_URL}`, `{TOKEN}`, `{OTP}`,
//! `{ALERT_INFO}` and `{RECORD:field}`. Values are HTML-escaped in the
//! body (an app name or an email address must not inject markup); the
//! plain-text part is derived from the rendered body.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::Message;
use crate::{
    schema::{
        Collection,
        auth_options::{AuthOptions, MailTemplate},
    },
    settings::Meta,
};

/// Where a template lives in an auth collection's options.
#[derive(Debug, Clone, Copy)]
pub enum Template {
    Verification,
    PasswordReset,
    EmailChange,
    Otp,
    AuthAlert,
}

impl Template {
    /// Every template by the name PocketBase's test-email endpoint uses.
    pub const NAMED: [(&'static str, Self); 5] = [
        ("verification", Self::Verification),
        ("password-reset", Self::PasswordReset),
        ("email-change", Self::EmailChange),
        ("otp", Self::Otp),
        ("login-alert", Self::AuthAlert),
    ];

    /// The template called `name` in `NAMED`.
    pub fn named(name: &str) -> Option<Self> {
        Self::NAMED.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }

    fn of(self, o: &AuthOptions) -> &MailTemplate {
        match self {
            Self::Verification => &o.verification_template,
            Self::PasswordReset => &o.reset_password_template,
            Self::EmailChange => &o.confirm_email_change_template,
            Self::Otp => &o.otp.email_template,
            Self::AuthAlert => &o.auth_alert.email_template,
        }
    }
}

fn escape(raw: &str) -> String {
    raw.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn fill(template: &str, vars: &[(String, String)], escaped: bool) -> String {
    let mut out = template.to_owned();
    for (key, value) in vars {
        let value = if escaped { escape(value) } else { value.clone() };
        out = out.replace(&format!("{{{key}}}"), &value);
    }
    out
}

static LINK: LazyLock<Result<Regex, regex::Error>> =
    LazyLock::new(|| Regex::new(r#"(?is)<a\s[^>]*href="([^"]*)"[^>]*>(.*?)</a>"#));
static TAG: LazyLock<Result<Regex, regex::Error>> = LazyLock::new(|| Regex::new(r"(?s)<[^>]*>"));

/// The body without markup: links keep their target, paragraphs and line
/// breaks become new lines.
pub fn plain_text(html: &str) -> String {
    let mut text = html
        .replace("<br>", "\n")
        .replace("<br/>", "\n")
        .replace("</p>", "</p>\n");
    if let Ok(link) = LINK.as_ref() {
        text = link.replace_all(&text, "$2: $1").into_owned();
    }
    if let Ok(tag) = TAG.as_ref() {
        text = tag.replace_all(&text, "").into_owned();
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The message for `to` from the collection's `template`, with `vars`
/// (e.g. `("TOKEN", token)`) and the record's fields filled in.
pub fn render(
    c: &Collection,
    template: Template,
    meta: &Meta,
    to: &str,
    record: &Map<String, Value>,
    vars: &[(&str, &str)],
) -> Message {
    // Only auth collections send mail; any other has no template.
    let empty = MailTemplate::default();
    let source = c.auth().map_or(&empty, |o| template.of(o));
    let mut all: Vec<(String, String)> = vec![
        ("APP_NAME".into(), meta.app_name.clone()),
        ("APP_URL".into(), meta.app_url.trim_end_matches('/').to_owned()),
    ];
    all.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    for (key, value) in record {
        let shown = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => continue,
        };
        all.push((format!("RECORD:{key}"), shown));
    }
    let html = fill(&source.body, &all, true);
    Message {
        to: to.to_owned(),
        subject: fill(&source.subject, &all, false),
        text: plain_text(&html),
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::defaults;

    #[test]
    fn fills_placeholders_and_escapes_the_body() {
        let c = defaults::users();
        let meta = Meta {
            app_name: "A<b>".into(),
            ..Meta::default()
        };
        let m = render(
            &c,
            Template::PasswordReset,
            &meta,
            "x@y.co",
            &Map::new(),
            &[("TOKEN", "t.k.n")],
        );
        assert_eq!(m.subject, "Reset your A<b> password");
        assert!(m.html.contains("A&lt;b&gt;"), "{}", m.html);
        assert!(m.html.contains("/_/#/auth/confirm-password-reset/t.k.n"));
        assert!(!m.html.contains('{'), "no placeholder left: {}", m.html);
        assert!(
            m.text
                .contains("http://localhost:8090/_/#/auth/confirm-password-reset/t.k.n"),
            "{}",
            m.text
        );
        assert!(!m.text.contains("<p>"), "{}", m.text);
    }

    #[test]
    fn otp_template_carries_the_code() {
        let m = render(
            &defaults::users(),
            Template::Otp,
            &Meta::default(),
            "x@y.co",
            &Map::new(),
            &[("OTP", "12345678")],
        );
        assert!(m.text.contains("12345678"), "{}", m.text);
    }
}
