//! Request bodies, whatever their encoding. PocketBase reads JSON,
//! `multipart/form-data` and `application/x-www-form-urlencoded` on every
//! endpoint that takes a body (the SDKs send multipart when there are
//! files, `pocketbase-typegen` and plain HTML forms send forms), so every
//! endpoint here reads its body through `Fields::read`: one JSON object
//! out, whatever came in, and from there the same validation.
//!
//! Forms carry text: a repeated name makes a list, an `@jsonPayload`
//! part holds a JSON object merged into the fields (how the SDKs send
//! nested values beside files), and file parts are uploads. `Body<T>`
//! turns the fields into an endpoint's typed input, converting form text
//! to the numbers and booleans the input declares, as PocketBase binds
//! forms; JSON values are taken as they are.

use poem::{FromRequest, Request, RequestBody, http::StatusCode, web::Multipart};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry},
    types::{ParseFromJSON, Type},
};
use serde_json::{Map, Number, Value};

use crate::{
    files::Upload,
    http::error::{ApiError, FieldErrors},
    identity::email::Email,
};

/// The form part that holds JSON values.
const JSON_PAYLOAD: &str = "@jsonPayload";
const UNSUPPORTED: &str = "Unsupported Content-Type.";

/// Why a body could not be read.
pub enum BodyError {
    /// Not the JSON object, form or `@jsonPayload` it claims to be.
    Unreadable(String),
    /// Neither JSON nor a form.
    Unsupported,
    /// The transport or the multipart framing failed (too large, cut off).
    Transport(poem::Error),
}

impl From<poem::Error> for BodyError {
    fn from(err: poem::Error) -> Self {
        Self::Transport(err)
    }
}

impl From<poem::error::ParseMultipartError> for BodyError {
    fn from(err: poem::error::ParseMultipartError) -> Self {
        Self::Transport(err.into())
    }
}

impl From<poem::error::ReadBodyError> for BodyError {
    fn from(err: poem::error::ReadBodyError) -> Self {
        Self::Transport(err.into())
    }
}

/// The common answer: an unreadable body is a framework rejection, so it
/// gets PocketBase's generic wording and its detail is logged.
impl From<BodyError> for poem::Error {
    fn from(err: BodyError) -> Self {
        match err {
            BodyError::Unreadable(detail) => poem::Error::from_string(detail, StatusCode::BAD_REQUEST),
            BodyError::Unsupported => ApiError::bad_request(UNSUPPORTED).into(),
            BodyError::Transport(err) => err,
        }
    }
}

impl BodyError {
    /// The answer of an endpoint whose PocketBase counterpart words an
    /// unreadable body its own way.
    pub fn worded(self, unreadable: &'static str) -> poem::Error {
        match self {
            Self::Unreadable(_) => ApiError::bad_request(unreadable).into(),
            other => other.into(),
        }
    }
}

/// A body read into fields.
pub struct Fields {
    pub values: Map<String, Value>,
    /// Whether the values came from a form (text that may encode JSON).
    pub from_form: bool,
    pub uploads: Vec<Upload>,
}

enum Encoding {
    Json,
    Multipart,
    UrlEncoded,
}

fn encoding(req: &Request) -> Option<Encoding> {
    let Some(content_type) = req.content_type() else {
        return Some(Encoding::Json);
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "multipart/form-data" => Some(Encoding::Multipart),
        "application/x-www-form-urlencoded" => Some(Encoding::UrlEncoded),
        "" | "application/json" => Some(Encoding::Json),
        t if t.starts_with("application/") && t.ends_with("+json") => Some(Encoding::Json),
        _ => None,
    }
}

