//! A field's JSON form, as PocketBase writes it (keys in alphabetical
//! order) and as clients send it: unknown keys ignored and missing (or
//! null) options defaulted, but an unknown or missing `type`, or an option
//! of the wrong JSON type, is refused outright, as PocketBase refuses it.

use serde_json::{Map, Value, json};

use super::{Field, FieldKind};

/// Why a field's JSON could not be read at all (as opposed to a field that
/// reads fine but breaks a rule, which validation reports per key).
#[derive(Debug, Clone, PartialEq)]
pub struct UnreadableField;

/// One option, `None` where it is absent or null; an option of the wrong
/// JSON type (`"min": 1.5` for a length, `"onlyInt": "true"`) makes the
/// field unreadable, as PocketBase refuses to load it ("invalid
/// formatting", no field named) rather than read it as its default.
fn option<T>(
    o: &Map<String, Value>,
    key: &str,
    read: impl Fn(&Value) -> Option<T>,
) -> Result<Option<T>, UnreadableField> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => read(v).map(Some).ok_or(UnreadableField),
    }
}

fn bool_of(o: &Map<String, Value>, key: &str) -> Result<bool, UnreadableField> {
    Ok(option(o, key, Value::as_bool)?.unwrap_or(false))
}

/// A whole number (a count); a negative one reads as 0, for
/// `field_checks::negative_counts` to report from what was sent.
fn u64_of(o: &Map<String, Value>, key: &str) -> Result<u64, UnreadableField> {
    Ok(option(o, key, |v| v.as_u64().or_else(|| v.as_i64().map(|_| 0)))?.unwrap_or(0))
}

fn opt_f64_of(o: &Map<String, Value>, key: &str) -> Result<Option<f64>, UnreadableField> {
    option(o, key, Value::as_f64)
}

fn str_of(o: &Map<String, Value>, key: &str) -> Result<String, UnreadableField> {
    Ok(option(o, key, |v| v.as_str().map(str::to_owned))?.unwrap_or_default())
}

fn date_of(o: &Map<String, Value>, key: &str) -> Result<String, UnreadableField> {
    let text = str_of(o, key)?;
    Ok(crate::datetime::parse_field_value(&text)
        .map(crate::datetime::format)
        .unwrap_or_default())
}

fn list_of(o: &Map<String, Value>, key: &str) -> Result<Vec<String>, UnreadableField> {
    let strings = |v: &Value| {
        v.as_array()?
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
    };
    Ok(option(o, key, strings)?.unwrap_or_default())
}

impl FieldKind {
    fn read(kind: &str, o: &Map<String, Value>) -> Result<Self, UnreadableField> {
        let required = bool_of(o, "required")?;
        Ok(match kind {
            "text" => Self::Text {
                required,
                min: u64_of(o, "min")?,
                max: u64_of(o, "max")?,
                pattern: str_of(o, "pattern")?,
                autogenerate_pattern: str_of(o, "autogeneratePattern")?,
                primary_key: bool_of(o, "primaryKey")?,
            },
            "number" => Self::Number {
                required,
                min: opt_f64_of(o, "min")?,
                max: opt_f64_of(o, "max")?,
                only_int: bool_of(o, "onlyInt")?,
            },
            "bool" => Self::Bool { required },
            "email" => Self::Email {
                required,
                except_domains: list_of(o, "exceptDomains")?,
                only_domains: list_of(o, "onlyDomains")?,
            },
            "url" => Self::Url {
                required,
                except_domains: list_of(o, "exceptDomains")?,
                only_domains: list_of(o, "onlyDomains")?,
            },
            "editor" => Self::Editor {
                required,
                max_size: u64_of(o, "maxSize")?,
                convert_urls: bool_of(o, "convertURLs")?,
            },
            // Bounds are kept as a date field keeps its value: in the one
            // stored form, or "" for what is no date ("nope", "2024-1-2").
            "date" => Self::Date {
                required,
                min: date_of(o, "min")?,
                max: date_of(o, "max")?,
            },
            "autodate" => Self::Autodate {
                on_create: bool_of(o, "onCreate")?,
                on_update: bool_of(o, "onUpdate")?,
            },
            "select" => Self::Select {
                required,
                values: list_of(o, "values")?,
                max_select: u64_of(o, "maxSelect")?,
            },
            "json" => Self::Json {
                required,
                max_size: u64_of(o, "maxSize")?,
            },
            "relation" => Self::Relation {
                required,
                collection_id: str_of(o, "collectionId")?,
                cascade_delete: bool_of(o, "cascadeDelete")?,
                min_select: u64_of(o, "minSelect")?,
                max_select: u64_of(o, "maxSelect")?,
            },
            "file" => Self::File {
                required,
                max_select: u64_of(o, "maxSelect")?,
                max_size: u64_of(o, "maxSize")?,
                mime_types: list_of(o, "mimeTypes")?,
                thumbs: list_of(o, "thumbs")?,
                protected: bool_of(o, "protected")?,
            },
            "password" => Self::Password {
                required,
                min: u64_of(o, "min")?,
                max: u64_of(o, "max")?,
                pattern: str_of(o, "pattern")?,
                cost: u64_of(o, "cost")?,
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
}

impl Field {
    /// Reads one field definition from a client's JSON.
    pub fn from_json(value: &Value) -> Result<Self, UnreadableField> {
        let o = value.as_object().ok_or(UnreadableField)?;
        let kind_name = o.get("type").and_then(Value::as_str).ok_or(UnreadableField)?;
        let kind = FieldKind::read(kind_name, o)?;
        let name = str_of(o, "name")?;
        Ok(Self {
            id: str_of(o, "id")?,
            name,
            system: bool_of(o, "system")?,
            hidden: bool_of(o, "hidden")?,
            presentable: bool_of(o, "presentable")?,
            help: str_of(o, "help")?,
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
}
