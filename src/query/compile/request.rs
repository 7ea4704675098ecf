//! `@request.*` in a rule: the request values a condition may refer to
//! (`RequestInfo`), made lazily where they are costly, and how a reference
//! to one compiles — a bound parameter, never SQL text — with its
//! modifiers (`:lower`, and `:isset`, `:changed`, `:length` on the body);
//! what reads through the collection's fields (`:each`, relation paths)
//! is in `request_fields`.
//! Only trusted conditions (rules, superusers) may use them.

use std::sync::{Arc, LazyLock};

use rusqlite::types::Value as Sql;
use serde_json::{Map, Value};

use super::{CompileError, Compiler, Term, invalid, request_fields::sent_length};
use crate::schema::sync::quote;

/// What a condition may refer to beyond the collection's own fields.
#[derive(Debug, Default)]
pub struct RequestInfo {
    /// The signed-in record, hidden fields included (`collectionId` and
    /// `collectionName` too; see `Caller::rule_auth`); `None` for guests.
    pub auth: Option<Arc<Map<String, Value>>>,
    pub method: String,
    /// `@request.context`.
    pub context: RuleContext,
    pub query: RequestValues,
    pub headers: RequestValues,
    pub body: Map<String, Value>,
}

/// Where a rule is checked, as `@request.context` names it (PocketBase's
/// names): rules may tell a realtime event's check from a request's, or
/// one sign-in method from another (an `authRule` of
/// `@request.context != "password"` keeps an account to OAuth2 and OTP).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RuleContext {
    /// A request to the API.
    #[default]
    Default,
    /// A request inside `POST /api/batch` (PocketBase names it so: a
    /// rule may keep a write out of batches, or to them).
    Batch,
    /// A realtime event, checked for one subscriber.
    Realtime,
    /// A sign-in with a password, and the rules it checks (`authRule`,
    /// `mfa.rule`).
    Password,
    /// A sign-in with a one-time password.
    Otp,
    /// A sign-in (or sign-up) through an OAuth2 provider.
    OAuth2,
    /// A protected file asked for with a file token.
    ProtectedFile,
}

impl RuleContext {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Batch => "batch",
            Self::Realtime => "realtime",
            Self::Password => "password",
            Self::Otp => "otp",
            Self::OAuth2 => "oauth2",
            Self::ProtectedFile => "protectedFile",
        }
    }
}

type Build = Box<dyn FnOnce() -> Arc<Map<String, Value>> + Send>;

/// `@request.query` or `@request.headers` as a map, made the first time an
/// expression refers to it: most rules never do, and making it for every
/// request (a string per name and per value) was about 1% of a create.
pub struct RequestValues(LazyLock<Arc<Map<String, Value>>, Build>);

impl RequestValues {
    /// Values that `build` makes when first asked for.
    pub fn new(build: impl FnOnce() -> Map<String, Value> + Send + 'static) -> Self {
        Self(LazyLock::new(Box::new(move || Arc::new(build()))))
    }

    /// Values already made (shared, not copied).
    pub fn ready(values: Arc<Map<String, Value>>) -> Self {
        Self(LazyLock::new(Box::new(move || values)))
    }

    pub fn get(&self) -> &Arc<Map<String, Value>> {
        &self.0
    }
}

/// A header's name as rules see it under `@request.headers`: lower-case,
/// `-` as `_`.
pub fn header_key(name: &str) -> String {
    name.to_ascii_lowercase().replace('-', "_")
}

impl Default for RequestValues {
    fn default() -> Self {
        Self::new(Map::new)
    }
}

impl std::fmt::Debug for RequestValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Makes them if need be: only debugging prints a request.
        self.get().fmt(f)
    }
}

/// A request value as a SQL parameter.
pub(super) fn json_to_sql(v: &Value) -> Sql {
    match v {
        Value::Null => Sql::Text(String::new()),
        Value::Bool(b) => Sql::Integer(i64::from(*b)),
        Value::Number(n) => n
            .as_i64()
            .map_or_else(|| Sql::Real(n.as_f64().unwrap_or(0.0)), Sql::Integer),
        Value::String(s) => Sql::Text(s.clone()),
        other => Sql::Text(other.to_string()),
    }
}

fn lookup<'v>(map: &'v Map<String, Value>, path: &[&str]) -> Option<&'v Value> {
    let (first, rest) = path.split_first()?;
    let mut v = map.get(*first)?;
    for key in rest {
        v = v.get(*key)?;
    }
    Some(v)
}

