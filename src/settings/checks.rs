//! What a settings change must satisfy before it is saved, field by field
//! in PocketBase's codes, so the dashboard and any client can point at
//! the value that is wrong: a value of the wrong type or sign
//! (`unreadable`), and values that read but cannot work (`problems`): an
//! application without a name or URL, mail enabled without a server, a
//! rate limit rule that can never match or that two rules claim, a
//! feature switched on without what it needs to work (a batch of at most
//! 0 requests, an S3 store without a bucket, rate limiting with no rule).

use serde_json::{Value, json};

use super::{Network, RateLimitRule, Settings};
use crate::{
    identity::email::Email,
    validation::{ErrorTree, FieldError},
};

/// Reads `value` as settings, or says which field could not be read and
/// why (a negative count, a word where a number goes).
pub fn read(value: Value) -> Result<Settings, ErrorTree> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path: Vec<String> = err
            .path()
            .iter()
            .map(|segment| match segment {
                serde_path_to_error::Segment::Seq { index } => index.to_string(),
                serde_path_to_error::Segment::Map { key } => key.clone(),
                serde_path_to_error::Segment::Enum { variant } => variant.clone(),
                serde_path_to_error::Segment::Unknown => "?".into(),
            })
            .collect();
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        let mut errors = ErrorTree::new();
        errors.add(&path, unreadable(&path, &err.inner().to_string()));
        errors
    })
}

/// The error for the value at `path` that serde could not read
/// (`message` is serde's).
fn unreadable(path: &[&str], message: &str) -> FieldError {
    if message.starts_with("invalid value: integer `-") {
        // The counts of a rate limit rule and the backups kept start at 1,
        // every other at 0.
        let threshold = if path.starts_with(&["rateLimits", "rules"]) || path == ["backups", "cronMaxKeep"] {
            1
        } else {
            0
        };
        return at_least(threshold);
    }
    let expected = message.rsplit("expected ").next().unwrap_or("");
    let wanted = match expected.trim_end_matches('.') {
        e if e.starts_with('u') || e.starts_with('i') => "a whole number",
        "a boolean" => "true or false",
        "a string" => "text",
        "a sequence" => "a list",
        e if e.starts_with("struct") || e.starts_with("a map") => "an object",
        _ => "a valid value",
    };
    let message = if message.starts_with("invalid value: integer") {
        "Is out of range.".to_owned()
    } else {
        format!("Must be {wanted}.")
    };
    FieldError::new("validation_invalid_value", message)
}

fn at_least(threshold: u64) -> FieldError {
    FieldError::new(
        "validation_min_greater_equal_than_required",
        format!("Must be no less than {threshold}."),
    )
    .with_params(json!({"threshold": threshold}))
}

