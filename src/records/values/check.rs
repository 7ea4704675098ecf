//! How a canonical field value is checked against its field's options:
//! a required field must not be blank, then one check per kind of field
//! (length and pattern, bounds, domains, sizes, choices), each answering
//! with PocketBase's error code and message.

use serde_json::{Value, json};

use super::{as_list, number_value, parse_datetime};
use crate::{
    identity::{
        email::{self as address, Email},
        password::MAX_LEN as PASSWORD_MAX_LEN,
    },
    schema::field::{Field, FieldKind},
    validation::FieldError,
};

/// Checks a canonical value against the field's options, one check per
/// kind of field. Relation existence and uniqueness need the database and
/// are checked there.
pub fn check(field: &Field, v: &Value) -> Option<FieldError> {
    if is_blank(field, v) {
        let required = field.kind.is_required();
        return required.then(FieldError::required);
    }
    match &field.kind {
        FieldKind::Text {
            min, max, pattern, ..
        } => {
            // Text without a maximum is still capped, as PocketBase caps it.
            let cap = if *max == 0 { 5000 } else { *max };
            text(v, *min, cap, pattern)
        }
        FieldKind::Password {
            min, max, pattern, ..
        } => password(v, *min, *max, pattern),
        FieldKind::Number {
            min, max, only_int, ..
        } => number(v, *min, *max, *only_int),
        FieldKind::Email {
            except_domains,
            only_domains,
            ..
        } => email(v, except_domains, only_domains),
        FieldKind::Url {
            except_domains,
            only_domains,
            ..
        } => url(v, except_domains, only_domains),
        FieldKind::Editor { max_size, .. } => editor(v, *max_size),
        FieldKind::Json { max_size, .. } => json_value(v, *max_size),
        FieldKind::Date { min, max, .. } => date(v, min, max),
        FieldKind::Select {
            values, max_select, ..
        } => select(v, values, *max_select),
        FieldKind::Relation {
            min_select,
            max_select,
            ..
        } => relation(v, *min_select, *max_select),
        FieldKind::GeoPoint { .. } => geo_point(v),
        _ => None,
    }
}

/// Text and password: length in characters within `min` and `cap` (0: no
/// cap), and the pattern if any.
fn text(v: &Value, min: u64, cap: u64, pattern: &str) -> Option<FieldError> {
    let s = v.as_str().unwrap_or("");
    let len = s.chars().count() as u64;
    if min > 0 && len < min {
        return Some(
            FieldError::new(
                "validation_min_text_constraint",
                format!("Must be at least {min} character(s)."),
            )
            .with_params(json!({"min": min})),
        );
    }
    if cap > 0 && len > cap {
        return Some(
            FieldError::new(
                "validation_max_text_constraint",
                format!("Must be no more than {cap} character(s)."),
            )
            .with_params(json!({"max": cap})),
        );
    }
    if !pattern.is_empty() && !pattern_matches(pattern, s) {
        return Some(FieldError::new(
            "validation_invalid_format",
            "Invalid value format.",
        ));
    }
    None
}

/// A password, bounded as PocketBase bounds it, by bcrypt: over 72 bytes
/// it cannot be hashed there ("Invalid value."), and over the field's
/// `max` characters (71 at most, and where it sets none) or under its
/// `min` it is refused in its password field's words (no params, unlike
/// text's); then the pattern as for text. A longer password would not
/// survive a move to PocketBase.
fn password(v: &Value, min: u64, max: u64, pattern: &str) -> Option<FieldError> {
    let s = v.as_str().unwrap_or("");
    if s.len() > 72 {
        return Some(FieldError::new("validation_invalid_value", "Invalid value."));
    }
    let cap = match usize::try_from(max) {
        Ok(max) if max > 0 => max.min(PASSWORD_MAX_LEN),
        _ => PASSWORD_MAX_LEN,
    };
    let len = s.chars().count();
    if len > cap {
        return Some(FieldError::new(
            "validation_max_text_constraint",
            format!("Must be less than {cap} character(s)."),
        ));
    }
    if (len as u64) < min {
        return Some(FieldError::new(
            "validation_min_text_constraint",
            format!("Must be at least {min} character(s)."),
        ));
    }
    text(v, 0, 0, pattern)
}

