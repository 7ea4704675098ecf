//! A collection's fields, checked as the collection is saved: names,
//! each type's options (counts that cannot be negative, bounds, domains,
//! thumb sizes, generated values), in PocketBase's codes, at the path of
//! the field and option that is wrong (`fields.3.maxSize`). Part of
//! `validate`, which checks the collection as a whole.

use std::collections::HashSet;

use serde_json::json;

use super::{
    catalog::Catalog,
    collection::{Collection, CollectionKind},
    field::FieldKind,
    validate::{MAX_ID, blank, too_long, valid_name},
};
use crate::{
    random::PatternError,
    validation::{ErrorTree, FieldError},
};

const RESERVED_FIELD_NAMES: &[&str] = &["expand", "collectionId", "collectionName"];

/// Keys of an auth record's body that are not fields, so no field of an
/// auth collection may take their names (as PocketBase reserves them).
const AUTH_BODY_NAMES: &[&str] = &["passwordConfirm", "oldPassword"];

pub(super) fn validate_fields(
    catalog: &Catalog,
    old: Option<&Collection>,
    new: &Collection,
    errors: &mut ErrorTree,
) {
    let mut seen = HashSet::new();
    let is_key = |kind: &FieldKind| {
        matches!(
            kind,
            FieldKind::Text {
                primary_key: true,
                ..
            }
        )
    };
    let keys = new.fields.iter().filter(|f| is_key(&f.kind)).count();
    for (i, field) in new.fields.iter().enumerate() {
        let at = i.to_string();
        let path = |key: &'static str| ["fields", at.as_str(), key];
        let name = field.name.as_str();
        if name.is_empty() {
            errors.add(&path("name"), blank());
        } else if name.chars().count() > MAX_FIELD_NAME {
            errors.add(&path("name"), too_long(MAX_FIELD_NAME));
        } else if !valid_name(name) {
            errors.add(&path("name"), FieldError::bad_format());
        } else if RESERVED_FIELD_NAMES.contains(&name) {
            errors.add(&path("name"), FieldError::refused_value());
        } else if new.kind == CollectionKind::Auth
            && AUTH_BODY_NAMES.contains(&name)
            && old.is_none_or(|o| o.field_by_id(&field.id).is_none_or(|f| f.name != name))
        {
            // Sent beside the fields (a sign-up, a password change), a
            // field of the name could not be set. A stored one is let be.
            errors.add(
                &path("name"),
                FieldError::new(
                    "validation_reserved_field_name",
                    "The field name is reserved and cannot be used.",
                ),
            );
        } else if !seen.insert(name.to_ascii_lowercase())
            || (name == "id" && !matches!(field.kind, FieldKind::Text { .. }))
        {
            errors.add(
                &path("name"),
                FieldError::new(
                    "validation_duplicated_field_name",
                    format!("Duplicated or invalid field name {name}."),
                )
                .with_params(json!({"fieldName": name})),
            );
        } else if is_key(&field.kind) && name != "id" {
            errors.add(
                &path("name"),
                FieldError::new("validation_in_invalid", "The primary key must be named \"id\"."),
            );
        }
        if field.id.len() > MAX_ID {
            errors.add(&path("id"), too_long(MAX_ID));
        }
        if is_key(&field.kind) && keys > 1 {
            // The table has one primary key, the `id` column: every field
            // that claims to be one is told, the `id` field too, as
            // PocketBase tells them.
            errors.add(
                &path("primaryKey"),
                FieldError::new(
                    "validation_unsupported_composite_pk",
                    "Only the id field is a primary key.",
                ),
            );
        }
        if let FieldKind::Text {
            primary_key: true,
            required,
            pattern,
            ..
        } = &field.kind
            && name != "id"
        {
            // What a primary key would need besides its name.
            if pattern.is_empty() {
                errors.add(&path("pattern"), blank());
            }
            if !required {
                errors.add(&path("required"), blank());
            }
        }
        for key in oversized(&field.kind) {
            errors.add(&path(key), at_most(MAX_SAFE_INTEGER));
        }
        if let Some(problem) = autogenerate_problem(&field.kind) {
            errors.add(&path("autogeneratePattern"), problem);
        }
        if let Some(previous) = old.and_then(|o| o.field_by_id(&field.id))
            && previous.kind.type_name() != field.kind.type_name()
        {
            // At the field itself, as PocketBase reports it.
            errors.add(
                &["fields", at.as_str()],
                FieldError::new("validation_field_type_change", "Field type cannot be changed."),
            );
        }
        match &field.kind {
            FieldKind::Text {
                min, max, pattern, ..
            }
            | FieldKind::Password {
                min, max, pattern, ..
            } => {
                if let FieldKind::Password { cost, .. } = &field.kind {
                    // bcrypt's costs and input length (a bcrypt hash reads
                    // 72 bytes), PocketBase's bounds: Cairn hashes with
                    // argon2id, but a collection moved back keeps working.
                    if *cost != 0 && *cost < 4 {
                        errors.add(&path("cost"), at_least(4));
                    } else if *cost > 31 {
                        errors.add(&path("cost"), at_most(31));
                    }
                    if *max > 71 {
                        errors.add(&path("max"), at_most(71));
                    }
                }
                if *max > 0 && min > max {
                    errors.add(
                        &path("max"),
                        FieldError::new(
                            "validation_min_greater_equal_than_required",
                            format!("Must be no less than {min}."),
                        )
                        .with_params(json!({"threshold": min})),
                    );
                }
                if !pattern.is_empty()
                    && let Err(err) = regex::Regex::new(pattern)
                {
                    errors.add(
                        &path("pattern"),
                        FieldError::new(
                            "validation_invalid_regex",
                            format!("Invalid regular expression: {err}."),
                        ),
                    );
                }
            }
            FieldKind::Number {
                min, max, only_int, ..
            } if *only_int && [min, max].iter().any(|b| b.is_some_and(|b| b.fract() != 0.0)) => {
                for (key, bound) in [("min", min), ("max", max)] {
                    if bound.is_some_and(|b| b.fract() != 0.0) {
                        errors.add(
                            &path(key),
                            FieldError::new(
                                "validation_only_int_constraint",
                                "Decimal numbers are not allowed.",
                            ),
                        );
                    }
                }
            }
            FieldKind::Number {
                min: Some(min),
                max: Some(max),
                ..
            } if min > max => {
                errors.add(
                    &path("max"),
                    FieldError::new(
                        "validation_min_number_constraint",
                        format!("Must be greater or equal than {min}."),
                    )
                    .with_params(json!({"min": min})),
                );
            }
            FieldKind::Select {
                values, max_select, ..
            } => {
                if values.is_empty() {
                    errors.add(&path("values"), blank());
                } else if *max_select as usize > values.len() {
                    let n = values.len();
                    errors.add(
                        &path("maxSelect"),
                        FieldError::new(
                            "validation_max_less_equal_than_required",
                            format!("Must be no greater than {n}."),
                        )
                        .with_params(json!({"threshold": n})),
                    );
                }
            }
            FieldKind::Relation {
                collection_id,
                min_select,
                max_select,
                ..
            } => {
                if collection_id.is_empty() {
                    errors.add(&path("collectionId"), blank());
                } else if catalog.by_id(collection_id).is_none() && *collection_id != new.id {
                    errors.add(
                        &path("collectionId"),
                        FieldError::new(
                            "validation_field_relation_missing_collection",
                            "The relation collection doesn't exist.",
                        ),
                    );
                } else if let Some(FieldKind::Relation {
                    collection_id: before,
                    ..
                }) = old.and_then(|o| o.field_by_id(&field.id)).map(|f| &f.kind)
                    && before != collection_id
                {
                    // The stored ids name records of the old collection:
                    // pointed elsewhere, they would name strangers.
                    errors.add(
                        &path("collectionId"),
                        FieldError::new(
                            "validation_field_relation_change",
                            "The relation collection cannot be changed.",
                        ),
                    );
                }
                if *min_select > 0 && *max_select == 0 {
                    // A minimum needs a maximum to be measured against.
                    errors.add(&path("maxSelect"), blank());
                }
                if *max_select > 0 && min_select > max_select {
                    errors.add(
                        &path("maxSelect"),
                        FieldError::new(
                            "validation_min_greater_equal_than_required",
                            format!("Must be no less than {min_select}."),
                        )
                        .with_params(json!({"threshold": min_select})),
                    );
                }
            }
            FieldKind::Autodate { on_create, on_update } if !on_create && !on_update => {
                for key in ["onCreate", "onUpdate"] {
                    errors.add(
                        &path(key),
                        FieldError::new(
                            "validation_required",
                            "Either onCreate or onUpdate must be enabled.",
                        ),
                    );
                }
            }
            FieldKind::Email {
                except_domains,
                only_domains,
                ..
            }
            | FieldKind::Url {
                except_domains,
                only_domains,
                ..
            } => {
                // One list or the other: a domain in both would be
                // allowed and refused at once.
                if !except_domains.is_empty() && !only_domains.is_empty() {
                    let must_be_blank = || FieldError::new("validation_empty", "Must be blank.");
                    errors.add(&path("exceptDomains"), must_be_blank());
                    errors.add(&path("onlyDomains"), must_be_blank());
                }
                for (key, list) in [("exceptDomains", except_domains), ("onlyDomains", only_domains)] {
                    for (j, domain) in list.iter().enumerate() {
                        if !is_domain(domain) {
                            errors.add(
                                &["fields", at.as_str(), key, &j.to_string()],
                                FieldError::new("validation_is_domain", "Must be a valid domain."),
                            );
                        }
                    }
                }
            }
            FieldKind::File { thumbs, .. } => {
                for (j, thumb) in thumbs.iter().enumerate() {
                    if let Some(problem) = thumb_problem(thumb) {
                        errors.add(&["fields", at.as_str(), "thumbs", &j.to_string()], problem);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The longest field name PocketBase takes.
const MAX_FIELD_NAME: usize = 100;

/// The largest whole number a JSON client reads exactly (2^53 - 1), the
/// cap PocketBase puts on lengths and sizes.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

fn at_least(threshold: u64) -> FieldError {
    FieldError::new(
        "validation_min_greater_equal_than_required",
        format!("Must be no less than {threshold}."),
    )
    .with_params(json!({"threshold": threshold}))
}

fn at_most(threshold: u64) -> FieldError {
    FieldError::new(
        "validation_max_less_equal_than_required",
        format!("Must be no greater than {threshold}."),
    )
    .with_params(json!({"threshold": threshold}))
}

/// Lengths and sizes past `MAX_SAFE_INTEGER`, by option name.
fn oversized(kind: &FieldKind) -> Vec<&'static str> {
    let sizes: Vec<(&'static str, u64)> = match kind {
        FieldKind::Text { min, max, .. } => vec![("min", *min), ("max", *max)],
        FieldKind::Editor { max_size, .. }
        | FieldKind::Json { max_size, .. }
        | FieldKind::File { max_size, .. } => vec![("maxSize", *max_size)],
        _ => vec![],
    };
    sizes
        .into_iter()
        .filter(|(_, n)| *n > MAX_SAFE_INTEGER)
        .map(|(key, _)| key)
        .collect()
}

/// How many values an `autogeneratePattern` draws when the collection is
/// saved. One drawn value, as PocketBase checks, misses a pattern that
/// only sometimes fails (`[a-z0-9]{15}` against `^[a-z]+$` draws no digit
/// about once in 130 times); sixteen, about once in 10^34.
const AUTOGENERATE_SAMPLES: usize = 16;

/// Why a text field's `autogeneratePattern` is unusable, if it is: not a
/// regular expression, or it draws values the field itself would refuse
/// (an `id` pattern changed to `^[0-9]+$` while ids are still drawn from
/// `[a-z0-9]{15}`: every new record would be refused). Each drawn value is
/// checked as `records::values::check` checks a text value (lengths, the
/// 5000-character cap without a maximum, the pattern); change both
/// together.
fn autogenerate_problem(kind: &FieldKind) -> Option<FieldError> {
    let FieldKind::Text {
        min,
        max,
        pattern,
        autogenerate_pattern: autogenerate,
        ..
    } = kind
    else {
        return None;
    };
    if autogenerate.is_empty() {
        return None;
    }
    let cap = if *max == 0 { 5000 } else { *max };
    let pattern = if pattern.is_empty() {
        None
    } else {
        Some(regex::Regex::new(pattern).ok())
    };
    let fits = |value: &str| {
        let len = value.chars().count() as u64;
        len >= *min
            && len <= cap
            && pattern
                .as_ref()
                .is_none_or(|re| re.as_ref().is_some_and(|re| re.is_match(value)))
    };
    let unusable =
        |message: String| FieldError::new("validation_invalid_autogenerate_pattern_value", message);
    for _ in 0..AUTOGENERATE_SAMPLES {
        match crate::random::from_pattern(autogenerate) {
            Err(PatternError::Invalid(err)) => {
                return Some(FieldError::new(
                    "validation_invalid_regex",
                    format!("Invalid regular expression: {err}."),
                ));
            }
            Err(PatternError::Unsupported(err)) => {
                return Some(FieldError::new(
                    "validation_invalid_autogenerate_pattern",
                    format!("The autogenerate pattern cannot draw values: {err}."),
                ));
            }
            Err(err @ PatternError::TooLong) => {
                return Some(unusable(format!(
                    "The autogenerate pattern cannot be used: {err}."
                )));
            }
            Ok(value) if !fits(&value) => {
                return Some(unusable(format!(
                    "The autogenerate pattern can draw values this field refuses, such as {value:?}."
                )));
            }
            Ok(_) => {}
        }
    }
    None
}

/// A domain name as the email and URL fields' lists take one: dot-separated
/// labels of letters, digits and inner hyphens (at most 63 characters
/// each, 253 in all), the last one letters only.
fn is_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let label = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(label)
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
}

/// Why a file field's thumb size is unusable: not the shape of a size
/// (`schema::thumb`), or `0x0`, which is no size at all.
fn thumb_problem(thumb: &str) -> Option<FieldError> {
    match super::thumb::ThumbSpec::parse(thumb) {
        None => Some(FieldError::bad_format()),
        Some(spec) if spec.is_empty() => Some(FieldError::refused_value()),
        Some(_) => None,
    }
}

/// Options that count something (lengths, sizes, how many may be
/// selected) and so cannot be negative; keyed by field type. Fields read
/// a negative count as 0 (`field::json`), so this looks at what the
/// client sent.
const COUNTS: &[(&str, &[&str])] = &[
    ("text", &["min", "max"]),
    ("password", &["min", "max"]),
    ("editor", &["maxSize"]),
    ("json", &["maxSize"]),
    ("select", &["maxSelect"]),
    ("relation", &["minSelect", "maxSelect"]),
    ("file", &["maxSelect", "maxSize"]),
];

/// Reports each negative count in the `fields` a client sent, at the
/// index its field has in `new` (the defaults may have put a system field
/// before it), matched by id, else by name.
pub fn negative_counts(sent: Option<&serde_json::Value>, new: &Collection, errors: &mut ErrorTree) {
    let Some(sent) = sent.and_then(serde_json::Value::as_array) else {
        return;
    };
    for raw in sent {
        let text = |key: &str| raw.get(key).and_then(serde_json::Value::as_str);
        let Some(at) = new.fields.iter().position(|f| {
            text("id").is_some_and(|id| f.id == id) || text("name").is_some_and(|n| f.name == n)
        }) else {
            continue;
        };
        let kind = new.fields[at].kind.type_name();
        let keys = COUNTS
            .iter()
            .find(|(t, _)| *t == kind)
            .map_or(&[][..], |(_, k)| *k);
        for key in keys {
            if raw
                .get(*key)
                .and_then(serde_json::Value::as_f64)
                .is_some_and(|n| n < 0.0)
            {
                errors.add(
                    &["fields", &at.to_string(), key],
                    FieldError::new(
                        "validation_min_greater_equal_than_required",
                        "Must be no less than 0.",
                    )
                    .with_params(json!({"threshold": 0})),
                );
            }
        }
    }
}
