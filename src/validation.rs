//! Validation errors that name a field: a stable machine code and a
//! human message per field, nested where PocketBase nests them
//! (`fields.3.values`). A core value type: schema, records and auth
//! produce them, and only the HTTP edge (`http::error`) turns them into
//! the envelope's `data`.

use std::{borrow::Cow, collections::BTreeMap};

use serde::Serialize;
use serde_json::{Map, Value};

/// One field's problem: a stable machine code, a human message and, for
/// some codes, the parameters the message was made from.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldError {
    pub code: Cow<'static, str>,
    pub message: Cow<'static, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

impl FieldError {
    pub fn new(code: impl Into<Cow<'static, str>>, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            params: None,
        }
    }

    pub fn with_params(mut self, params: Value) -> Self {
        self.params = Some(params);
        self
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    pub fn required() -> Self {
        Self::new("validation_required", "Cannot be blank.")
    }

    /// A confirmation (`passwordConfirm`) or a guarded value that differs
    /// from what it must equal.
    pub fn values_mismatch() -> Self {
        Self::new("validation_values_mismatch", "Values don't match.")
    }

    /// A value outside the ones allowed (a collection `type`, a template).
    pub fn not_allowed_value() -> Self {
        Self::new("validation_in_invalid", "Must be a valid value.")
    }

    /// A value among the ones refused (a reserved name, an unchanged one).
    pub fn refused_value() -> Self {
        Self::new("validation_not_in_invalid", "Must not be in list.")
    }

    /// A value that does not match the pattern it must (a name).
    pub fn bad_format() -> Self {
        Self::new("validation_match_invalid", "Must be in a valid format.")
    }

    /// A value another row already has.
    pub fn not_unique() -> Self {
        Self::new("validation_not_unique", "Value must be unique.")
    }
}

/// Field errors keyed by field name, in a stable order.
pub type FieldErrors = BTreeMap<String, FieldError>;

/// Validation errors that may nest (`fields.3.values`), as PocketBase
/// reports problems inside lists and objects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorTree(Map<String, Value>);

impl ErrorTree {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Records `error` at `path`; the first error at a path wins.
    pub fn add(&mut self, path: &[&str], error: FieldError) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        let mut node = &mut self.0;
        for key in parents {
            let entry = node
                .entry((*key).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                return;
            }
            let Value::Object(next) = entry else { return };
            node = next;
        }
        node.entry((*last).to_owned()).or_insert_with(|| error.to_value());
    }

    /// Whether there is an error at (or under) the top-level `key`.
    pub fn contains(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }
}

impl From<FieldErrors> for ErrorTree {
    fn from(errors: FieldErrors) -> Self {
        Self(errors.into_iter().map(|(k, v)| (k, v.to_value())).collect())
    }
}
