//! Compiles a parsed filter or rule into a parameterized SQL condition over
//! one collection's table. Identifiers come only from the collection's
//! schema and are quoted; every literal and request value is a bound
//! parameter.
//!
//! A client's own filter or sort (not trusted) sees through a relation
//! only what the related collection's list rule lets that client list, as
//! PocketBase 0.40 does: a hop into a superuser-only collection is refused
//! (400), a hop into a collection with a rule reads only the records the
//! rule admits, and a row whose related records along a path are all
//! hidden from the caller is left out (the path's *guard*, ANDed to the
//! whole condition). Without that, `secret.code ~ 'a'` on a public
//! collection reads an owner-only collection one character at a time.
//! Rules themselves and superusers see every record.
//!
//! The parts, by what they do:
//! - `path`: field paths, relation and back-relation hops, `@collection`,
//!   JSON paths and their modifiers;
//! - `gating`: the list-rule gating of a client's hops and the paths' guards;
//! - `request`: `@request.*` values and their modifiers;
//! - `request_fields`: `@request.body` and `@request.auth` read through
//!   the collection's fields: `:each` over a sent list, and relation paths
//!   from the ids sent or stored on the signed-in record;
//! - `operators`: operands and comparisons for every kind of term;
//! - `functions`: datetime macros and the callable functions.

mod functions;
mod gating;
mod operators;
mod path;
mod request;
mod request_fields;
#[cfg(test)]
mod tests;

use rusqlite::types::Value as Sql;

pub use self::request::{RequestInfo, RequestValues, RuleContext, header_key};
use super::parser::Expr;
use crate::schema::{Collection, sync::quote};

pub struct Scope<'a> {
    pub collection: &'a Collection,
    /// Where relation paths find their target collections; without it a
    /// relation path is refused.
    pub catalog: Option<&'a crate::schema::Catalog>,
    pub request: &'a RequestInfo,
    /// Rules and superusers may use `@request.*` and hidden fields; a
    /// client's own filter may not.
    pub trusted: bool,
    /// For a client's own filter or sort (not trusted): the ids of the
    /// only collections its paths may enter, when its credential narrows
    /// it (an API key's scopes, `Caller::filter_reach`); `None` for any
    /// collection the relation rules allow. Rules ignore it.
    pub reach: Option<&'a [String]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileError {
    /// 400: the expression does not fit the schema.
    Invalid(String),
    /// 403: the caller may not use this in their own filter.
    Forbidden(String),
}

#[derive(Debug, Clone, Default)]
pub struct Compiled {
    pub sql: String,
    pub params: Vec<Sql>,
}

/// How a list is ordered by one field path (`title`, `author.name`).
#[derive(Debug)]
pub struct SortTerm {
    /// The value to order by.
    pub sql: String,
    /// The values `sql` and `guard` bind, numbered after the `offset`
    /// given to `sort_expression`.
    pub params: Vec<Sql>,
    /// For a client's sort through relations whose rules hide records: the
    /// condition rows must also meet (see the module doc), so an order
    /// never ranks rows by values the caller may not list.
    pub guard: Option<String>,
}

/// Compiles `expr` for `scope`'s collection; its parameters are numbered
/// after the `offset` already bound in the statement it joins.
pub fn compile(expr: &Expr, scope: &Scope<'_>, offset: usize) -> Result<Compiled, CompileError> {
    Compiler::new(scope, offset, quote(&scope.collection.name))
        .finish(expr)
        .map(|(compiled, _)| compiled)
}

/// The `ORDER BY` value of a field path. A path that reaches many values
/// (a multiple relation, a back-relation, `@collection`, a list under
/// `:each`) sorts by one of them: the first the caller may list, in the
/// order PocketBase's join meets them (see `Term::Multi`). PocketBase
/// sorts its joined rows and keeps the first of each record, so without a
/// filter narrowing the same join that is the first related record in the
/// relation's stored order, or a back-relation's oldest, and a record
/// with none sorts as a missing value; each record is listed once.
pub fn sort_expression(scope: &Scope<'_>, path: &str, offset: usize) -> Result<SortTerm, CompileError> {
    let mut c = Compiler::new(scope, offset, quote(&scope.collection.name));
    // A client's `@request.*` is compiled to hear the 403 its filter would
    // (PocketBase's answer); a superuser's, one value for every row, and
    // the other macros are refused.
    let client_request = path.starts_with("@request.") && !scope.trusted;
    if path.starts_with('@') && !path.starts_with("@collection.") && !client_request {
        return Err(invalid(format!("cannot sort by {path:?}")));
    }
    let sql = match c.path(path)? {
        Term::Sql(sql) | Term::Nullable(sql) | Term::Json(sql) => sql,
        Term::Multi { rows, value, order } => {
            let order = if order.is_empty() {
                order
            } else {
                format!(" ORDER BY {order}")
            };
            format!("(SELECT {value} FROM {rows}{order} LIMIT 1)")
        }
        // The list's first item: `value` is read from the one table
        // `:each` shares (`json_each` of the list).
        Term::Item { value, .. } => match c.shared.as_slice() {
            [(_, alias, table)] => {
                format!("(SELECT {value} FROM {table} {alias} ORDER BY {alias}.key LIMIT 1)")
            }
            _ => return Err(invalid(format!("cannot sort by {path:?}"))),
        },
        Term::Null => return Err(invalid(format!("cannot sort by {path:?}"))),
    };
    let guard = c
        .guards
        .into_iter()
        .map(|(_, g)| g)
        .reduce(|a, b| format!("{a} AND {b}"));
    Ok(SortTerm {
        sql,
        params: c.params,
        guard,
    })
}

