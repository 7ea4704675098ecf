//! Record bodies as `Fields::read` reads them, then as a record create
//! uses them: the form text of `json` fields decoded for the collection,
//! every value normalized and checked for its field. Nothing may panic.
//!
//! The first byte of the input picks how the rest is sent:
//! - 0..=127: raw bytes as a multipart body with a fixed boundary;
//! - 128..=191: parts decoded from the input and framed correctly; the
//!   fields read back must be exactly what the parts say (repeated names
//!   make lists, `@jsonPayload` merges, file parts are uploads);
//! - 192..=255: the input's first line is the `Content-Type` (any
//!   boundary, url-encoded forms, JSON), the rest is the body.

use std::cell::RefCell;

use cairn::{
    api::{
        body::{BodyError, Fields},
        records::RecordBody,
    },
    records::values,
    schema::Collection,
};
use poem::{Request, http::Method};
use serde_json::{Map, Value, json};

const BOUNDARY: &str = "cairnfuzz7MA4YWxkTrZu0gW";

/// The part names the structured mode uses: fields of `collection()`, the
/// JSON payload, a name the collection lacks and the empty name.
const NAMES: [&str; 8] = ["title", "n", "tags", "meta", "@jsonPayload", "files", "", "other"];
const FILENAMES: [&str; 4] = ["a.txt", "", "b c.png", "ü.bin"];

thread_local! {
    static STATE: RefCell<Option<(tokio::runtime::Runtime, Collection)>> = const { RefCell::new(None) };
}

fn collection() -> Collection {
    let body = json!({"name": "posts", "fields": [
        {"name": "title", "type": "text", "max": 20, "pattern": "^[a-z ]*$"},
        {"name": "n", "type": "number", "min": -5, "max": 1e6},
        {"name": "ok", "type": "bool"},
        {"name": "tags", "type": "select", "values": ["a", "b", "c"], "maxSelect": 2},
        {"name": "meta", "type": "json", "maxSize": 200},
        {"name": "when", "type": "date", "min": "2000-01-01 00:00:00.000Z"},
        {"name": "files", "type": "file", "maxSelect": 3},
        {"name": "mail", "type": "email", "onlyDomains": ["example.com"]},
        {"name": "site", "type": "url"},
        {"name": "at", "type": "geoPoint"},
    ]});
    let (mut c, _) = Collection::from_create(body.as_object().expect("object")).expect("collection");
    cairn::schema::defaults::complete(&mut c);
    c
}

fn with_state<R>(f: impl FnOnce(&tokio::runtime::Runtime, &Collection) -> R) -> R {
    STATE.with(|cell| {
        let mut state = cell.borrow_mut();
        let (rt, c) = state.get_or_insert_with(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime");
            (rt, collection())
        });
        f(rt, c)
    })
}

fn read(content_type: &str, body: Vec<u8>) -> Result<Fields, BodyError> {
    let (req, mut body) = Request::builder()
        .method(Method::POST)
        .uri_str("/api/collections/posts/records")
        .content_type(content_type)
        .body(body)
        .split();
    with_state(|rt, _| rt.block_on(Fields::read(&req, &mut body)))
}

/// What a record create does with the fields next.
fn use_fields(fields: Fields) {
    with_state(|_, c| {
        let (body, uploads) = RecordBody(fields).for_collection(Some(c));
        for f in &c.fields {
            if let Some(v) = body.get(&f.name) {
                let n = values::normalize(f, v);
                let _ = values::check(f, &n);
                let _ = values::to_sql(f, &n);
            }
        }
        for u in &uploads {
            let _ = (u.key.len(), u.filename.len(), u.bytes.len());
        }
    });
}

pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode {
        0..=127 => {
            let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
            if let Ok(fields) = read(&content_type, rest.to_vec()) {
                assert!(fields.from_form, "a multipart body is a form");
                use_fields(fields);
            }
        }
        128..=191 => structured(rest),
        _ => {
            let (line, body) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &[][..]),
            };
            let content_type = String::from_utf8_lossy(line);
            match read(&content_type, body.to_vec()) {
                Ok(fields) => use_fields(fields),
                Err(e) => drop(poem::Error::from(e)),
            }
        }
    }
}