/// Everything wrong with `s`, as PocketBase reports it.
pub fn problems(s: &Settings) -> ErrorTree {
    let mut errors = ErrorTree::new();
    let meta = &s.meta;
    for (key, value) in [
        ("appName", &meta.app_name),
        ("appURL", &meta.app_url),
        ("senderName", &meta.sender_name),
        ("senderAddress", &meta.sender_address),
    ] {
        if value.trim().is_empty() {
            errors.add(&["meta", key], FieldError::required());
        }
    }
    // Bytes, not characters, as PocketBase counts them here.
    if meta.app_name.len() > 255 {
        errors.add(
            &["meta", "appName"],
            FieldError::new(
                "validation_length_out_of_range",
                "The length must be between 1 and 255.",
            )
            .with_params(json!({"max": 255, "min": 1})),
        );
    }
    if !meta.app_url.trim().is_empty() && !is_url(&meta.app_url) {
        errors.add(&["meta", "appURL"], url_error());
    }
    if !meta.sender_address.trim().is_empty() && Email::parse(&meta.sender_address).is_none() {
        errors.add(&["meta", "senderAddress"], crate::identity::email::invalid());
    }
    if s.smtp.enabled {
        if s.smtp.host.trim().is_empty() {
            errors.add(&["smtp", "host"], FieldError::required());
        }
        if s.smtp.port == 0 {
            errors.add(&["smtp", "port"], FieldError::required());
        }
    }
    // Checked whether or not mail is on, as PocketBase does: a wrong
    // value waits there to break mail the day it is switched on.
    if !matches!(s.smtp.auth_method.as_str(), "" | "PLAIN" | "LOGIN") {
        errors.add(
            &["smtp", "authMethod"],
            FieldError::new("validation_in_invalid", "Must be a valid value."),
        );
    }
    if !s.smtp.local_name.is_empty() && !is_host(&s.smtp.local_name) {
        errors.add(
            &["smtp", "localName"],
            FieldError::new("validation_is_host", "Must be a valid IP address or DNS name."),
        );
    }
    check_s3(&mut errors, &["s3"], &s.s3);
    check_s3(&mut errors, &["backups", "s3"], &s.backups.s3);
    if !s.backups.cron.is_empty() && s.backups.cron_max_keep == 0 {
        errors.add(&["backups", "cronMaxKeep"], FieldError::required());
    }
    if s.batch.enabled {
        if s.batch.max_requests == 0 {
            errors.add(&["batch", "maxRequests"], FieldError::required());
        }
        if s.batch.timeout == 0 {
            errors.add(&["batch", "timeout"], FieldError::required());
        }
    }
    if s.rate_limits.enabled && s.rate_limits.rules.is_empty() {
        errors.add(&["rateLimits", "rules"], FieldError::required());
    }
    let ip_error = || {
        // Spelled as PocketBase spells it (sic), for clients that match codes.
        FieldError::new("validation_invlaid_ip_or_subnet", "Invalid IP or CIDR subnet.")
    };
    for (list, path) in [
        (&s.superuser_ips, &["superuserIPs"][..]),
        (&s.rate_limits.excluded_ips, &["rateLimits", "excludedIPs"][..]),
    ] {
        for (i, entry) in list.iter().enumerate() {
            if entry.parse::<Network>().is_err() {
                let index = i.to_string();
                errors.add(&[path, &[index.as_str()]].concat(), ip_error());
            }
        }
    }
    for (i, rule) in s.rate_limits.rules.iter().enumerate() {
        let index = i.to_string();
        let at = |field: &'static str| ["rateLimits", "rules", index.as_str(), field];
        if rule.label.is_empty() {
            errors.add(&at("label"), FieldError::required());
        } else if !label_reads(&rule.label) {
            errors.add(&at("label"), FieldError::bad_format());
        } else if s.rate_limits.rules[..i].iter().any(|r| conflict(r, rule)) {
            errors.add(
                &at("label"),
                FieldError::new(
                    "validation_conflicting_rate_limit_rule",
                    format!(
                        "Another rate limit rule has the label {} for the same audience.",
                        rule.label
                    ),
                )
                .with_params(json!({"label": rule.label})),
            );
        }
        if rule.max_requests == 0 {
            errors.add(&at("maxRequests"), FieldError::required());
        }
        if rule.duration == 0 {
            errors.add(&at("duration"), FieldError::required());
        }
        if !matches!(rule.audience.as_str(), "" | "@guest" | "@auth") {
            errors.add(&at("audience"), FieldError::not_allowed_value());
        }
    }
    errors
}

/// An S3 store switched on needs every part of its address and key.
fn check_s3(errors: &mut ErrorTree, at: &[&str], s3: &super::S3) {
    if !s3.enabled {
        return;
    }
    for (key, value) in [
        ("bucket", &s3.bucket),
        ("region", &s3.region),
        ("endpoint", &s3.endpoint),
        ("accessKey", &s3.access_key),
        ("secret", &s3.secret),
    ] {
        if value.trim().is_empty() {
            errors.add(&[at, &[key]].concat(), FieldError::required());
        }
    }
    if !s3.endpoint.trim().is_empty() && !is_url(&s3.endpoint) {
        errors.add(&[at, &["endpoint"]].concat(), url_error());
    }
}

fn url_error() -> FieldError {
    FieldError::new("validation_is_url", "Must be a valid URL.")
}