#[derive(Clone)]
enum Term {
    /// A SQL expression (column, function, parameter placeholder).
    Sql(String),
    /// A value that may be missing (NULL): a field through a relation.
    /// `=` and `!=` treat a missing value as the empty string, other
    /// operators never match it, as PocketBase's joins behave.
    Nullable(String),
    /// A JSON field's value (`meta`, `meta.a.b`, also through single
    /// relations), NULL where the key is missing, compared as PocketBase
    /// compares one: `=` and `!=` as SQL's `IS` and `IS NOT`, so a missing
    /// key equals `null` only and differs from every value, `''` included
    /// (`meta.nope != ""` holds); `~` and `!~` never match it.
    Json(String),
    /// A value reached through a multi-valued relation: `value` over the
    /// rows of `rows` (`FROM … WHERE …`), compared for every row (plain
    /// operators) or for at least one (the `?` forms).
    Multi {
        rows: String,
        value: String,
        /// The `ORDER BY` of `rows` that puts first the row PocketBase's
        /// join meets first (the related records in their stored order, a
        /// back-relation's by insertion); empty when there is one row.
        order: String,
    },
    /// An item of a list under `:each` (a multi-valued field's, or a
    /// list sent in the body: `tags:each`, `@request.body.tags:each`), as
    /// PocketBase compares one: the whole condition runs once per item
    /// (`value`, from a `shared` table; NULL for an empty list), and a
    /// plain operator on a multiple field also checks every item of `list`
    /// (its JSON, as SQL), a missing one read as the empty value. A
    /// stored item (`sent` false) is compared as a value that may be
    /// missing; a sent one as it is, so an empty sent list equals nothing,
    /// not even `''` (PocketBase's answers, both).
    Item {
        value: String,
        list: Option<String>,
        sent: bool,
    },
    Null,
}

struct Compiler<'a> {
    scope: &'a Scope<'a>,
    params: Vec<Sql>,
    /// Parameters already bound before this condition in the statement.
    offset: usize,
    /// Counter for the aliases of joined tables.
    aliases: usize,
    /// Tables shared by the whole condition, (key, SQL alias, table):
    /// `@collection.name:alias` (keyed `name:alias`, the quoted table) and
    /// a list under `:each` (keyed by the list's SQL, `json_each(…)`).
    shared: Vec<(String, String, String)>,
    /// Whether the comparison being compiled uses a `?` operator.
    comparing_any: bool,
    /// How the SQL names the scope's own table: its quoted name, or an
    /// alias when a related collection's list rule is compiled for a hop.
    base_ref: String,
    /// Visibility guards of the relation paths a client's filter used, by
    /// path (see the module doc); ANDed to the whole condition.
    guards: Vec<(String, String)>,
}

fn invalid(message: impl Into<String>) -> CompileError {
    CompileError::Invalid(message.into())
}

impl<'a> Compiler<'a> {
    fn new(scope: &'a Scope<'a>, offset: usize, base_ref: String) -> Self {
        Compiler {
            scope,
            params: Vec::new(),
            offset,
            aliases: 0,
            shared: Vec::new(),
            comparing_any: false,
            base_ref,
            guards: Vec::new(),
        }
    }

    /// The whole condition, and the alias counter after it.
    fn finish(mut self, expr: &Expr) -> Result<(Compiled, usize), CompileError> {
        let mut sql = self.expr(expr)?;
        if !self.shared.is_empty() {
            // Evaluated once per combination of the aliased records; the LEFT
            // JOINs keep one all-NULL row when a collection is empty, so the
            // parts of the condition that do not use it still count.
            let joins: String = self
                .shared
                .iter()
                .map(|(_, alias, table)| format!(" LEFT JOIN {table} {alias} ON 1"))
                .collect();
            sql = format!("EXISTS (SELECT 1 FROM (SELECT 1){joins} WHERE {sql})");
        }
        for (_, guard) in &self.guards {
            sql = format!("({sql} AND {guard})");
        }
        let compiled = Compiled {
            sql,
            params: self.params,
        };
        Ok((compiled, self.aliases))
    }

    fn bind(&mut self, v: Sql) -> String {
        self.params.push(v);
        format!("?{}", self.offset + self.params.len())
    }

    /// The item of a JSON list under `:each` that the condition is
    /// evaluated for (see `Term::Item`): one `shared` table per `key`, the
    /// list's SQL made by `list` the first time. `multi` for a multiple
    /// field, whose plain operators check every item too.
    fn each_item(
        &mut self,
        key: String,
        list: impl FnOnce(&mut Self) -> String,
        multi: bool,
        sent: bool,
    ) -> Term {
        let (alias, list) = match self.shared.iter().find(|(k, _, _)| *k == key) {
            Some((_, alias, table)) => {
                let list = table.strip_prefix("json_each(").and_then(|t| t.strip_suffix(')'));
                (alias.clone(), list.unwrap_or_default().to_owned())
            }
            None => {
                let list = list(self);
                let alias = self.alias();
                self.shared
                    .push((key, alias.clone(), format!("json_each({list})")));
                (alias, list)
            }
        };
        Term::Item {
            value: format!("{alias}.value"),
            list: multi.then_some(list),
            sent,
        }
    }

    fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("\"_r{}\"", self.aliases)
    }
}
