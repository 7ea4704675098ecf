//! Field values: how a client's JSON becomes each field's canonical value
//! (as leniently as PocketBase: `"abc"` for a number is 0, a list for a
//! single select keeps the last item), how that value is checked against
//! the field's options, and how it is stored.

use rusqlite::types::Value as Sql;
use serde_json::{Value, json};

mod check;

pub use self::check::check;
use crate::schema::field::{Field, FieldKind, as_list, as_text};

fn as_number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => parse_number(s),
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    }
}

/// Text as PocketBase reads it into a number (Go's `strconv.ParseFloat`,
/// through `cast`): text that is no number is 0, and so is a number too
/// large for a float ("1e400": Go reports the overflow and `cast` answers
/// 0), while `NaN` and `Inf` are read as themselves, for `check` to refuse.
/// Nothing is trimmed (" 12" is 0 there too), and an underscore between
/// two digits is a digit separator ("1_000" is 1000), as in Go's literals.
fn parse_number(s: &str) -> f64 {
    let b = s.as_bytes();
    let separators_ok = b.iter().enumerate().all(|(i, c)| {
        *c != b'_' || (i > 0 && b[i - 1].is_ascii_digit() && b.get(i + 1).is_some_and(u8::is_ascii_digit))
    });
    if !separators_ok {
        return 0.0;
    }
    match s.replace('_', "").parse::<f64>() {
        Ok(f) if f.is_infinite() && s.bytes().any(|b| b.is_ascii_digit()) => 0.0,
        Ok(f) => f,
        Err(_) => 0.0,
    }
}

