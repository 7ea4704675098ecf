//! Record values: any JSON a client sends, for every kind of field, made
//! canonical (`normalize`), checked against the field's options (`check`),
//! stored (`to_sql`) and modified (`name+`, `+name`, `name-`). Nothing may
//! panic, and the canonical value must be canonical: of the field's shape,
//! and unchanged when normalized again (what a client reads back and
//! sends unchanged must stay the same value).
//!
//! Input: a byte picking the field, a byte picking the modifier, then the
//! value and the modifier's operand, split at the first 0 byte. Each is
//! JSON when it parses as JSON, else a value built from the bytes (so
//! numbers out of JSON's range, deep lists and odd strings are reached
//! without the fuzzer having to learn JSON first).

use std::sync::LazyLock;

use cairn::{
    records::values::{self, Modifier},
    schema::field::{Field, FieldKind},
};
use serde_json::{Map, Number, Value, json};

static FIELDS: LazyLock<Vec<Field>> = LazyLock::new(|| {
    [
        json!({"name": "t", "type": "text", "min": 2, "max": 10, "pattern": "^[a-z]+$"}),
        json!({"name": "t2", "type": "text", "required": true}),
        json!({"name": "n", "type": "number", "min": -10, "max": 100, "onlyInt": true}),
        json!({"name": "n2", "type": "number"}),
        json!({"name": "b", "type": "bool", "required": true}),
        json!({"name": "e", "type": "email", "exceptDomains": ["bad.com"]}),
        json!({"name": "e2", "type": "email", "onlyDomains": ["example.com"], "required": true}),
        json!({"name": "u", "type": "url", "onlyDomains": ["example.com"]}),
        json!({"name": "u2", "type": "url", "exceptDomains": ["bad.com"]}),
        json!({"name": "ed", "type": "editor", "maxSize": 50}),
        json!({"name": "d", "type": "date", "min": "2000-01-01 00:00:00.000Z", "max": "2100-01-01 00:00:00.000Z"}),
        json!({"name": "ad", "type": "autodate", "onCreate": true}),
        json!({"name": "s", "type": "select", "values": ["a", "b", "c"]}),
        json!({"name": "s2", "type": "select", "values": ["a", "b", "c"], "maxSelect": 2, "required": true}),
        json!({"name": "j", "type": "json", "maxSize": 30}),
        json!({"name": "j2", "type": "json", "required": true}),
        json!({"name": "r", "type": "relation", "collectionId": "pbc_0000000001"}),
        json!({"name": "r2", "type": "relation", "collectionId": "pbc_0000000001", "minSelect": 1, "maxSelect": 3}),
        json!({"name": "f", "type": "file"}),
        json!({"name": "f2", "type": "file", "maxSelect": 2}),
        json!({"name": "p", "type": "password", "min": 8, "max": 20, "pattern": "[0-9]"}),
        json!({"name": "g", "type": "geoPoint", "required": true}),
    ]
    .iter()
    .map(|def| Field::from_json(def).expect("field"))
    .collect()
});

/// Strings worth meeting often: number, boolean and date forms, emails,
/// URLs, select values.
const WORDS: [&str; 24] = [
    "",
    "a",
    "b",
    "c",
    " 1 ",
    "2.5",
    "-0",
    "NaN",
    "inf",
    "-Infinity",
    "1e400",
    "9007199254740993",
    "true",
    "t",
    "TRUE",
    "2024-05-06",
    "2024-05-06 07:08:09.123Z",
    "2024-02-30T25:00:00Z",
    "x@example.com",
    "a@bad.com",
    "https://example.com/x",
    "http://[::1]:80",
    "{\"lon\":1,\"lat\":2}",
    "[1,2]",
];