fn number(v: &Value, min: Option<f64>, max: Option<f64>, only_int: bool) -> Option<FieldError> {
    // `normalize` leaves NaN and the infinities as text (JSON has no such
    // numbers); PocketBase refuses them before any other check.
    let Some(n) = v.as_f64() else {
        return Some(FieldError::new(
            "validation_not_a_number",
            "The submitted number is not properly formatted.",
        ));
    };
    // Whole means a whole number a 64-bit integer holds, as PocketBase
    // judges it: 9.3e18 and 1e300 are refused as "decimal" there.
    const WHOLE: std::ops::Range<f64> = (i64::MIN as f64)..-(i64::MIN as f64);
    if only_int && (n.fract() != 0.0 || !WHOLE.contains(&n)) {
        return Some(FieldError::new(
            "validation_only_int_constraint",
            "Decimal numbers are not allowed.",
        ));
    }
    if let Some(min) = min.filter(|m| n < *m) {
        return Some(
            FieldError::new(
                "validation_min_number_constraint",
                format!("Must be greater or equal than {}.", number_value(min)),
            )
            .with_params(json!({"min": number_value(min)})),
        );
    }
    if let Some(max) = max.filter(|m| n > *m) {
        return Some(
            FieldError::new(
                "validation_max_number_constraint",
                format!("Must be less or equal than {}.", number_value(max)),
            )
            .with_params(json!({"max": number_value(max)})),
        );
    }
    None
}

fn email(v: &Value, except_domains: &[String], only_domains: &[String]) -> Option<FieldError> {
    let s = v.as_str().unwrap_or("");
    // `Email::parse` forgives the spaces around a typed sign-in address;
    // a stored one keeps none, as PocketBase refuses them.
    if s.trim() != s || Email::parse(s).is_none() {
        Some(address::invalid())
    } else if !domain_allowed(domain_of_email(s), except_domains, only_domains) {
        Some(FieldError::new(
            "validation_email_domain_not_allowed",
            "Email domain is not allowed.",
        ))
    } else {
        None
    }
}

fn url(v: &Value, except_domains: &[String], only_domains: &[String]) -> Option<FieldError> {
    match url_host(v.as_str().unwrap_or("")) {
        None => Some(FieldError::new("validation_invalid_url", "Must be a valid url.")),
        Some(host) if !domain_allowed(&host, except_domains, only_domains) => Some(FieldError::new(
            "validation_url_domain_not_allowed",
            "Url domain is not allowed.",
        )),
        Some(_) => None,
    }
}

fn editor(v: &Value, max_size: u64) -> Option<FieldError> {
    let cap = if max_size == 0 { 5 * 1024 * 1024 } else { max_size };
    (v.as_str().unwrap_or("").len() as u64 > cap).then(|| {
        FieldError::new(
            "validation_content_size_limit",
            format!("The maximum allowed content size is {cap} bytes."),
        )
        .with_params(json!({"maxSize": cap}))
    })
}

fn json_value(v: &Value, max_size: u64) -> Option<FieldError> {
    let cap = if max_size == 0 { 1024 * 1024 } else { max_size };
    (v.to_string().len() as u64 > cap).then(|| {
        FieldError::new(
            "validation_json_size_limit",
            format!("The maximum allowed JSON size is {cap} bytes."),
        )
        .with_params(json!({"maxSize": cap}))
    })
}

