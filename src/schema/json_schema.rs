//! JSON Schemas (OpenAPI 3.0 dialect) for a collection's records and its
//! create and update bodies, derived from the field definitions so the
//! live API document always matches the stored schema.

use serde_json::{Map, Value, json};

use super::{
    collection::{Collection, CollectionKind},
    field::{Field, FieldKind},
};

const DATETIME_PATTERN: &str = r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}Z)?$";
const ID_PATTERN: &str = "^[a-z0-9]+$";

/// The schema of one field's value as the API shows it. A relation names
/// the collection it points to for superusers only: for anyone else that
/// collection may be one they cannot see, and its id can give its name
/// away (PocketBase derives ids from names).
pub fn field_schema(f: &Field, superuser: bool) -> Value {
    let mut s = match &f.kind {
        FieldKind::Text {
            min, max, pattern, ..
        } => {
            let mut s = json!({"type": "string"});
            if *min > 0 {
                s["minLength"] = json!(min);
            }
            if *max > 0 {
                s["maxLength"] = json!(max);
            }
            if !pattern.is_empty() {
                s["pattern"] = json!(pattern);
            }
            s
        }
        FieldKind::Password { .. } => json!({"type": "string", "writeOnly": true}),
        FieldKind::Editor { .. } => json!({"type": "string", "description": "HTML"}),
        FieldKind::Email { .. } => json!({"type": "string", "format": "email"}),
        FieldKind::Url { .. } => json!({"type": "string", "format": "uri"}),
        FieldKind::Date { .. } | FieldKind::Autodate { .. } => json!({
            "type": "string",
            "format": "datetime",
            "pattern": DATETIME_PATTERN,
            "example": "2006-01-02 15:04:05.000Z",
        }),
        FieldKind::Number {
            min, max, only_int, ..
        } => {
            let mut s = json!({"type": if *only_int { "integer" } else { "number" }});
            if let Some(min) = min {
                s["minimum"] = json!(min);
            }
            if let Some(max) = max {
                s["maximum"] = json!(max);
            }
            s
        }
        FieldKind::Bool { .. } => json!({"type": "boolean"}),
        FieldKind::Json { .. } => json!({"description": "Any JSON value.", "nullable": true}),
        FieldKind::GeoPoint { .. } => json!({
            "type": "object",
            "properties": {"lon": {"type": "number"}, "lat": {"type": "number"}},
            "required": ["lon", "lat"],
        }),
        FieldKind::Select {
            values, max_select, ..
        } => {
            let mut choices: Vec<Value> = values.iter().map(|v| json!(v)).collect();
            if f.kind.is_multi() {
                json!({"type": "array", "items": {"type": "string", "enum": choices}, "maxItems": max_select, "uniqueItems": true})
            } else {
                choices.push(json!(""));
                json!({"type": "string", "enum": choices})
            }
        }
        FieldKind::Relation {
            collection_id,
            max_select,
            ..
        } => {
            let related = if superuser {
                format!("a record of collection {collection_id}")
            } else {
                "a related record".to_owned()
            };
            let id =
                json!({"type": "string", "pattern": ID_PATTERN, "description": format!("Id of {related}.")});
            if f.kind.is_multi() {
                json!({"type": "array", "items": id, "maxItems": max_select, "uniqueItems": true})
            } else {
                json!({"type": "string", "description": format!("Id of {related}, or empty.")})
            }
        }
        FieldKind::File { max_select, .. } => {
            if f.kind.is_multi() {
                json!({"type": "array", "items": {"type": "string"}, "maxItems": max_select})
            } else {
                json!({"type": "string", "description": "File name."})
            }
        }
    };
    if !f.help.is_empty() {
        s["description"] = json!(f.help);
    }
    s
}

fn object(properties: Map<String, Value>, required: Vec<String>) -> Value {
    let mut s = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        s["required"] = json!(required);
    }
    s
}

/// A record of `c` as the API returns it, described for a superuser
/// (`superuser`) or anyone else.
pub fn record(c: &Collection, superuser: bool) -> Value {
    let mut props = Map::new();
    props.insert("collectionId".into(), json!({"type": "string", "example": c.id}));
    props.insert(
        "collectionName".into(),
        json!({"type": "string", "example": c.name}),
    );
    let mut required = vec!["collectionId".to_owned(), "collectionName".to_owned()];
    for f in c.fields.iter().filter(|f| !f.hidden) {
        let mut s = field_schema(f, superuser);
        if matches!(f.kind, FieldKind::Password { .. }) {
            s = json!({"type": "string", "description": "Always empty: passwords are never returned."});
        }
        props.insert(f.name.clone(), s);
        required.push(f.name.clone());
    }
    object(props, required)
}

/// The body that creates (`update: false`) or updates a record of `c`,
/// for a superuser (`superuser`) or for anyone else, who may not write
/// hidden fields (their values are dropped; see `records::writable`).
pub fn body(c: &Collection, update: bool, superuser: bool) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for f in &c.fields {
        let managed = matches!(f.kind, FieldKind::Autodate { .. })
            || (c.kind == CollectionKind::Auth && f.name == "tokenKey")
            || (update && f.name == "id")
            || (!superuser && c.superusers_write(f));
        if managed {
            continue;
        }
        props.insert(f.name.clone(), field_schema(f, superuser));
        let generated = matches!(&f.kind, FieldKind::Text { autogenerate_pattern, .. } if !autogenerate_pattern.is_empty());
        if !update && f.kind.is_required() && !generated {
            required.push(f.name.clone());
        }
    }
    if c.kind == CollectionKind::Auth {
        props.insert(
            "passwordConfirm".into(),
            json!({"type": "string", "writeOnly": true}),
        );
        if update {
            props.insert(
                "oldPassword".into(),
                json!({"type": "string", "writeOnly": true, "description": "Required to change one's own password."}),
            );
        } else {
            required.push("passwordConfirm".into());
        }
    }
    object(props, required)
}