fn number_value(v: f64) -> Value {
    if !v.is_finite() {
        // JSON has no NaN or infinity (`json!` would make it null, which
        // reads back as 0): the text stays, `check` refuses it as
        // PocketBase does ("validation_not_a_number"), so it is never
        // stored. Found by fuzz/src/values.rs.
        return Value::String(v.to_string());
    }
    if v.fract() == 0.0 && v.abs() < 9e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

use crate::datetime::parse as parse_datetime;

/// The canonical JSON value of `raw` for `field`.
pub fn normalize(field: &Field, raw: &Value) -> Value {
    match &field.kind {
        FieldKind::Number { .. } => number_value(as_number(raw)),
        FieldKind::Bool { .. } => json!(match raw {
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
            // Go's `strconv.ParseBool`, untrimmed, as PocketBase reads text.
            Value::String(s) => matches!(s.as_str(), "true" | "1" | "TRUE" | "True" | "t" | "T"),
            _ => false,
        }),
        FieldKind::Json { .. } => raw.clone(),
        FieldKind::GeoPoint { .. } => geo_point(raw),
        FieldKind::Date { .. } => json!(
            crate::datetime::parse_field_value(&as_text(raw))
                .map(crate::datetime::format)
                .unwrap_or_default()
        ),
        // A rule reads a sent list the same way
        // (`query::compile::request_fields::sent_items`): change both together.
        k if k.is_multi() => json!(as_list(raw)),
        FieldKind::Select { .. } | FieldKind::Relation { .. } | FieldKind::File { .. } => {
            json!(as_list(raw).pop().unwrap_or_default())
        }
        _ => json!(as_text(raw)),
    }
}

/// A point as PocketBase decodes one: an object, or the JSON text of one
/// (as a form field sends it), read `lon` then `lat`. A coordinate that is
/// not a number (text "2", a bool) stops the reading there, keeping what
/// came before: `{"lon": 1, "lat": "2"}` is (1, 0), `{"lon": "1", "lat":
/// 2}` is (0, 0); null leaves its 0. (PocketBase reads the keys in the
/// order sent; a body's order is not kept here, and `lon` first is the
/// order its documentation and clients write.)
fn geo_point(raw: &Value) -> Value {
    let decoded;
    let raw = match raw {
        Value::String(text) => {
            decoded = serde_json::from_str(text).unwrap_or(Value::Null);
            &decoded
        }
        other => other,
    };
    let mut point = [0.0, 0.0];
    if let Value::Object(o) = raw {
        for (slot, key) in ["lon", "lat"].into_iter().enumerate() {
            match o.get(key) {
                Some(Value::Number(n)) => point[slot] = n.as_f64().filter(|f| f.is_finite()).unwrap_or(0.0),
                None | Some(Value::Null) => {}
                Some(_) => break,
            }
        }
    }
    json!({"lon": number_value(point[0]), "lat": number_value(point[1])})
}

/// A `json` field given text holds the JSON that text is, as PocketBase
/// reads it: form fields arrive as text (as the SDKs send them), and a
/// JSON body may carry a field's JSON encoded as a string
/// (`{"meta": "{\"a\":1}"}`). Text that is not JSON, or that starts with
/// a space, stays a JSON string, as PocketBase keeps it.
pub fn decode_json_text(c: &crate::schema::Collection, body: &mut serde_json::Map<String, Value>) {
    for f in c
        .fields
        .iter()
        .filter(|f| matches!(f.kind, FieldKind::Json { .. }))
    {
        if let Some(Value::String(text)) = body.get(&f.name)
            && !text.starts_with(char::is_whitespace)
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
        // A single value is a list of one here, and normalizing keeps the
        // list's last item: so `+name` on a set single value leaves it,
        // as in PocketBase, and `name+` replaces it.
        FieldKind::Select { .. } | FieldKind::Relation { .. } | FieldKind::File { .. } => {
            let mut list = as_list(current);
            let items = as_list(operand);
            match op {
                Modifier::Append => list.extend(items),
                Modifier::Prepend => list.splice(0..0, items).for_each(drop),
                Modifier::Remove => list.retain(|x| !items.contains(x)),
            }
            normalize(field, &json!(list))
        }
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

    /// Found by the `values` fuzz target: "NaN" and "inf" became JSON null
    /// (stored as 0, unchecked). PocketBase 0.40.6 refuses them and reads
    /// an overflowing "1e400" as 0.
    #[test]
    fn numbers_json_cannot_hold_are_refused() {
        let n = field(json!({"name": "n", "type": "number", "required": true}));
        for text in ["NaN", "inf", "-Infinity", "+INF"] {
            let v = normalize(&n, &json!(text));
            assert_eq!(normalize(&n, &v), v, "{text}: canonical");
            assert_eq!(
                check(&n, &v).map(|e| e.code),
                Some("validation_not_a_number".into()),
                "{text}"
            );
        }
        assert_eq!(normalize(&n, &json!("1e400")), json!(0), "overflow reads as 0");
        assert_eq!(normalize(&n, &json!("-1e400")), json!(0), "overflow reads as 0");
        assert_eq!(check(&n, &json!(1e308)), None, "the largest floats are numbers");
        let sum = modify(&n, &json!(1e308), Modifier::Append, &json!(1e308));
        assert_eq!(
            check(&n, &sum).map(|e| e.code),
            Some("validation_not_a_number".into()),
            "an overflowing n+ is refused"
        );
        let g = field(json!({"name": "g", "type": "geoPoint"}));
        assert_eq!(
            normalize(&g, &json!({"lon": "NaN", "lat": "inf"})),
            json!({"lon": 0, "lat": 0})
        );
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
        // A single select keeps the last of what the modifier makes, as
        // PocketBase's does: `+s` on a set value leaves it.
        let s = field(json!({"name": "s", "type": "select", "values": ["a", "b", "c"]}));
        for (current, op, operand, want) in [
            ("a", Modifier::Prepend, json!("b"), "a"),
            ("a", Modifier::Prepend, json!(["b", "c"]), "a"),
            ("", Modifier::Prepend, json!("b"), "b"),
            ("a", Modifier::Append, json!("b"), "b"),
            ("a", Modifier::Append, json!(["b", "c"]), "c"),
            ("a", Modifier::Remove, json!("a"), ""),
            ("a", Modifier::Remove, json!("b"), "a"),
        ] {
            assert_eq!(
                modify(&s, &json!(current), op, &operand),
                json!(want),
                "{current:?} {op:?} {operand}"
            );
        }
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
