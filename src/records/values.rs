//! Field values: how a client's JSON becomes each field's canonical value
//! (as leniently as PocketBase: `"abc"` for a number is 0, a list for a
//! single select keeps the last item), how that value is checked against
//! the field's options, and how it is stored.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rusqlite::types::Value as Sql;
use serde_json::{Value, json};

use crate::{
    auth::email::Email,
    schema::field::{Field, FieldKind},
    validation::FieldError,
};

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

fn as_number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => s.trim().parse().unwrap_or(0.0),
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    }
}

fn number_value(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

fn as_list(v: &Value) -> Vec<String> {
    let items: Vec<String> = match v {
        Value::Array(items) => items.iter().map(as_text).collect(),
        Value::Null => vec![],
        other => vec![as_text(other)],
    };
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items.into_iter().filter(|s| !s.is_empty()) {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Parses the datetime forms clients send: PocketBase's own, RFC 3339,
/// and a bare date.
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

pub fn parse_datetime(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.fZ",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// The canonical JSON value of `raw` for `field`.
pub fn normalize(field: &Field, raw: &Value) -> Value {
    match &field.kind {
        FieldKind::Number { .. } => number_value(as_number(raw)),
        FieldKind::Bool { .. } => json!(match raw {
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
            Value::String(s) => matches!(s.trim(), "true" | "1" | "TRUE" | "True" | "t"),
            _ => false,
        }),
        FieldKind::Json { .. } => raw.clone(),
        FieldKind::GeoPoint { .. } => match raw {
            Value::Object(o) => json!({
                "lon": number_value(o.get("lon").map(as_number).unwrap_or(0.0)),
                "lat": number_value(o.get("lat").map(as_number).unwrap_or(0.0)),
            }),
            _ => json!({"lon": 0, "lat": 0}),
        },
        FieldKind::Date { .. } => json!(
            parse_datetime(&as_text(raw))
                .map(crate::datetime::format)
                .unwrap_or_default()
        ),
        k if k.is_multi() => json!(as_list(raw)),
        FieldKind::Select { .. } | FieldKind::Relation { .. } | FieldKind::File { .. } => {
            json!(as_list(raw).pop().unwrap_or_default())
        }
        _ => json!(as_text(raw)),
    }
}

/// Form fields arrive as text; a `json` field's text is the JSON itself
/// (as the SDKs send it), so it is decoded before normalization. Text that
/// is not JSON stays a JSON string, as PocketBase keeps it.
pub fn decode_form_values(c: &crate::schema::Collection, body: &mut serde_json::Map<String, Value>) {
    for f in c
        .fields
        .iter()
        .filter(|f| matches!(f.kind, FieldKind::Json { .. }))
    {
        if let Some(Value::String(text)) = body.get(&f.name)
            && let Ok(decoded) = serde_json::from_str::<Value>(text)
        {
            body.insert(f.name.clone(), decoded);
        }
    }
}

/// The empty value of a field's type.
pub fn zero(field: &Field) -> Value {
    normalize(field, &Value::Null)
}

fn is_blank(field: &Field, v: &Value) -> bool {
    match (&field.kind, v) {
        (FieldKind::Json { .. }, Value::Null) => true,
        (FieldKind::Json { .. }, Value::String(s)) => s.is_empty(),
        (FieldKind::Json { .. }, Value::Array(a)) => a.is_empty(),
        (FieldKind::Json { .. }, Value::Object(o)) => o.is_empty(),
        (FieldKind::Json { .. }, _) => false,
        (FieldKind::GeoPoint { .. }, _) => v == &json!({"lon": 0, "lat": 0}),
        (
            FieldKind::Text { .. } | FieldKind::Editor { .. } | FieldKind::Password { .. },
            Value::String(s),
        ) => s.trim().is_empty(),
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

fn url_host(raw: &str) -> Option<String> {
    let rest = raw.split_once("://").map_or(raw, |(scheme, rest)| {
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            ""
        } else {
            rest
        }
    });
    let host = rest
        .split(['/', '?', '#'])
        .next()?
        .rsplit('@')
        .next()?
        .split(':')
        .next()?;
    (!host.is_empty()
        && host.contains('.')
        && host.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.'))
    .then(|| host.to_ascii_lowercase())
}

/// Checks a canonical value against the field's options. Relation
/// existence and uniqueness need the database and are checked there.
pub fn check(field: &Field, v: &Value) -> Option<FieldError> {
    if is_blank(field, v) {
        let required = field.kind.is_required();
        return required.then(FieldError::required);
    }
    match &field.kind {
        FieldKind::Text {
            min, max, pattern, ..
        }
        | FieldKind::Password {
            min, max, pattern, ..
        } => {
            let s = v.as_str().unwrap_or("");
            let len = s.chars().count() as u64;
            if *min > 0 && len < *min {
                return Some(
                    FieldError::new(
                        "validation_min_text_constraint",
                        format!("Must be at least {min} character(s)."),
                    )
                    .with_params(json!({"min": min})),
                );
            }
            let cap = if *max == 0 && matches!(field.kind, FieldKind::Text { .. }) {
                5000
            } else {
                *max
            };
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
        FieldKind::Number {
            min, max, only_int, ..
        } => {
            let n = v.as_f64().unwrap_or(0.0);
            if *only_int && n.fract() != 0.0 {
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
        FieldKind::Email {
            except_domains,
            only_domains,
            ..
        } => {
            let s = v.as_str().unwrap_or("");
            if Email::parse(s).is_none() {
                Some(FieldError::new(
                    "validation_is_email",
                    "Must be a valid email address.",
                ))
            } else if !domain_allowed(domain_of_email(s), except_domains, only_domains) {
                Some(FieldError::new(
                    "validation_email_domain_not_allowed",
                    "Email domain is not allowed.",
                ))
            } else {
                None
            }
        }
        FieldKind::Url {
            except_domains,
            only_domains,
            ..
        } => match url_host(v.as_str().unwrap_or("")) {
            None => Some(FieldError::new("validation_invalid_url", "Must be a valid url.")),
            Some(host) if !domain_allowed(&host, except_domains, only_domains) => Some(FieldError::new(
                "validation_url_domain_not_allowed",
                "Url domain is not allowed.",
            )),
            Some(_) => None,
        },
        FieldKind::Editor { max_size, .. } => {
            let cap = if *max_size == 0 {
                5 * 1024 * 1024
            } else {
                *max_size
            };
            (v.as_str().unwrap_or("").len() as u64 > cap).then(|| {
                FieldError::new(
                    "validation_content_size_limit",
                    format!("The maximum allowed content size is {cap} bytes."),
                )
                .with_params(json!({"maxSize": cap}))
            })
        }
        FieldKind::Json { max_size, .. } => {
            let cap = if *max_size == 0 { 1024 * 1024 } else { *max_size };
            (v.to_string().len() as u64 > cap).then(|| {
                FieldError::new(
                    "validation_json_size_limit",
                    format!("The maximum allowed JSON size is {cap} bytes."),
                )
                .with_params(json!({"maxSize": cap}))
            })
        }
        FieldKind::Date { min, max, .. } => {
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
        FieldKind::Select {
            values, max_select, ..
        } => {
            let chosen = as_list(v);
            if let Some(bad) = chosen.iter().find(|c| !values.contains(c)) {
                return Some(
                    FieldError::new("validation_invalid_value", format!("Invalid value {bad}."))
                        .with_params(json!({"value": bad})),
                );
            }
            let cap = (*max_select).max(1);
            (chosen.len() as u64 > cap).then(|| {
                FieldError::new(
                    "validation_too_many_values",
                    format!("Select no more than {cap}."),
                )
                .with_params(json!({"maxSelect": cap}))
            })
        }
        FieldKind::Relation {
            min_select,
            max_select,
            ..
        } => {
            let n = as_list(v).len() as u64;
            let cap = (*max_select).max(1);
            if n > cap {
                Some(
                    FieldError::new(
                        "validation_too_many_values",
                        format!("Select no more than {cap}."),
                    )
                    .with_params(json!({"maxSelect": cap})),
                )
            } else if n < *min_select {
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
        FieldKind::GeoPoint { .. } => {
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
        _ => None,
    }
}

/// The stored form of a canonical value.
pub fn to_sql(field: &Field, v: &Value) -> Sql {
    match &field.kind {
        FieldKind::Number { .. } => match v.as_i64() {
            Some(i) => Sql::Integer(i),
            None => Sql::Real(v.as_f64().unwrap_or(0.0)),
        },
        FieldKind::Bool { .. } => Sql::Integer(i64::from(v.as_bool().unwrap_or(false))),
        FieldKind::Json { .. } => match v {
            Value::Null => Sql::Null,
            other => Sql::Text(other.to_string()),
        },
        FieldKind::GeoPoint { .. } => Sql::Text(v.to_string()),
        k if k.is_multi() => Sql::Text(v.to_string()),
        _ => Sql::Text(v.as_str().unwrap_or("").to_owned()),
    }
}

/// Applies `name+` (append; add to a number), `+name` (prepend) or
/// `name-` (remove; subtract) to a current value.
pub fn modify(field: &Field, current: &Value, op: Modifier, operand: &Value) -> Value {
    match &field.kind {
        FieldKind::Number { .. } => {
            let (a, b) = (current.as_f64().unwrap_or(0.0), as_number(operand));
            match op {
                Modifier::Append => number_value(a + b),
                Modifier::Remove => number_value(a - b),
                Modifier::Prepend => current.clone(),
            }
        }
        FieldKind::Select { .. } | FieldKind::Relation { .. } | FieldKind::File { .. }
            if field.kind.is_multi() =>
        {
            let mut list = as_list(current);
            let items = as_list(operand);
            match op {
                Modifier::Append => list.extend(items),
                Modifier::Prepend => list.splice(0..0, items).for_each(drop),
                Modifier::Remove => list.retain(|x| !items.contains(x)),
            }
            normalize(field, &json!(list))
        }
        FieldKind::Select { .. } | FieldKind::Relation { .. } | FieldKind::File { .. } => match op {
            Modifier::Remove if as_list(operand).contains(&as_text(current)) => json!(""),
            Modifier::Remove => current.clone(),
            _ => normalize(field, operand),
        },
        _ => current.clone(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    Append,
    Prepend,
    Remove,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::field::Field;

    fn field(def: Value) -> Field {
        Field::from_json(&def).expect("field")
    }

    #[test]
    fn lenient_coercion_like_pocketbase() {
        let n = field(json!({"name": "n", "type": "number"}));
        assert_eq!(normalize(&n, &json!("abc")), json!(0));
        assert_eq!(normalize(&n, &json!(true)), json!(1));
        assert_eq!(normalize(&n, &json!("2.5")), json!(2.5));
        let s = field(json!({"name": "s", "type": "select", "values": ["a", "b"]}));
        assert_eq!(
            normalize(&s, &json!(["a", "b"])),
            json!("b"),
            "single keeps the last"
        );
        let m = field(json!({"name": "m", "type": "select", "values": ["a", "b"], "maxSelect": 2}));
        assert_eq!(
            normalize(&m, &json!(["a", "a", "b"])),
            json!(["a", "b"]),
            "deduplicated"
        );
        let d = field(json!({"name": "d", "type": "date"}));
        assert_eq!(
            normalize(&d, &json!("2024-05-06")),
            json!("2024-05-06 00:00:00.000Z")
        );
        assert_eq!(
            normalize(&d, &json!("2024-05-06T07:08:09Z")),
            json!("2024-05-06 07:08:09.000Z")
        );
        assert_eq!(normalize(&d, &json!("nope")), json!(""));
    }

    #[test]
    fn checks_report_pocketbase_codes() {
        let t = field(json!({"name": "t", "type": "text", "min": 3, "max": 5, "required": true}));
        assert_eq!(
            check(&t, &json!("")).map(|e| e.code),
            Some("validation_required".into())
        );
        assert_eq!(
            check(&t, &json!("ab")).map(|e| e.code),
            Some("validation_min_text_constraint".into())
        );
        assert_eq!(
            check(&t, &json!("éééééé")).map(|e| e.code),
            Some("validation_max_text_constraint".into())
        );
        assert_eq!(check(&t, &json!("ééééé")), None, "max counts characters");
        let n = field(json!({"name": "n", "type": "number", "min": 1, "onlyInt": true}));
        assert_eq!(check(&n, &json!(0)), None, "zero skips min");
        assert_eq!(
            check(&n, &json!(-5)).map(|e| e.code),
            Some("validation_min_number_constraint".into())
        );
        assert_eq!(
            check(&n, &json!(2.5)).map(|e| e.code),
            Some("validation_only_int_constraint".into())
        );
        let u = field(json!({"name": "u", "type": "url"}));
        assert!(check(&u, &json!("https://example.com/x")).is_none());
        assert!(
            check(&u, &json!("example.com")).is_none(),
            "no scheme is accepted"
        );
        assert_eq!(
            check(&u, &json!("not a url")).map(|e| e.code),
            Some("validation_invalid_url".into())
        );
        let j = field(json!({"name": "j", "type": "json", "required": true}));
        assert!(check(&j, &json!({})).is_some() && check(&j, &json!(0)).is_none());
    }

    #[test]
    fn modifiers() {
        let m = field(json!({"name": "m", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3}));
        assert_eq!(
            modify(&m, &json!(["a"]), Modifier::Append, &json!("b")),
            json!(["a", "b"])
        );
        assert_eq!(
            modify(&m, &json!(["a"]), Modifier::Prepend, &json!(["c"])),
            json!(["c", "a"])
        );
        assert_eq!(
            modify(&m, &json!(["a", "b"]), Modifier::Remove, &json!("a")),
            json!(["b"])
        );
        let n = field(json!({"name": "n", "type": "number"}));
        assert_eq!(modify(&n, &json!(5), Modifier::Append, &json!(2)), json!(7));
        assert_eq!(modify(&n, &json!(5), Modifier::Remove, &json!(2)), json!(3));
        assert_eq!(
            modify(&n, &json!(5), Modifier::Prepend, &json!(2)),
            json!(5),
            "+n is ignored"
        );
    }
}
