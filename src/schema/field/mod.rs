//! Fields: the typed columns of a collection, with PocketBase's options,
//! their stable ids and their SQLite columns. Their JSON form (reading a
//! client's, writing PocketBase's) is in `json`.

mod json;

use serde_json::Value;

pub use self::json::UnreadableField;

/// A field's type and its type-specific options.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    Text {
        required: bool,
        min: u64,
        max: u64,
        pattern: String,
        autogenerate_pattern: String,
        primary_key: bool,
    },
    Number {
        required: bool,
        min: Option<f64>,
        max: Option<f64>,
        only_int: bool,
    },
    Bool {
        required: bool,
    },
    Email {
        required: bool,
        except_domains: Vec<String>,
        only_domains: Vec<String>,
    },
    Url {
        required: bool,
        except_domains: Vec<String>,
        only_domains: Vec<String>,
    },
    Editor {
        required: bool,
        max_size: u64,
        convert_urls: bool,
    },
    Date {
        required: bool,
        min: String,
        max: String,
    },
    Autodate {
        on_create: bool,
        on_update: bool,
    },
    Select {
        required: bool,
        values: Vec<String>,
        max_select: u64,
    },
    Json {
        required: bool,
        max_size: u64,
    },
    Relation {
        required: bool,
        collection_id: String,
        cascade_delete: bool,
        min_select: u64,
        max_select: u64,
    },
    File {
        required: bool,
        max_select: u64,
        max_size: u64,
        mime_types: Vec<String>,
        thumbs: Vec<String>,
        protected: bool,
    },
    Password {
        required: bool,
        min: u64,
        max: u64,
        pattern: String,
        cost: u64,
    },
    GeoPoint {
        required: bool,
    },
}

pub const TYPES: &[&str] = &[
    "text", "number", "bool", "email", "url", "editor", "date", "autodate", "select", "json", "relation",
    "file", "password", "geoPoint",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub id: String,
    pub name: String,
    pub system: bool,
    pub hidden: bool,
    pub presentable: bool,
    pub help: String,
    pub kind: FieldKind,
}

/// PocketBase's stable field id: the type name and the CRC-32 of the field
/// name, so the same definition gets the same id everywhere.
pub fn derive_id(kind: &str, name: &str) -> String {
    format!("{kind}{}", crc32fast::hash(name.as_bytes()))
}

impl FieldKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::Number { .. } => "number",
            Self::Bool { .. } => "bool",
            Self::Email { .. } => "email",
            Self::Url { .. } => "url",
            Self::Editor { .. } => "editor",
            Self::Date { .. } => "date",
            Self::Autodate { .. } => "autodate",
            Self::Select { .. } => "select",
            Self::Json { .. } => "json",
            Self::Relation { .. } => "relation",
            Self::File { .. } => "file",
            Self::Password { .. } => "password",
            Self::GeoPoint { .. } => "geoPoint",
        }
    }

    /// Whether values are stored as a JSON array (select, relation and file
    /// with `maxSelect` above one).
    pub fn is_multi(&self) -> bool {
        matches!(
            self,
            Self::Select { max_select, .. } | Self::Relation { max_select, .. } | Self::File { max_select, .. }
                if *max_select > 1
        )
    }

    pub fn is_required(&self) -> bool {
        match self {
            Self::Text { required, .. }
            | Self::Number { required, .. }
            | Self::Bool { required }
            | Self::Email { required, .. }
            | Self::Url { required, .. }
            | Self::Editor { required, .. }
            | Self::Date { required, .. }
            | Self::Select { required, .. }
            | Self::Json { required, .. }
            | Self::Relation { required, .. }
            | Self::File { required, .. }
            | Self::Password { required, .. }
            | Self::GeoPoint { required } => *required,
            Self::Autodate { .. } => false,
        }
    }

    /// The SQLite column definition (after the column name) for this type,
    /// as PocketBase lays its tables out.
    pub fn column_definition(&self) -> &'static str {
        match self {
            Self::Number { .. } => "NUMERIC DEFAULT 0 NOT NULL",
            Self::Bool { .. } => "BOOLEAN DEFAULT FALSE NOT NULL",
            Self::Json { .. } => "JSON DEFAULT NULL",
            Self::GeoPoint { .. } => "JSON DEFAULT '{\"lon\":0,\"lat\":0}' NOT NULL",
            k if k.is_multi() => "JSON DEFAULT '[]' NOT NULL",
            _ => "TEXT DEFAULT '' NOT NULL",
        }
    }
}

