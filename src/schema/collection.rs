//! Collections: a named table of records with typed fields, indexes, the
//! five API rules and, for auth collections, their auth options. JSON in
//! PocketBase's shape; stored in `_collections`.

use std::{fmt, sync::Arc};

use serde_json::{Map, Value, json};

use super::{
    auth_options::{AuthOptions, OptionsError},
    field::{Field, UnreadableField},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionKind {
    Base,
    Auth,
    View,
}

impl CollectionKind {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "base" => Some(Self::Base),
            "auth" => Some(Self::Auth),
            "view" => Some(Self::View),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Base => "base",
            Self::Auth => "auth",
            Self::View => "view",
        }
    }
}

/// The API rules: `None` locks the action to superusers, `Some("")` opens
/// it to everyone, an expression filters rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules {
    pub list: Option<String>,
    pub view: Option<String>,
    pub create: Option<String>,
    pub update: Option<String>,
    pub delete: Option<String>,
}

pub const RULE_KEYS: [&str; 5] = ["listRule", "viewRule", "createRule", "updateRule", "deleteRule"];

impl Rules {
    pub fn get(&self, key: &str) -> Option<&Option<String>> {
        Some(match key {
            "listRule" => &self.list,
            "viewRule" => &self.view,
            "createRule" => &self.create,
            "updateRule" => &self.update,
            "deleteRule" => &self.delete,
            _ => return None,
        })
    }

    pub(super) fn set(&mut self, key: &str, value: Option<String>) {
        match key {
            "listRule" => self.list = value,
            "viewRule" => self.view = value,
            "createRule" => self.create = value,
            "updateRule" => self.update = value,
            "deleteRule" => self.delete = value,
            _ => {}
        }
    }
}

#[derive(Clone, PartialEq)]
pub struct Collection {
    pub id: String,
    pub name: String,
    pub kind: CollectionKind,
    pub system: bool,
    pub fields: Vec<Field>,
    pub indexes: Vec<String>,
    pub rules: Rules,
    pub view_query: String,
    /// Auth collections' options (authRule, passwordAuth, authToken, …)
    /// as stored, secrets included; `to_json` strips the secrets. Only the
    /// schema changes them, and `read_options` then reads them again.
    pub(super) options: Map<String, Value>,
    /// `options` typed (auth collections only): what the services read.
    pub(super) auth: Option<Arc<AuthOptions>>,
    pub created: String,
    pub updated: String,
}

/// Everything but the stored options, whose token and client secrets are
/// in clear: their typed reading stands in, with the secrets redacted.
impl fmt::Debug for Collection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collection")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("system", &self.system)
            .field("fields", &self.fields)
            .field("indexes", &self.indexes)
            .field("rules", &self.rules)
            .field("view_query", &self.view_query)
            .field("auth", &self.auth)
            .field("created", &self.created)
            .field("updated", &self.updated)
            .finish()
    }
}

/// The client sent something that is not a collection at all (a
/// `fields` that is not a list, a field without a known type).
#[derive(Debug, Clone, PartialEq)]
pub struct UnreadableCollection;

impl From<UnreadableField> for UnreadableCollection {
    fn from(_: UnreadableField) -> Self {
        Self
    }
}

impl From<UnreadableCollection> for super::SchemaError {
    fn from(_: UnreadableCollection) -> Self {
        Self::Unreadable
    }
}

/// PocketBase's collection id: `pbc_` and the CRC-32 of type and name.
pub fn derive_id(kind: CollectionKind, name: &str) -> String {
    format!(
        "pbc_{}",
        crc32fast::hash(format!("{}{name}", kind.as_str()).as_bytes())
    )
}

/// `body[key]` as text: `None` when absent or null; unreadable when of
/// another JSON type.
fn text_of<'a>(body: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, UnreadableCollection> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(UnreadableCollection),
    }
}