/// An absolute URL with a host; one written without its scheme
/// (`localhost:8090`, `s3.example.com`) reads as `http://` one, as
/// PocketBase reads it.
fn is_url(value: &str) -> bool {
    let parsed = |v: &str| reqwest::Url::parse(v).is_ok_and(|u| u.has_host());
    parsed(value) || (!value.contains("://") && parsed(&format!("http://{value}")))
}

/// An IP address or a DNS name (labels of letters, digits, `-` and `_`).
fn is_host(value: &str) -> bool {
    if value.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let name = value.strip_suffix('.').unwrap_or(value);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        })
}

/// Whether a rate limit label is one the limiter can match: a path
/// (`/api/`, `/api/batch`), a method and a path (`POST /api/`), or a
/// collection's action tag (`users:auth`, `*:create`).
fn label_reads(label: &str) -> bool {
    let path = |p: &str| {
        p.starts_with('/')
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'.'))
    };
    let word = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if let Some((scope, action)) = label.split_once(':') {
        return (scope == "*" || word(scope)) && word(action);
    }
    match label.split_once(' ') {
        Some((method, rest)) => {
            method.bytes().all(|b| b.is_ascii_alphabetic()) && !method.is_empty() && path(rest)
        }
        None => path(label),
    }
}

/// Two rules of one label whose audiences overlap (everyone's overlaps
/// both others) would count the same requests twice.
fn conflict(a: &RateLimitRule, b: &RateLimitRule) -> bool {
    a.label == b.label && (a.audience.is_empty() || b.audience.is_empty() || a.audience == b.audience)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_the_limiter_can_match() {
        for good in [
            "/",
            "/api/",
            "/api/batch",
            "POST /api/",
            "get /api/x",
            "users:auth",
            "*:create",
            "*:listAuthMethods",
        ] {
            assert!(label_reads(good), "{good}");
        }
        for bad in [
            "",
            "api/x",
            "not a label!!",
            "POST  /api",
            "/api x",
            "*:*",
            "users:*",
            "a:b:c",
            "/api/*",
            "/api/{x}",
            " /api/",
            "/api/ ",
            "/api/ä",
            "users-x:create",
        ] {
            assert!(!label_reads(bad), "{bad}");
        }
    }

    #[test]
    fn urls_and_hosts_as_pocketbase_reads_them() {
        for good in ["https://example.com/app", "localhost:8090", "s3.example.com"] {
            assert!(is_url(good), "{good}");
        }
        for bad in ["not a url", "http://", ""] {
            assert!(!is_url(bad), "{bad}");
        }
        for good in ["localhost", "a.b-c", "a_b", "1.2.3.4", "::1", "mail.example.com."] {
            assert!(is_host(good), "{good}");
        }
        for bad in ["bad name!", "", "a..b", "-a", "ä.com"] {
            assert!(!is_host(bad), "{bad}");
        }
    }

    #[test]
    fn a_value_that_does_not_read_is_named_by_its_path() {
        let tree = |v: Value| read(v).err().map(ErrorTree::into_map).map(Value::Object);
        assert_eq!(
            tree(json!({"batch": {"maxRequests": -1}})),
            Some(json!({"batch": {"maxRequests": {
                "code": "validation_min_greater_equal_than_required",
                "message": "Must be no less than 0.", "params": {"threshold": 0}}}}))
        );
        let rules = json!({"rateLimits": {"rules": [
            {"label": "/a/", "maxRequests": 1, "duration": 1},
            {"label": "/b/", "maxRequests": -5, "duration": 1}]}});
        assert_eq!(
            tree(rules).expect("refused")["rateLimits"]["rules"]["1"]["maxRequests"]["params"]["threshold"],
            1
        );
        assert_eq!(
            tree(json!({"logs": {"maxDays": "abc"}})).expect("refused")["logs"]["maxDays"]["message"],
            "Must be a whole number."
        );
        assert_eq!(
            tree(json!({"logs": "abc"})).expect("refused")["logs"]["message"],
            "Must be an object."
        );
        assert!(read(json!({"batch": {"maxRequests": 0}})).is_ok());
    }
}