impl Field {
    pub fn new(name: &str, kind: FieldKind) -> Self {
        Self {
            id: derive_id(kind.type_name(), name),
            name: name.to_owned(),
            system: false,
            hidden: false,
            presentable: false,
            help: String::new(),
            kind,
        }
    }

    /// A text field with no limits, pattern or generator: what a column
    /// is when the schema only needs to name it as text (a view's, the
    /// log's, a collection's attributes).
    pub fn plain_text(name: &str) -> Self {
        Self::new(
            name,
            FieldKind::Text {
                required: false,
                min: 0,
                max: 0,
                pattern: String::new(),
                autogenerate_pattern: String::new(),
                primary_key: false,
            },
        )
    }

    pub fn system(mut self) -> Self {
        self.system = true;
        self
    }

    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }
}

/// A client's value read as text: numbers as PocketBase writes a JSON
/// number (a float, in full digits: `-0.0` is "-0", `1e21` is
/// "1000000000000000000000", 12345678901234567890 is
/// "12345678901234567000"), booleans as written, anything else (null, a
/// list, an object) as empty.
pub fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), |f| f.to_string()),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// A client's value read as the items of a select, relation or file
/// field: a list's items as text, one value as a list of it, null as
/// none; empty items and repeats go. A write stores this (the last item
/// for a single field), and a rule reads a sent list the same way, so a
/// rule judges what will be stored, not how it was spelled.
pub fn as_list(v: &Value) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ids_match_pocketbase() {
        assert_eq!(derive_id("text", "id"), "text3208210256");
        assert_eq!(derive_id("autodate", "created"), "autodate2990389176");
        assert_eq!(derive_id("password", "password"), "password901924565");
    }

    #[test]
    fn every_type_round_trips_through_json() {
        for t in TYPES {
            let input =
                json!({"name": "f", "type": t, "required": true, "maxSelect": 2, "values": ["a", "b"]});
            let field = Field::from_json(&input).expect("readable");
            assert_eq!(field.kind.type_name(), *t);
            let again = Field::from_json(&field.to_json()).expect("round trip");
            assert_eq!(again, field);
            let keys: Vec<_> = field
                .to_json()
                .as_object()
                .expect("object")
                .keys()
                .cloned()
                .collect();
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(keys, sorted, "keys are alphabetical like PocketBase's");
        }
    }

    #[test]
    fn unknown_or_missing_type_is_unreadable() {
        assert_eq!(
            Field::from_json(&json!({"name": "a", "type": "nope"})),
            Err(UnreadableField)
        );
        assert_eq!(Field::from_json(&json!({"name": "a"})), Err(UnreadableField));
        assert_eq!(Field::from_json(&json!("text")), Err(UnreadableField));
    }

    #[test]
    fn multi_valued_columns_are_json_arrays() {
        let multi =
            Field::from_json(&json!({"name": "t", "type": "select", "values": ["a"], "maxSelect": 3}))
                .expect("field");
        assert!(multi.kind.is_multi());
        assert_eq!(multi.kind.column_definition(), "JSON DEFAULT '[]' NOT NULL");
        let single =
            Field::from_json(&json!({"name": "t", "type": "select", "values": ["a"]})).expect("field");
        assert_eq!(single.kind.column_definition(), "TEXT DEFAULT '' NOT NULL");
    }
}
