//! The modifier keys of a record body: `name+` (append, or add to a
//! number), `+name` (prepend) and `name-` (remove, or subtract). A write
//! applies them to the stored value (`write::apply_body` with
//! `values::modify`); a rule sees what they make, not the keys: with
//! `balance+` sent, `@request.body.balance` is the new balance, as in
//! PocketBase, so `@request.body.balance:changed = false` or
//! `@request.body.tags:length <= 1` cannot be passed by sending the
//! change as a modifier.

use serde_json::{Map, Value};

use super::{service::Values, values::Modifier};
use crate::schema::{
    Collection,
    field::{Field, FieldKind},
};

/// Whether `body` has any modifier key (they are rare; without one, no
/// field needs to look for its three).
pub fn any(body: &Map<String, Value>) -> bool {
    body.keys()
        .any(|k| k.starts_with('+') || k.ends_with('+') || k.ends_with('-'))
}

/// The modifiers `body` gives field `name`, in the order they apply.
pub fn of<'a>(body: &'a Map<String, Value>, name: &str) -> Vec<(Modifier, &'a Value)> {
    let mut out = Vec::new();
    if let Some(v) = body.get(&format!("+{name}")) {
        out.push((Modifier::Prepend, v));
    }
    if let Some(v) = body.get(&format!("{name}+")) {
        out.push((Modifier::Append, v));
    }
    if let Some(v) = body.get(&format!("{name}-")) {
        out.push((Modifier::Remove, v));
    }
    out
}

/// The field kinds whose modifiers a rule sees resolved.
fn resolved_for_rules(f: &Field) -> bool {
    matches!(
        f.kind,
        FieldKind::Number { .. } | FieldKind::Select { .. } | FieldKind::Relation { .. }
    )
}

/// `body` as a rule sees it: each field that a modifier key changes gets
/// its new value (from `values`, the record with the body applied) under
/// its own name, and the modifier keys go. Keys that change nothing (a
/// `+name` on a number) stay as they were sent. A file field that the
/// body or an upload changes (`uploaded` names the fields that got
/// uploads) gets its whole new list of names, each new file by the name
/// it is stored under, as PocketBase's rules see uploads in the body:
/// `@request.body.files:length <= 1` counts every file the record will
/// hold, however it was sent.
pub fn resolved(
    c: &Collection,
    body: &Map<String, Value>,
    values: &Values,
    uploaded: &[&str],
) -> Map<String, Value> {
    let mut out = body.clone();
    for f in c
        .fields
        .iter()
        .filter(|f| matches!(f.kind, FieldKind::File { .. }))
    {
        let mods = of(body, &f.name);
        if !body.contains_key(&f.name) && mods.is_empty() && !uploaded.contains(&f.name.as_str()) {
            continue;
        }
        for (op, _) in &mods {
            out.remove(&key(&f.name, *op));
        }
        if let Some(v) = values.get(&f.name) {
            out.insert(f.name.clone(), v.clone());
        }
    }
    for f in c.fields.iter().filter(|f| resolved_for_rules(f)) {
        let mods = of(body, &f.name);
        let applies = |op: Modifier| !matches!((&f.kind, op), (FieldKind::Number { .. }, Modifier::Prepend));
        if !mods.iter().any(|(op, _)| applies(*op)) {
            continue;
        }
        for (op, _) in &mods {
            if applies(*op) {
                out.remove(&key(&f.name, *op));
            }
        }
        if let Some(v) = values.get(&f.name) {
            out.insert(f.name.clone(), v.clone());
        }
    }
    out
}

fn key(name: &str, op: Modifier) -> String {
    match op {
        Modifier::Prepend => format!("+{name}"),
        Modifier::Append => format!("{name}+"),
        Modifier::Remove => format!("{name}-"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_rule_sees_the_value_a_modifier_makes() {
        let def = json!({
            "name": "acct",
            "fields": [
                {"name": "balance", "type": "number"},
                {"name": "tags", "type": "select", "values": ["x", "y", "z"], "maxSelect": 3},
                {"name": "title", "type": "text"},
            ]
        });
        let (c, _) = Collection::from_create(def.as_object().expect("object")).expect("collection");
        let body = json!({"balance+": 5, "+balance": 7, "tags-": "x", "title+": "t", "other": 1});
        let values = json!({"balance": 15, "tags": ["y"], "title": "old"});
        let out = resolved(
            &c,
            body.as_object().expect("object"),
            values.as_object().expect("object"),
            &[],
        );
        assert_eq!(
            Value::Object(out),
            json!({"balance": 15, "+balance": 7, "tags": ["y"], "title+": "t", "other": 1})
        );
        let plain = json!({"balance": 3});
        let out = resolved(
            &c,
            plain.as_object().expect("object"),
            values.as_object().expect("object"),
            &[],
        );
        assert_eq!(Value::Object(out), plain, "a body without modifiers is as sent");
    }

    /// A file field changed by uploads or modifiers reads as its whole
    /// new list; one the body leaves alone is not added.
    #[test]
    fn a_file_field_reads_as_its_new_list() {
        let def = json!({"name": "docs", "fields": [
            {"name": "files", "type": "file", "maxSelect": 5},
            {"name": "cover", "type": "file"},
        ]});
        let (c, _) = Collection::from_create(def.as_object().expect("object")).expect("collection");
        let values = json!({"files": ["old_a.txt", "new_b.txt"], "cover": "c.png"});
        let values = values.as_object().expect("object");
        let plus = json!({"files+": "ignored-text"});
        let out = resolved(&c, plus.as_object().expect("object"), values, &[]);
        assert_eq!(Value::Object(out), json!({"files": ["old_a.txt", "new_b.txt"]}));
        let uploads_only = json!({"title": "x"});
        let out = resolved(&c, uploads_only.as_object().expect("object"), values, &["files"]);
        assert_eq!(
            Value::Object(out),
            json!({"title": "x", "files": ["old_a.txt", "new_b.txt"]})
        );
        let out = resolved(&c, uploads_only.as_object().expect("object"), values, &[]);
        assert_eq!(
            Value::Object(out),
            json!({"title": "x"}),
            "untouched fields stay out"
        );
    }
}