fn date(v: &Value, min: &str, max: &str) -> Option<FieldError> {
    let t = parse_datetime(v.as_str().unwrap_or(""))?;
    if let Some(lo) = parse_datetime(min).filter(|lo| t < *lo) {
        return Some(
            FieldError::new(
                "validation_min_greater_equal_than_required",
                format!("Must be no less than {}.", crate::datetime::format(lo)),
            )
            .with_params(json!({"threshold": crate::datetime::format(lo)})),
        );
    }
    if let Some(hi) = parse_datetime(max).filter(|hi| t > *hi) {
        return Some(
            FieldError::new(
                "validation_max_less_equal_than_required",
                format!("Must be no greater than {}.", crate::datetime::format(hi)),
            )
            .with_params(json!({"threshold": crate::datetime::format(hi)})),
        );
    }
    None
}

fn select(v: &Value, values: &[String], max_select: u64) -> Option<FieldError> {
    let chosen = as_list(v);
    if let Some(bad) = chosen.iter().find(|c| !values.contains(c)) {
        return Some(
            FieldError::new("validation_invalid_value", format!("Invalid value {bad}."))
                .with_params(json!({"value": bad})),
        );
    }
    let cap = max_select.max(1);
    (chosen.len() as u64 > cap).then(|| {
        FieldError::new(
            "validation_too_many_values",
            format!("Select no more than {cap}."),
        )
        .with_params(json!({"maxSelect": cap}))
    })
}

fn relation(v: &Value, min_select: u64, max_select: u64) -> Option<FieldError> {
    let n = as_list(v).len() as u64;
    let cap = max_select.max(1);
    if n > cap {
        Some(
            FieldError::new(
                "validation_too_many_values",
                format!("Select no more than {cap}."),
            )
            .with_params(json!({"maxSelect": cap})),
        )
    } else if n < min_select {
        Some(
            FieldError::new(
                "validation_not_enough_values",
                format!("Select at least {min_select}."),
            )
            .with_params(json!({"minSelect": min_select})),
        )
    } else {
        None
    }
}

fn geo_point(v: &Value) -> Option<FieldError> {
    let lat = v.get("lat").and_then(Value::as_f64).unwrap_or(0.0);
    let lon = v.get("lon").and_then(Value::as_f64).unwrap_or(0.0);
    if !(-90.0..=90.0).contains(&lat) {
        Some(FieldError::new(
            "validation_invalid_latitude",
            "Latitude must be between -90 and 90 degrees.",
        ))
    } else if !(-180.0..=180.0).contains(&lon) {
        Some(FieldError::new(
            "validation_invalid_longitude",
            "Longitude must be between -180 and 180 degrees.",
        ))
    } else {
        None
    }
}

/// Compiled field patterns, by pattern text: compiling a regex costs far
/// more than matching one, and the same few patterns (the `id` field's
/// among them) are checked on every write. Bounded; an invalid pattern
/// (refused when the collection is saved) matches nothing.
static PATTERNS: std::sync::LazyLock<moka::sync::Cache<String, Option<std::sync::Arc<regex::Regex>>>> =
    std::sync::LazyLock::new(|| moka::sync::Cache::new(1_000));