struct Part {
    name: &'static str,
    /// `Some` for a file part.
    filename: Option<&'static str>,
    bytes: Vec<u8>,
}

/// Parts from the input: a control byte (name, file or text, filename),
/// a length byte, that many bytes of value.
fn parts(mut data: &[u8]) -> Vec<Part> {
    let mut parts = Vec::new();
    while let [control, len, rest @ ..] = data {
        let len = usize::from(*len).min(rest.len());
        let (value, tail) = rest.split_at(len);
        data = tail;
        let name = NAMES[usize::from(control & 7)];
        let filename = (control & 8 != 0).then(|| FILENAMES[usize::from((control >> 4) & 3)]);
        let bytes = match filename {
            Some(_) => value.to_vec(),
            // Text parts are text: what the reader gives back is a String.
            None => String::from_utf8_lossy(value).into_owned().into_bytes(),
        };
        parts.push(Part {
            name,
            filename,
            bytes,
        });
    }
    parts
}

fn frame(parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let disposition = match p.filename {
            Some(f) => format!(
                "Content-Disposition: form-data; name=\"{}\"; filename=\"{f}\"\r\n",
                p.name
            ),
            None => format!("Content-Disposition: form-data; name=\"{}\"\r\n", p.name),
        };
        body.extend_from_slice(disposition.as_bytes());
        if p.filename.is_some() {
            body.extend_from_slice(b"Content-Type: application/octet-stream\r\n");
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&p.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// The fields the parts stand for, as PocketBase reads a form (a part
/// with an empty file name and some content is text; `@jsonPayload` goes
/// over the plain values wherever it came); `None` when the body is
/// refused: an `@jsonPayload` that is not a JSON object, or such a text
/// part that is not UTF-8.
#[allow(clippy::type_complexity)]
fn expected(parts: &[Part]) -> Option<(Map<String, Value>, Vec<(String, String, Vec<u8>)>)> {
    let mut values = Map::new();
    let mut uploads = Vec::new();
    let mut payloads = Vec::new();
    for p in parts {
        let text = match p.filename {
            Some(filename) if !filename.is_empty() => {
                uploads.push((p.name.to_owned(), filename.to_owned(), p.bytes.clone()));
                continue;
            }
            // An untouched file input: nothing chosen, nothing changes.
            Some(_) if p.bytes.is_empty() => continue,
            Some(_) => String::from_utf8(p.bytes.clone()).ok()?,
            None => String::from_utf8(p.bytes.clone()).expect("text parts are UTF-8"),
        };
        if p.name == "@jsonPayload" {
            payloads.push(text);
            continue;
        }
        let item = Value::String(text);
        match values.get_mut(p.name) {
            None => {
                values.insert(p.name.to_owned(), item);
            }
            Some(Value::Array(items)) => items.push(item),
            Some(first) => *first = Value::Array(vec![first.take(), item]),
        }
    }
    for text in payloads {
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(o)) => values.extend(o),
            _ => return None,
        }
    }
    Some((values, uploads))
}

fn structured(data: &[u8]) {
    let parts = parts(data);
    if parts
        .iter()
        .any(|p| p.bytes.windows(BOUNDARY.len()).any(|w| w == BOUNDARY.as_bytes()))
    {
        // A value holding the boundary ends its part: not a valid form.
        return;
    }
    let body = frame(&parts);
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    let got = read(&content_type, body);
    match (expected(&parts), got) {
        (Some((values, uploads)), Ok(fields)) => {
            assert_eq!(fields.values, values, "the fields of a well-framed form");
            let got: Vec<_> = fields
                .uploads
                .iter()
                .map(|u| (u.key.clone(), u.filename.clone(), u.bytes.to_vec()))
                .collect();
            assert_eq!(got, uploads, "the uploads of a well-framed form");
            use_fields(fields);
        }
        (None, Err(BodyError::Unreadable(_))) => {}
        (Some(_), Err(e)) => panic!("a well-framed form was refused: {}", poem::Error::from(e)),
        (None, Ok(fields)) => panic!("a form to refuse was accepted: {:?}", fields.values),
        (None, Err(e)) => panic!("a form to refuse was refused as {}", poem::Error::from(e)),
    }
}