impl Compiler<'_> {
    /// `@request.…` (`base`) with its modifier, if any.
    pub(super) fn request_path(&mut self, base: &str, modifier: Option<&str>) -> Result<Term, CompileError> {
        if !self.scope.trusted {
            return Err(untrusted_request());
        }
        if let Some(term) = self.request_field(base, modifier)? {
            return Ok(term);
        }
        match modifier {
            None => self.request_value(base),
            Some("lower") => match self.request_value(base)? {
                Term::Sql(v) => Ok(Term::Sql(format!("LOWER({v})"))),
                other => Ok(other),
            },
            Some(m @ ("isset" | "changed" | "length")) => self.body_modifier(base, m),
            Some(m) => Err(invalid(format!("unknown modifier :{m}"))),
        }
    }

    fn request_value(&mut self, path: &str) -> Result<Term, CompileError> {
        if !self.scope.trusted {
            return Err(untrusted_request());
        }
        let parts: Vec<&str> = path.split('.').collect();
        let req = self.scope.request;
        let found = match parts.get(1).copied() {
            Some("auth") => req.auth.as_ref().and_then(|a| lookup(a, &parts[2..])).cloned(),
            Some("method") if parts.len() == 2 => Some(Value::String(req.method.clone())),
            Some("context") if parts.len() == 2 => Some(Value::String(req.context.as_str().into())),
            Some("query") => lookup(req.query.get(), &parts[2..]).cloned(),
            Some("headers") => lookup(req.headers.get(), &parts[2..]).cloned(),
            Some("body") => lookup(&req.body, &parts[2..]).cloned(),
            _ => return Err(invalid(format!("unknown request value {path:?}"))),
        };
        // A missing value (a key not sent, a guest's `auth`) is NULL, which
        // `=` and `!=` take for the empty value and nothing else matches:
        // `@request.body.price > 10` fails when `price` is not sent, as
        // in PocketBase (an empty string would sort above every number).
        Ok(match found {
            Some(v) => Term::Sql(self.bind(json_to_sql(&v))),
            None => Term::Nullable(self.bind(Sql::Null)),
        })
    }

    /// `@request.body.f:isset` (the key was sent; `@request.query.f` and
    /// `@request.headers.f` take it too), `:changed` (sent and different
    /// from the stored value) and `:length` (of a sent list).
    fn body_modifier(&mut self, base: &str, modifier: &str) -> Result<Term, CompileError> {
        if !self.scope.trusted {
            return Err(untrusted_request());
        }
        // `@request.query.x:isset` and `@request.headers.x:isset`: the name
        // was sent (PocketBase's, where rules check for a flag or a header).
        let req = self.scope.request;
        let sent_elsewhere = [
            ("@request.query.", &req.query),
            ("@request.headers.", &req.headers),
        ]
        .into_iter()
        .filter(|_| modifier == "isset")
        .find_map(|(prefix, values)| Some((base.strip_prefix(prefix)?, values)));
        if let Some((key, values)) = sent_elsewhere {
            let sent = lookup(values.get(), &key.split('.').collect::<Vec<_>>()).is_some();
            return Ok(Term::Sql(self.bind(Sql::Integer(i64::from(sent)))));
        }
        let key = base
            .strip_prefix("@request.body.")
            .filter(|k| !k.is_empty() && !k.contains('.'))
            .ok_or_else(|| {
                invalid(format!(
                    ":{modifier} applies to @request.body fields only{}",
                    if modifier == "isset" {
                        " (and @request.query, @request.headers)"
                    } else {
                        ""
                    }
                ))
            })?;
        let sent = self.scope.request.body.get(key).cloned();
        Ok(Term::Sql(match modifier {
            "isset" => self.bind(Sql::Integer(i64::from(sent.is_some()))),
            "length" => {
                let n = sent_length(self.scope.collection.field(key), sent.as_ref());
                self.bind(Sql::Integer(n as i64))
            }
            _ => {
                let Some(value) = sent else {
                    return Ok(Term::Sql(self.bind(Sql::Integer(0))));
                };
                let f = self.field(self.scope.collection, key)?;
                let column = format!("{}.{}", self.base_ref, quote(&f.name));
                let given = self.bind(json_to_sql(&value));
                format!("({given} IS NOT {column})")
            }
        }))
    }
}

/// `@request` where the scope is not trusted: a client's own filter (a
/// rule's, or a superuser's, may read the request).
fn untrusted_request() -> CompileError {
    CompileError::Forbidden("Only superusers can filter by @request.".into())
}