impl Fields {
    /// Reads the body. A content type none of the three is refused,
    /// unless the body is empty.
    pub async fn read(req: &Request, body: &mut RequestBody) -> Result<Self, BodyError> {
        let mut fields = Self {
            values: Map::new(),
            from_form: false,
            uploads: Vec::new(),
        };
        let declared_empty = req
            .headers()
            .get(poem::http::header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() == b"0");
        if declared_empty {
            // Nothing sent, whatever the type says: an empty multipart body
            // is not a valid stream, but PocketBase reads it as no fields.
            return Ok(fields);
        }
        let mut payloads = Vec::new();
        match encoding(req) {
            Some(Encoding::Multipart) => {
                fields.from_form = true;
                let mut form = <Multipart as FromRequest>::from_request(req, body).await?;
                while let Some(part) = form.next_field().await? {
                    let name = part.name().unwrap_or("").to_owned();
                    let Some(filename) = part.file_name().map(str::to_owned) else {
                        let text = part.text().await?;
                        fields.add_text(name, text, &mut payloads);
                        continue;
                    };
                    let bytes = part.bytes().await?;
                    if !filename.is_empty() {
                        fields.uploads.push(Upload {
                            key: name,
                            filename,
                            bytes: bytes.into(),
                        });
                    } else if !bytes.is_empty() {
                        // A part with an empty file name is text, as
                        // PocketBase reads it (Go's multipart forms): never
                        // a file stored under a name made up for it.
                        let text = String::from_utf8(bytes)
                            .map_err(|_| BodyError::Unreadable("a form value is not UTF-8".into()))?;
                        fields.add_text(name, text, &mut payloads);
                    }
                    // Else an empty file input of a browser form: nothing
                    // was chosen, so nothing changes. PocketBase reads it
                    // as `""`, which on an update deletes the file the
                    // record holds; a form saved without touching the
                    // input should not lose it.
                }
            }
            Some(Encoding::UrlEncoded) => {
                fields.from_form = true;
                let bytes = body.take()?.into_bytes().await?;
                let pairs: Vec<(String, String)> =
                    serde_urlencoded::from_bytes(&bytes).map_err(|e| BodyError::Unreadable(e.to_string()))?;
                for (name, text) in pairs {
                    fields.add_text(name, text, &mut payloads);
                }
            }
            json => {
                let bytes = body.take()?.into_bytes().await?;
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    return Ok(fields);
                }
                if json.is_none() {
                    return Err(BodyError::Unsupported);
                }
                match serde_json::from_slice::<Value>(&bytes) {
                    Ok(Value::Object(map)) => fields.values = map,
                    // `null` (a client serializing "no body") is no
                    // fields, as in PocketBase.
                    Ok(Value::Null) => {}
                    Ok(_) => return Err(BodyError::Unreadable("not a JSON object".into())),
                    Err(e) => return Err(BodyError::Unreadable(e.to_string())),
                }
            }
        }
        // The `@jsonPayload` parts go over the plain values wherever they
        // came in the form, as in PocketBase: a key in both is the
        // payload's.
        for text in payloads {
            let Ok(Value::Object(values)) = serde_json::from_str::<Value>(&text) else {
                return Err(BodyError::Unreadable(format!(
                    "{JSON_PAYLOAD} is not a JSON object"
                )));
            };
            fields.values.extend(values);
        }
        Ok(fields)
    }

    /// One text value of a form; an `@jsonPayload` is kept in `payloads`,
    /// to be applied after every plain value.
    fn add_text(&mut self, name: String, text: String, payloads: &mut Vec<String>) {
        if name == JSON_PAYLOAD {
            payloads.push(text);
            return;
        }
        match self.values.get_mut(&name) {
            Some(Value::Array(items)) => items.push(Value::String(text)),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, Value::String(text)]);
            }
            None => {
                self.values.insert(name, Value::String(text));
            }
        }
    }

    /// Form text converted to the kinds `T` declares for its properties:
    /// numbers and booleans parsed, the first of repeated values where one
    /// is expected. Text that does not parse, or text where a list or an
    /// object is expected (those come as JSON, in `@jsonPayload`), is left
    /// for `T` to refuse.
    fn coerce_for<T: Type>(&mut self) {
        if !self.from_form {
            return;
        }
        for (name, kind) in property_kinds::<T>() {
            if let Some(value) = self.values.get_mut(name) {
                coerce(value, kind);
            }
        }
    }

    /// Refuses a JSON number or boolean where `T` declares text, as
    /// PocketBase's typed forms do (Go's JSON decoding): poem-openapi
    /// would take `{"password": 12345678}` as the text `"12345678"`,
    /// so a sign-in or a reset with a mistyped field was tried (and
    /// answered as a wrong password or a bad token) where PocketBase
    /// answers that the body could not be loaded. Form values are text,
    /// so only JSON is checked; `null` is no value, as in Go.
    fn check_text_for<T: Type>(&self) -> Result<(), BodyError> {
        if self.from_form {
            return Ok(());
        }
        for (name, kind) in property_kinds::<T>() {
            if kind == "string"
                && let Some(value @ (Value::Number(_) | Value::Bool(_))) = self.values.get(name)
            {
                return Err(BodyError::Unreadable(format!(
                    "{name}: text expected, got {value}"
                )));
            }
        }
        Ok(())
    }
}

