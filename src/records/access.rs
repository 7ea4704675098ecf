//! Who may do what to which records: the collection rules, and the
//! caller's own `filter`, both compiled into SQL conditions.
//!
//! `null` locks an action to superusers, `""` opens it to everyone, and an
//! expression is a row condition evaluated with the caller's `@request`
//! (superusers bypass rules). A client's own filter may not use
//! `@request.*` or hidden fields unless the client is a superuser.

use std::sync::Arc;

use rusqlite::types::Value as Sql;
use serde_json::{Map, Value};

use super::service::RecordError;
use crate::{
    identity::{Caller, KeyAction},
    query::{
        QueryError,
        compile::{CompileError, RequestInfo, RequestValues, RuleContext, Scope, compile},
        parser::{Expr, ParseError, parse_cached},
    },
    schema::{Catalog, Collection},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Every row the action touches is allowed.
    All,
    /// Rows must match this rule expression.
    Rule(String),
    /// Only superusers may do this at all.
    SuperusersOnly,
    /// The caller's API key leaves this collection or action out of its
    /// scopes: refused as a locked rule refuses (403 whatever the record),
    /// so the key learns nothing of what is there.
    OutOfScope,
}

/// `decide` for `action` on collection `c` under `rule`, narrowed first by
/// the caller's API key scopes, if it presented a key.
pub fn decide_for(caller: &Caller, c: &Collection, action: KeyAction, rule: &Option<String>) -> Access {
    if !caller.may(&c.id, action) {
        return Access::OutOfScope;
    }
    decide(caller, rule)
}

pub fn decide(caller: &Caller, rule: &Option<String>) -> Access {
    if caller.is_superuser() {
        return Access::All;
    }
    match rule.as_deref().map(str::trim) {
        None => Access::SuperusersOnly,
        Some("") => Access::All,
        Some(expr) => Access::Rule(expr.to_owned()),
    }
}

/// The caller and what their request says, for rules and filters.
/// Cloned into every read that evaluates a rule, so what the request
/// says (all its headers and query parameters) is shared, not copied.
#[derive(Clone)]
pub struct Requester {
    pub caller: Caller,
    pub info: Arc<RequestInfo>,
}

impl Requester {
    /// The same caller and request, with `body` as `@request.body`.
    pub fn with_body(&self, body: Map<String, Value>) -> Self {
        self.rebuilt(body, self.info.context, &self.info.method)
    }

    /// The same caller and request, its rules checked in `context` (an
    /// OAuth2 sign-up's `createRule` sees `@request.context` "oauth2").
    pub fn in_context(&self, context: RuleContext) -> Self {
        self.rebuilt(self.info.body.clone(), context, &self.info.method)
    }

    /// The same caller and request, its rules reading `method` as
    /// `@request.method` (an upsert is judged as the POST or the PATCH
    /// it turns into).
    pub fn with_method(&self, method: &str) -> Self {
        self.rebuilt(self.info.body.clone(), self.info.context, method)
    }

    fn rebuilt(&self, body: Map<String, Value>, context: RuleContext, method: &str) -> Self {
        let info = &self.info;
        Self {
            caller: self.caller.clone(),
            info: Arc::new(RequestInfo {
                auth: info.auth.clone(),
                method: method.to_owned(),
                context,
                query: RequestValues::ready(info.query.get().clone()),
                headers: RequestValues::ready(info.headers.get().clone()),
                body,
            }),
        }
    }
}

/// SQL conditions joined with AND, with their parameters in order.
#[derive(Debug, Default)]
pub struct Conditions {
    clauses: Vec<String>,
    pub params: Vec<Sql>,
}

impl Conditions {
    /// ` WHERE …` or nothing.
    pub fn where_sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// `AND …` to follow an existing condition, or nothing.
    pub fn and_sql(&self) -> String {
        self.clauses.iter().map(|c| format!(" AND {c}")).collect()
    }

    /// Adds a condition on rows and its parameters.
    pub fn push(&mut self, sql: String, params: Vec<Sql>) {
        self.clauses.push(sql);
        self.params.extend(params);
    }

    /// Adds a collection rule (trusted: stored by a superuser).
    pub fn add_rule(
        &mut self,
        catalog: &Catalog,
        c: &Collection,
        requester: &Requester,
        expression: &str,
    ) -> Result<(), RecordError> {
        let cached = parse_cached(expression);
        let parsed = cached
            .as_ref()
            .as_ref()
            .map_err(|e| RecordError::BrokenRule(format!("{expression:?}: {e}")))?;
        self.add_parsed(catalog, c, requester, parsed, true)
            .map_err(|e| RecordError::BrokenRule(format!("{expression:?}: {e:?}")))
    }

    /// Adds the client's own filter: a 400 if it does not parse or
    /// compile, a 403 if it names what the caller may not filter by.
    pub fn add_filter(
        &mut self,
        catalog: &Catalog,
        c: &Collection,
        requester: &Requester,
        filter: &Filter,
    ) -> Result<(), RecordError> {
        let parsed = filter.0.as_ref().as_ref().map_err(QueryError::invalid_filter)?;
        self.add_parsed(catalog, c, requester, parsed, false)
            .map_err(|e| match e {
                CompileError::Invalid(m) => QueryError::invalid_filter(m).into(),
                CompileError::Forbidden(m) => QueryError::Forbidden(m).into(),
            })
    }

    fn add_parsed(
        &mut self,
        catalog: &Catalog,
        c: &Collection,
        requester: &Requester,
        parsed: &Expr,
        trusted: bool,
    ) -> Result<(), CompileError> {
        let scope = Scope {
            collection: c,
            catalog: Some(catalog),
            request: &requester.info,
            trusted: trusted || requester.caller.is_full_superuser(),
            // A rule is the collection's own; only the client's filter is
            // narrowed by its key.
            reach: if trusted {
                None
            } else {
                requester.caller.filter_reach()
            },
        };
        let compiled = compile(parsed, &scope, self.params.len())?;
        self.push(compiled.sql, compiled.params);
        Ok(())
    }
}

/// A client's own `filter` (of a list, or of a realtime subscription),
/// parsed once where the request is read. One that does not parse keeps
/// its error, answered (400) where the filter is used: after the
/// collection's rule, so a caller the rule refuses hears 403 first, as
/// PocketBase answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter(Arc<Result<Expr, ParseError>>);

impl Filter {
    /// `None` for no filter (absent or empty).
    pub fn parse(raw: &str) -> Option<Self> {
        (!raw.is_empty()).then(|| Self(parse_cached(raw)))
    }

    /// The plain fields it compares (see `Expr::plain_fields`); none if
    /// it did not parse.
    pub fn plain_fields(&self) -> Vec<String> {
        self.0
            .as_ref()
            .as_ref()
            .map(|e| e.plain_fields())
            .unwrap_or_default()
    }
}