pub fn run(data: &[u8]) {
    let [field, op, rest @ ..] = data else { return };
    let field = &FIELDS[usize::from(*field) % FIELDS.len()];
    let op = [Modifier::Append, Modifier::Prepend, Modifier::Remove][usize::from(*op) % 3];
    let (raw, operand) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let (raw, operand) = (value_of(raw), value_of(operand));

    let n = values::normalize(field, &raw);
    assert_canonical(field, &n, &raw);
    let _ = values::check(field, &n);
    let _ = values::to_sql(field, &n);

    let zero = values::zero(field);
    assert_canonical(field, &zero, &Value::Null);
    if let Some(e) = values::check(field, &zero) {
        assert_eq!(e.code, "validation_required", "{}: the empty value", field.name);
    }

    let modified = values::modify(field, &n, op, &operand);
    if !matches!(
        field.kind,
        FieldKind::Number { .. }
            | FieldKind::Select { .. }
            | FieldKind::Relation { .. }
            | FieldKind::File { .. }
    ) {
        assert_eq!(modified, n, "{}: modifiers leave this kind alone", field.name);
    }
    let _ = values::check(field, &modified);
    let _ = values::to_sql(field, &modified);
}

/// `n`, the canonical value of `raw` for `field`, has the field's shape
/// and normalizes to itself.
fn assert_canonical(field: &Field, n: &Value, raw: &Value) {
    let shaped = match &field.kind {
        // NaN and the infinities stay text, for the check to refuse.
        FieldKind::Number { .. } => {
            n.is_number() || values::check(field, n).is_some_and(|e| e.code == "validation_not_a_number")
        }
        FieldKind::Bool { .. } => n.is_boolean(),
        FieldKind::Json { .. } => true,
        FieldKind::GeoPoint { .. } => {
            n.get("lon").is_some_and(Value::is_number) && n.get("lat").is_some_and(Value::is_number)
        }
        k if k.is_multi() => n.as_array().is_some_and(|items| {
            items
                .iter()
                .enumerate()
                .all(|(i, item)| item.as_str().is_some_and(|s| !s.is_empty()) && !items[..i].contains(item))
        }),
        _ => n.is_string(),
    };
    assert!(
        shaped,
        "{}: {raw} became {n}, not of the field's shape",
        field.name
    );
    let again = values::normalize(field, n);
    assert_eq!(&again, n, "{}: {raw} became {n}, then {again}", field.name);
}

fn value_of(bytes: &[u8]) -> Value {
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        return v;
    }
    let mut input = bytes;
    build(&mut input, 0)
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> &'a [u8] {
    let n = n.min(input.len());
    let (head, tail) = input.split_at(n);
    *input = tail;
    head
}

fn byte(input: &mut &[u8]) -> u8 {
    take(input, 1).first().copied().unwrap_or(0)
}

fn word(input: &mut &[u8]) -> [u8; 8] {
    let mut w = [0; 8];
    let bytes = take(input, 8);
    w[..bytes.len()].copy_from_slice(bytes);
    w
}

fn text(input: &mut &[u8]) -> String {
    let len = usize::from(byte(input) % 32);
    String::from_utf8_lossy(take(input, len)).into_owned()
}

/// A JSON value read from the bytes, nested at most 6 deep.
fn build(input: &mut &[u8], depth: u32) -> Value {
    let tag = byte(input);
    match tag % 8 {
        0 => Value::Null,
        1 => Value::Bool(tag & 8 != 0),
        2 => json!(i64::from_le_bytes(word(input))),
        3 => Number::from_f64(f64::from_le_bytes(word(input))).map_or(Value::Null, Value::Number),
        4 => Value::String(text(input)),
        5 if depth < 6 => {
            let count = byte(input) % 8;
            Value::Array((0..count).map(|_| build(input, depth + 1)).collect())
        }
        6 if depth < 6 => {
            let count = byte(input) % 8;
            let mut o = Map::new();
            for _ in 0..count {
                let key = match byte(input) % 4 {
                    0 => "lon".to_owned(),
                    1 => "lat".to_owned(),
                    _ => text(input),
                };
                o.insert(key, build(input, depth + 1));
            }
            Value::Object(o)
        }
        _ => json!(WORDS[usize::from(byte(input)) % WORDS.len()]),
    }
}