fn pattern_matches(pattern: &str, text: &str) -> bool {
    // The writer checks the same few patterns (every record id's among
    // them) on every write: a small per-thread list in front of the
    // shared cache saves hashing the pattern and the cache's bookkeeping.
    const LOCAL: usize = 16;
    type Compiled = Option<std::sync::Arc<regex::Regex>>;
    thread_local! {
        static RECENT: std::cell::RefCell<Vec<(String, Compiled)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    RECENT.with_borrow_mut(|recent| {
        if let Some((_, hit)) = recent.iter().find(|(p, _)| p == pattern) {
            return hit.as_ref().is_some_and(|re| re.is_match(text));
        }
        let compiled = PATTERNS.get(pattern).unwrap_or_else(|| {
            let fresh = regex::Regex::new(pattern).ok().map(std::sync::Arc::new);
            PATTERNS.insert(pattern.to_owned(), fresh.clone());
            fresh
        });
        if recent.len() == LOCAL {
            recent.remove(0);
        }
        let matches = compiled.as_ref().is_some_and(|re| re.is_match(text));
        recent.push((pattern.to_owned(), compiled));
        matches
    })
}

fn is_blank(field: &Field, v: &Value) -> bool {
    match (&field.kind, v) {
        (FieldKind::Json { .. }, Value::Null) => true,
        (FieldKind::Json { .. }, Value::String(s)) => s.is_empty(),
        (FieldKind::Json { .. }, Value::Array(a)) => a.is_empty(),
        (FieldKind::Json { .. }, Value::Object(o)) => o.is_empty(),
        (FieldKind::Json { .. }, _) => false,
        (FieldKind::GeoPoint { .. }, _) => v == &json!({"lon": 0, "lat": 0}),
        // Only empty text is blank: PocketBase takes " " for a required
        // text and measures it against `min`.
        (_, Value::String(s)) => s.is_empty(),
        (_, Value::Number(n)) => n.as_f64() == Some(0.0),
        (_, Value::Bool(b)) => !b,
        (_, Value::Array(a)) => a.is_empty(),
        (_, Value::Null) => true,
        _ => false,
    }
}

fn domain_of_email(e: &str) -> &str {
    e.rsplit_once('@').map_or("", |(_, d)| d)
}

fn domain_allowed(domain: &str, except: &[String], only: &[String]) -> bool {
    let d = domain.to_ascii_lowercase();
    (only.is_empty() || only.iter().any(|o| o.eq_ignore_ascii_case(&d)))
        && !except.iter().any(|x| x.eq_ignore_ascii_case(&d))
}

/// The host of a url as PocketBase 0.40 accepts one (learned from its
/// answers): an optional lowercase scheme of the web's and a few network
/// protocols'; then an optional `user:pass@`, a host and an optional port
/// of one to five digits, and a path, query or fragment without spaces.
/// The host is an IPv4 address, a bracketed IPv6 one, one name with no
/// dot (`http://localhost`, with a scheme or port only), or dotted names
/// (underscores inside a label allowed) ending in letters (`x.com`, not
/// `x.123`). Lowercased, for the domain lists.
fn url_host(raw: &str) -> Option<String> {
    const SCHEMES: [&str; 7] = ["http", "https", "ftp", "ws", "wss", "tcp", "udp"];
    let (rest, bare) = match raw.split_once("://") {
        Some((scheme, rest)) => (SCHEMES.contains(&scheme).then_some(rest)?, false),
        // Without a scheme a name needs a dot or a port to be a host.
        None if !raw.contains(':') && !raw.contains('.') => return None,
        None => (raw, !raw.contains(':')),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if raw.chars().any(char::is_whitespace) || tail.chars().any(char::is_control) {
        return None;
    }
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => {
            let (addr, after) = v6.split_once(']')?;
            addr.parse::<std::net::Ipv6Addr>().ok()?;
            (&host_port[..addr.len() + 2], after.strip_prefix(':'))
        }
        None => match host_port.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        },
    };
    if port.is_some_and(|p| p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    let ok = host.starts_with('[')
        || name.parse::<std::net::Ipv4Addr>().is_ok()
        || match name.split('.').collect::<Vec<_>>().as_slice() {
            [one] => !bare && label_ok(one, false),
            labels => {
                labels.iter().all(|l| label_ok(l, true))
                    && labels.last().is_some_and(|l| l.chars().all(char::is_alphabetic))
            }
        };
    ok.then(|| host.to_lowercase())
}

/// A host label: letters and digits (any script), with `-` (and in a
/// dotted name `_`) inside but not at either end.
fn label_ok(label: &str, underscore: bool) -> bool {
    let inner = |c: char| c.is_alphanumeric() || c == '-' || (underscore && c == '_');
    label.chars().next().is_some_and(char::is_alphanumeric)
        && label.chars().last().is_some_and(char::is_alphanumeric)
        && label.chars().all(inner)
}