fn rule_of(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

impl Collection {
    /// The typed auth options; `None` for a base or view collection. Every
    /// auth collection of the catalog has them (it refuses to load one
    /// whose options are unusable).
    pub fn auth(&self) -> Option<&AuthOptions> {
        self.auth.as_deref()
    }

    /// The auth options as stored (PocketBase's JSON, secrets included).
    pub fn options(&self) -> &Map<String, Value> {
        &self.options
    }

    /// Reads `options` into `auth`, after the collection was loaded or its
    /// options changed.
    pub(super) fn read_options(&mut self) -> Result<(), OptionsError> {
        self.auth = match self.kind {
            CollectionKind::Auth => Some(Arc::new(AuthOptions::parse(&self.name, &self.options)?)),
            CollectionKind::Base | CollectionKind::View => None,
        };
        Ok(())
    }

    /// Replaces one auth option (in its stored shape) and reads the
    /// options again: for tests that need a collection configured so.
    #[cfg(test)]
    pub fn set_option(&mut self, key: &str, value: Value) -> Result<(), OptionsError> {
        self.options.insert(key.to_owned(), value);
        super::auth_options::normalize_oauth2(&mut self.options);
        self.read_options()
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn field_by_id(&self, id: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// Whether only superusers may write `f`: a hidden field is the
    /// server's (PocketBase drops it from anyone else's body), except an
    /// account's password, which its owner sets. `records::writable`
    /// drops these and `json_schema::body` leaves them out; the two agree
    /// through here.
    pub fn superusers_write(&self, f: &Field) -> bool {
        f.hidden && !(self.kind == CollectionKind::Auth && f.name == "password")
    }

    /// A base collection that is never stored, only compiled against: a
    /// system table's shape (the request log's, say) for the filter
    /// compiler.
    pub fn unstored(name: &str, fields: Vec<Field>) -> Self {
        Self {
            id: name.into(),
            name: name.into(),
            kind: CollectionKind::Base,
            system: true,
            fields,
            indexes: Vec::new(),
            rules: Rules::default(),
            view_query: String::new(),
            options: Map::new(),
            auth: None,
            created: String::new(),
            updated: String::new(),
        }
    }

    /// A new collection from a create request, before validation. Keys the
    /// client leaves out take PocketBase's defaults.
    pub fn from_create(body: &Map<String, Value>) -> Result<(Self, Option<String>), super::SchemaError> {
        // PocketBase reads `name` and `type` first, to know what to make,
        // and names them when they are not text.
        let kind_of = |key| text_of(body, key).map_err(|_| super::SchemaError::UnreadableKind);
        kind_of("name")?;
        // An empty `type` is a base collection, as PocketBase reads it.
        let raw_kind = match kind_of("type")? {
            None | Some("") => "base",
            Some(kind) => kind,
        };
        let kind = CollectionKind::parse(raw_kind).unwrap_or(CollectionKind::Base);
        let bad_kind = CollectionKind::parse(raw_kind)
            .is_none()
            .then(|| raw_kind.to_owned());
        let now = crate::datetime::now();
        let mut collection = Self {
            id: String::new(),
            name: String::new(),
            kind,
            system: false,
            fields: Vec::new(),
            indexes: Vec::new(),
            rules: Rules::default(),
            view_query: String::new(),
            options: Map::new(),
            auth: None,
            created: now.clone(),
            updated: now,
        };
        collection.apply_patch(body)?;
        // Only Cairn makes system collections: one made through the API
        // could never be deleted again.
        collection.system = false;
        if let Some(id) = text_of(body, "id")?.filter(|s| !s.is_empty()) {
            collection.id = id.to_owned();
        } else {
            collection.id = derive_id(kind, &collection.name);
        }
        Ok((collection, bad_kind))
    }

    /// Applies the keys present in `body` (an update, or the rest of a
    /// create). Fields are replaced as a whole list; a field keeps its id
    /// (and so its column and data) when the client sends that id back.
    pub fn apply_patch(&mut self, body: &Map<String, Value>) -> Result<(), UnreadableCollection> {
        // A key of the wrong JSON type (a number for a rule, a name or an
        // index) makes the body unreadable, as PocketBase finds it: read
        // as null, a rule of `5` would have locked the action silently.
        // `null` for a text is its zero value, as Go reads it.
        text_of(body, "type")?;
        // Sent as it was, `system` is no change; another value is refused
        // by validation (Cairn ignored it, and answered 200).
        match body.get("system") {
            None | Some(Value::Null) => {}
            Some(Value::Bool(system)) => self.system = *system,
            Some(_) => return Err(UnreadableCollection),
        }
        if body.contains_key("name") {
            self.name = text_of(body, "name")?.unwrap_or("").trim().to_owned();
        }
        for key in RULE_KEYS {
            if let Some(v) = body.get(key) {
                if !v.is_null() && !v.is_string() {
                    return Err(UnreadableCollection);
                }
                self.rules.set(key, rule_of(v));
            }
        }
        if body.contains_key("viewQuery") {
            self.view_query = text_of(body, "viewQuery")?.unwrap_or("").trim().to_owned();
        }
        if let Some(indexes) = body.get("indexes") {
            let list = indexes.as_array().ok_or(UnreadableCollection)?;
            self.indexes = list
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(|s| s.trim().to_owned())
                        .ok_or(UnreadableCollection)
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(fields) = body.get("fields") {
            let list = fields.as_array().ok_or(UnreadableCollection)?;
            let mut parsed = Vec::with_capacity(list.len());
            for item in list {
                let mut field = Field::from_json(item)?;
                field.name = field.name.trim().to_owned();
                // A system field cannot be made from the outside: keep the
                // flag only for fields this collection already has.
                let existing = self.fields.iter().find(|f| {
                    (!field.id.is_empty() && f.id == field.id)
                        || (field.id.is_empty() && f.name == field.name)
                });
                match existing {
                    Some(old) => {
                        field.id = old.id.clone();
                        field.system = old.system;
                    }
                    None => {
                        field.system = false;
                        if field.id.is_empty() {
                            field.id = super::field::derive_id(field.kind.type_name(), &field.name);
                        }
                    }
                }
                // Two fields sent under one id are one field, the later,
                // as PocketBase keeps them: kept apart, they would share
                // the id that a rename follows to its column.
                let sent_id = item
                    .get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|id| !id.is_empty());
                match parsed.iter().position(|f: &Field| sent_id && f.id == field.id) {
                    Some(at) => parsed[at] = field,
                    None => parsed.push(field),
                }
            }
            self.fields = parsed;
        }
        if self.kind == CollectionKind::Auth {
            for (key, value) in body {
                if super::defaults::AUTH_OPTION_KEYS.contains(&key.as_str()) {
                    merge_option(&mut self.options, key, value);
                }
            }
            super::auth_options::normalize_oauth2(&mut self.options);
        }
        Ok(())
    }

    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("id".into(), json!(self.id));
        o.insert("name".into(), json!(self.name));
        o.insert("type".into(), json!(self.kind.as_str()));
        o.insert("system".into(), json!(self.system));
        o.insert(
            "fields".into(),
            Value::Array(self.fields.iter().map(Field::to_json).collect()),
        );
        o.insert("indexes".into(), json!(self.indexes));
        for key in RULE_KEYS {
            o.insert(key.into(), json!(self.rules.get(key).cloned().flatten()));
        }
        o.insert("created".into(), json!(self.created));
        o.insert("updated".into(), json!(self.updated));
        match self.kind {
            CollectionKind::View => {
                o.insert("viewQuery".into(), json!(self.view_query));
            }
            CollectionKind::Auth => {
                for (k, v) in &self.options {
                    o.insert(k.clone(), strip_secrets(v));
                }
            }
            CollectionKind::Base => {}
        }
        Value::Object(o)
    }
}

/// Merges a client's auth option object into the stored one key by key, so
/// a partial update keeps the rest (and the secrets it does not replace).
fn merge_option(options: &mut Map<String, Value>, key: &str, value: &Value) {
    match (options.get_mut(key), value) {
        (Some(Value::Object(current)), Value::Object(patch)) => {
            for (k, v) in patch {
                // The output never shows a secret, so one sent back blank
                // or not at all keeps the stored one; a new one replaces
                // it (a new `authToken.secret` revokes every token signed
                // with the old one, as in PocketBase).
                if k == "secret" && v.as_str().is_none_or(str::is_empty) {
                    continue;
                }
                merge_option(current, k, v);
            }
        }
        // OAuth2 providers: the output never shows a client secret, so a
        // client that sends a provider back without one keeps the stored one.
        (Some(Value::Array(current)), Value::Array(patch)) if key == "providers" => {
            let kept = patch.iter().map(|p| keep_client_secret(current, p)).collect();
            options.insert(key.to_owned(), Value::Array(kept));
        }
        _ => {
            options.insert(key.to_owned(), value.clone());
        }
    }
}

fn keep_client_secret(stored: &[Value], submitted: &Value) -> Value {
    let mut provider = submitted.clone();
    let Some(p) = provider.as_object_mut() else {
        return provider;
    };
    if p.get("clientSecret")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
    {
        return provider;
    }
    let secret = stored
        .iter()
        .find(|old| old.get("name").is_some() && old.get("name") == p.get("name"))
        .and_then(|old| old.get("clientSecret"))
        .cloned();
    if let Some(secret) = secret {
        p.insert("clientSecret".into(), secret);
    }
    provider
}

fn strip_secrets(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| k.as_str() != "secret" && k.as_str() != "clientSecret")
                .map(|(k, v)| (k.clone(), strip_secrets(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_secrets).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{auth_options::TokenKind, defaults};

    #[test]
    fn neither_debug_nor_json_shows_a_secret() {
        let mut c = defaults::users();
        c.set_option(
            "oauth2",
            serde_json::json!({"enabled": true, "providers": [
                {"name": "github", "clientId": "id", "clientSecret": "client-s3cret"},
            ]}),
        )
        .expect("readable");
        let secrets: Vec<String> = TokenKind::ALL
            .iter()
            .map(|k| c.auth().expect("auth").token(*k).secret.expose().to_owned())
            .chain(["client-s3cret".to_owned()])
            .collect();
        let debug = format!("{c:?}");
        let json = c.to_json().to_string();
        for secret in &secrets {
            assert!(!debug.contains(secret.as_str()), "{debug}");
            assert!(!json.contains(secret.as_str()), "{json}");
        }
        assert_eq!(
            c.options()["oauth2"]["providers"][0]["clientSecret"],
            "client-s3cret"
        );
    }
}
