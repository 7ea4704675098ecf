//! Fields: the typed columns of a collection, with PocketBase's options and
//! JSON shape (keys in alphabetical order, as PocketBase writes them).
//!
//! Field JSON from clients is read leniently (unknown keys ignored, missing
//! options defaulted) but an unknown or missing `type` is refused outright.

use serde_json::{Map, Value, json};

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

/// Why a field's JSON could not be read at all (as opposed to a field that
/// reads fine but breaks a rule, which validation reports per key).
#[derive(Debug, Clone, PartialEq)]
pub struct UnreadableField;

fn bool_of(o: &Map<String, Value>, key: &str) -> bool {
    o.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn u64_of(o: &Map<String, Value>, key: &str) -> u64 {
    o.get(key)
        .and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f.max(0.0) as u64)))
        .unwrap_or(0)
}

fn opt_f64_of(o: &Map<String, Value>, key: &str) -> Option<f64> {
    o.get(key).and_then(Value::as_f64)
}

fn str_of(o: &Map<String, Value>, key: &str) -> String {
    o.get(key).and_then(Value::as_str).unwrap_or("").to_owned()
}

fn list_of(o: &Map<String, Value>, key: &str) -> Vec<String> {
    o.get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
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

    fn read(kind: &str, o: &Map<String, Value>) -> Result<Self, UnreadableField> {
        let required = bool_of(o, "required");
        Ok(match kind {
            "text" => Self::Text {
                required,
                min: u64_of(o, "min"),
                max: u64_of(o, "max"),
                pattern: str_of(o, "pattern"),
                autogenerate_pattern: str_of(o, "autogeneratePattern"),
                primary_key: bool_of(o, "primaryKey"),
            },
            "number" => Self::Number {
                required,
                min: opt_f64_of(o, "min"),
                max: opt_f64_of(o, "max"),
                only_int: bool_of(o, "onlyInt"),
            },
            "bool" => Self::Bool { required },
            "email" => Self::Email {
                required,
                except_domains: list_of(o, "exceptDomains"),
                only_domains: list_of(o, "onlyDomains"),
            },
            "url" => Self::Url {
                required,
                except_domains: list_of(o, "exceptDomains"),
                only_domains: list_of(o, "onlyDomains"),
            },
            "editor" => Self::Editor {
                required,
                max_size: u64_of(o, "maxSize"),
                convert_urls: bool_of(o, "convertURLs"),
            },
            "date" => Self::Date {
                required,
                min: str_of(o, "min"),
                max: str_of(o, "max"),
            },
            "autodate" => Self::Autodate {
                on_create: bool_of(o, "onCreate"),
                on_update: bool_of(o, "onUpdate"),
            },
            "select" => Self::Select {
                required,
                values: list_of(o, "values"),
                max_select: u64_of(o, "maxSelect"),
            },
            "json" => Self::Json {
                required,
                max_size: u64_of(o, "maxSize"),
            },
            "relation" => Self::Relation {
                required,
                collection_id: str_of(o, "collectionId"),
                cascade_delete: bool_of(o, "cascadeDelete"),
                min_select: u64_of(o, "minSelect"),
                max_select: u64_of(o, "maxSelect"),
            },
            "file" => Self::File {
                required,
                max_select: u64_of(o, "maxSelect"),
                max_size: u64_of(o, "maxSize"),
                mime_types: list_of(o, "mimeTypes"),
                thumbs: list_of(o, "thumbs"),
                protected: bool_of(o, "protected"),
            },
            "password" => Self::Password {
                required,
                min: u64_of(o, "min"),
                max: u64_of(o, "max"),
                pattern: str_of(o, "pattern"),
                cost: u64_of(o, "cost"),
            },
            "geoPoint" => Self::GeoPoint { required },
            _ => return Err(UnreadableField),
        })
    }

    fn write(&self, o: &mut Map<String, Value>) {
        let mut put = |k: &str, v: Value| {
            o.insert(k.to_owned(), v);
        };
        match self {
            Self::Text {
                required,
                min,
                max,
                pattern,
                autogenerate_pattern,
                primary_key,
            } => {
                put("required", json!(required));
                put("min", json!(min));
                put("max", json!(max));
                put("pattern", json!(pattern));
                put("autogeneratePattern", json!(autogenerate_pattern));
                put("primaryKey", json!(primary_key));
            }
            Self::Number {
                required,
                min,
                max,
                only_int,
            } => {
                put("required", json!(required));
                put("min", json!(min));
                put("max", json!(max));
                put("onlyInt", json!(only_int));
            }
            Self::Bool { required } | Self::GeoPoint { required } => put("required", json!(required)),
            Self::Email {
                required,
                except_domains,
                only_domains,
            }
            | Self::Url {
                required,
                except_domains,
                only_domains,
            } => {
                put("required", json!(required));
                put("exceptDomains", json!(except_domains));
                put("onlyDomains", json!(only_domains));
            }
            Self::Editor {
                required,
                max_size,
                convert_urls,
            } => {
                put("required", json!(required));
                put("maxSize", json!(max_size));
                put("convertURLs", json!(convert_urls));
            }
            Self::Date { required, min, max } => {
                put("required", json!(required));
                put("min", json!(min));
                put("max", json!(max));
            }
            Self::Autodate { on_create, on_update } => {
                put("onCreate", json!(on_create));
                put("onUpdate", json!(on_update));
            }
            Self::Select {
                required,
                values,
                max_select,
            } => {
                put("required", json!(required));
                put("values", json!(values));
                put("maxSelect", json!(max_select));
            }
            Self::Json { required, max_size } => {
                put("required", json!(required));
                put("maxSize", json!(max_size));
            }
            Self::Relation {
                required,
                collection_id,
                cascade_delete,
                min_select,
                max_select,
            } => {
                put("required", json!(required));
                put("collectionId", json!(collection_id));
                put("cascadeDelete", json!(cascade_delete));
                put("minSelect", json!(min_select));
                put("maxSelect", json!(max_select));
            }
            Self::File {
                required,
                max_select,
                max_size,
                mime_types,
                thumbs,
                protected,
            } => {
                put("required", json!(required));
                put("maxSelect", json!(max_select));
                put("maxSize", json!(max_size));
                put("mimeTypes", json!(mime_types));
                put("thumbs", json!(thumbs));
                put("protected", json!(protected));
            }
            Self::Password {
                required,
                min,
                max,
                pattern,
                cost,
            } => {
                put("required", json!(required));
                put("min", json!(min));
                put("max", json!(max));
                put("pattern", json!(pattern));
                put("cost", json!(cost));
            }
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
    /// Reads one field definition from a client's JSON.
    pub fn from_json(value: &Value) -> Result<Self, UnreadableField> {
        let o = value.as_object().ok_or(UnreadableField)?;
        let kind_name = o.get("type").and_then(Value::as_str).ok_or(UnreadableField)?;
        let kind = FieldKind::read(kind_name, o)?;
        let name = str_of(o, "name");
        Ok(Self {
            id: str_of(o, "id"),
            name,
            system: bool_of(o, "system"),
            hidden: bool_of(o, "hidden"),
            presentable: bool_of(o, "presentable"),
            help: str_of(o, "help"),
            kind,
        })
    }

    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("id".into(), json!(self.id));
        o.insert("name".into(), json!(self.name));
        o.insert("type".into(), json!(self.kind.type_name()));
        o.insert("system".into(), json!(self.system));
        o.insert("hidden".into(), json!(self.hidden));
        o.insert("presentable".into(), json!(self.presentable));
        if !matches!(self.kind, FieldKind::Autodate { .. }) {
            o.insert("help".into(), json!(self.help));
        }
        self.kind.write(&mut o);
        Value::Object(o)
    }

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

    pub fn system(mut self) -> Self {
        self.system = true;
        self
    }

    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }
}

#[cfg(test)]
mod tests {
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