/// The JSON Schema type of each property `T` declares.
fn property_kinds<T: Type>() -> Vec<(&'static str, &'static str)> {
    let mut registry = Registry::new();
    T::register(&mut registry);
    let resolve = |schema: &MetaSchemaRef| match schema {
        MetaSchemaRef::Inline(s) => Some(s.as_ref().clone()),
        MetaSchemaRef::Reference(name) => registry.schemas.get(name).cloned(),
    };
    let properties = resolve(&T::schema_ref())
        .map(|s| s.properties)
        .unwrap_or_default();
    properties
        .iter()
        .filter_map(|(name, schema)| Some((*name, resolve(schema)?.ty)))
        .collect()
}

/// For plain poem handlers, with the common wording for a bad body.
impl<'a> FromRequest<'a> for Fields {
    async fn from_request(req: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        Ok(Self::read(req, body).await?)
    }
}

/// `value`, form text, as a value of JSON Schema type `kind`.
fn coerce(value: &mut Value, kind: &str) {
    if kind == "array" || kind == "object" {
        return;
    }
    if let Value::Array(items) = value
        && !items.is_empty()
    {
        *value = items.swap_remove(0);
    }
    let Value::String(text) = value else { return };
    let parsed = match kind {
        "integer" => text.trim().parse::<i64>().ok().map(Value::from),
        "number" => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number),
        // Go's strconv.ParseBool, which PocketBase's form binding uses.
        "boolean" => match text.trim() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(Value::Bool(true)),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(Value::Bool(false)),
            _ => None,
        },
        _ => None,
    };
    if let Some(parsed) = parsed {
        *value = parsed;
    }
}

/// An endpoint's typed input, read by `Fields::read` from any of the
/// three encodings (the poem-openapi counterpart of `Json<T>`).
pub struct Body<T>(pub T);

impl Body<Value> {
    /// The fields as an object (a body always reads into one).
    pub fn into_object(self) -> Map<String, Value> {
        match self.0 {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

/// A required email address in body field `name`, parsed here so the
/// services receive an `Email`: blank or malformed, it is that field's
/// error in the validation envelope.
pub fn email(name: &str, raw: &str) -> Result<Email, ApiError> {
    Email::parse_required(raw).map_err(|e| ApiError::validation(FieldErrors::from([(name.to_owned(), e)])))
}

impl<'a, T: ParseFromJSON> ApiExtractor<'a> for Body<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        let content = [
            "application/json",
            "multipart/form-data",
            "application/x-www-form-urlencoded",
        ]
        .into_iter()
        .map(|content_type| MetaMediaType {
            content_type,
            schema: T::schema_ref(),
        })
        .collect();
        Some(MetaRequest {
            description: None,
            content,
            required: false,
        })
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let mut fields = Fields::read(req, body).await?;
        fields.coerce_for::<T>();
        fields.check_text_for::<T>()?;
        T::parse_from_json(Some(Value::Object(fields.values)))
            .map(Body)
            .map_err(|err| BodyError::Unreadable(err.into_message()).into())
    }
}

/// A body value PocketBase reads outside its typed form and casts to text
/// (the `mfaId` of a sign-in): a number or a boolean is its text, not a
/// body that cannot be loaded; anything else is no value.
pub fn cast_text(value: Option<Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `Body<T>`, read when the handler asks (`read`) rather than before it
/// runs. PocketBase loads an auth route's body only after its other
/// checks (the collection, the caller, whether the method is enabled, the
/// record), so a body it cannot load is answered after those refusals;
/// with `Body<T>` the framework would answer it first.
pub struct LateBody<T>(poem::Result<T>);

impl<T> LateBody<T> {
    /// The typed body, or why it could not be loaded.
    pub fn read(self) -> poem::Result<T> {
        self.0
    }
}

impl<'a, T: ParseFromJSON> ApiExtractor<'a> for LateBody<T> {
    const TYPES: &'static [ApiExtractorType] = <Body<T> as ApiExtractor<'a>>::TYPES;

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Body<T> as ApiExtractor<'a>>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        <Body<T> as ApiExtractor<'a>>::request_meta()
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let read = <Body<T> as ApiExtractor<'a>>::from_request(req, body, param_opts).await;
        Ok(Self(read.map(|Body(t)| t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_text_becomes_the_declared_kind() {
        let cases = [
            (json!("3600"), "integer", json!(3600)),
            (json!("1.5"), "number", json!(1.5)),
            (json!("true"), "boolean", json!(true)),
            (json!("0"), "boolean", json!(false)),
            (json!(["a", "b"]), "string", json!("a")),
            (json!("abc"), "integer", json!("abc")),
            (json!("x"), "string", json!("x")),
            (json!("[]"), "array", json!("[]")),
        ];
        for (mut value, kind, want) in cases {
            coerce(&mut value, kind);
            assert_eq!(value, want, "{kind}");
        }
    }
}
