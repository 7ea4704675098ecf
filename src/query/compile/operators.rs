//! Operands and comparisons: literals become bound parameters, paths and
//! calls become terms, and each operator (`=`, `!=`, `<`…, `~`, `!~`, and
//! their `?` forms) is written for every kind of term — a plain value, a
//! value that may be missing, the rows of a multi-valued relation, or an
//! item of a list under `:each` (stored or sent in the body) — with
//! PocketBase's treatment of missing values.

use rusqlite::types::Value as Sql;
use serde_json::Value;

use super::{CompileError, Compiler, Term, invalid};
use crate::query::{
    lexer::Op,
    parser::{Expr, Operand},
};

impl Compiler<'_> {
    fn operand(&mut self, o: &Operand) -> Result<Term, CompileError> {
        Ok(match o {
            Operand::Null => Term::Null,
            Operand::Str(s) => Term::Sql(self.bind(Sql::Text(s.clone()))),
            Operand::Num(n) => Term::Sql(self.bind(if n.fract() == 0.0 && n.abs() < 9e15 {
                Sql::Integer(*n as i64)
            } else {
                Sql::Real(*n)
            })),
            Operand::Bool(b) => Term::Sql(self.bind(Sql::Integer(i64::from(*b)))),
            Operand::Path { name, .. } => self.path(name)?,
            Operand::Call { name, args, .. } => self.call(name, args)?,
        })
    }

    pub(super) fn scalar(&mut self, o: &Operand) -> Result<String, CompileError> {
        match self.operand(o)? {
            Term::Sql(s) | Term::Nullable(s) | Term::Json(s) => Ok(s),
            Term::Null => Ok("NULL".into()),
            Term::Multi { .. } | Term::Item { .. } => Err(invalid(
                "a multi-valued path can only be compared, not passed to a function",
            )),
        }
    }

    /// The pattern of a LIKE. A bound pattern that starts with a
    /// wildcard is written as an expression (`?N || ''`), not a bare
    /// parameter: SQLite looks at a bare one for its prefix (LIKE on an
    /// index) and then prepares the statement again every time the
    /// parameter is bound, though a leading wildcard leaves no prefix to
    /// use (see the `store` module doc on statements staying prepared).
    fn like_pattern(&mut self, o: &Operand) -> Result<String, CompileError> {
        match o {
            // PocketBase wraps a plain literal in %…% and matches it literally;
            // a literal with a % of its own (not written `\%`) is the pattern.
            Operand::Str(s) if has_wildcard(s) => {
                let param = self.bind(Sql::Text(s.clone()));
                Ok(match s.starts_with(['%', '_']) {
                    true => format!("({param} || '')"),
                    false => param,
                })
            }
            Operand::Str(_) | Operand::Num(_) | Operand::Bool(_) => {
                let text = match o {
                    Operand::Str(s) => s.clone(),
                    Operand::Num(n) => Value::from(*n).to_string().trim_end_matches(".0").to_owned(),
                    Operand::Bool(b) => i64::from(*b).to_string(),
                    _ => String::new(),
                };
                let escaped = escape_like(&text);
                let param = self.bind(Sql::Text(format!("%{escaped}%")));
                Ok(format!("({param} || '')"))
            }
            other => {
                let sql = self.scalar(other)?;
                Ok(format!("('%' || {sql} || '%')"))
            }
        }
    }

    fn compare(
        &mut self,
        left: &Operand,
        op: Op,
        any_op: bool,
        right: &Operand,
    ) -> Result<String, CompileError> {
        self.comparing_any = any_op;
        let lhs = self.operand(left)?;
        if matches!(op, Op::Like | Op::NotLike) {
            let pattern = self.like_pattern(right)?;
            let not = if op == Op::NotLike { "NOT " } else { "" };
            return Ok(match lhs {
                Term::Multi { rows, value, .. } => {
                    let test = |v: &str| format!("{v} {not}LIKE {pattern} ESCAPE '\\'");
                    multi_compare(&rows, &test(&value), &test("NULL"), any_op)
                }
                Term::Item { value, list, .. } => {
                    // A missing item (an empty list) matches no pattern,
                    // stored or sent.
                    let test = |v: &str| format!("{v} {not}LIKE {pattern} ESCAPE '\\'");
                    let every = list.filter(|_| !any_op).map(|list| {
                        let (item, rows) = self.list_rows(&list);
                        (rows, test(&item))
                    });
                    item_compare(&test(&value), every)
                }
                Term::Nullable(l) | Term::Json(l) => format!("({l} {not}LIKE {pattern} ESCAPE '\\')"),
                Term::Sql(l) => format!("(COALESCE({l}, '') {not}LIKE {pattern} ESCAPE '\\')"),
                Term::Null => format!("('' {not}LIKE {pattern} ESCAPE '\\')"),
            });
        }
        let rhs = self.operand(right)?;
        self.compare_terms(lhs, op, any_op, rhs)
    }

    /// `lhs op rhs`, for terms already made (see `compare`).
    fn compare_terms(&mut self, lhs: Term, op: Op, any_op: bool, rhs: Term) -> Result<String, CompileError> {
        // `'a' ?= tags.name` is `tags.name ?= 'a'`, `1 < tags.n` is
        // `tags.n > 1`, as PocketBase reads them: the many values are
        // compared from the left, the operator mirrored.
        if matches!(rhs, Term::Multi { .. })
            && !matches!(lhs, Term::Multi { .. } | Term::Item { .. })
            && let Some(mirrored) = op.mirrored()
        {
            return self.compare_terms(rhs, mirrored, any_op, lhs);
        }
        if let Term::Item { value, list, sent } = lhs {
            return self.compare_item(&value, list, sent, op, any_op, rhs);
        }
        if let Some(sql) = json_equality(&lhs, op, &rhs) {
            return Ok(sql);
        }
        // Compared otherwise, a JSON value is a value that may be missing.
        let as_nullable = |t: Term| match t {
            Term::Json(x) => Term::Nullable(x),
            other => other,
        };
        let (lhs, rhs) = (as_nullable(lhs), as_nullable(rhs));
        let sym = op.as_str();
        let equality = matches!(op, Op::Eq | Op::Neq);
        // Missing values (no related record, a NULL json value): equal to
        // the empty string for = and !=, unmatched by anything else.
        let settle = |t: Term| match t {
            Term::Nullable(x) if equality => Term::Sql(format!("COALESCE({x}, '')")),
            Term::Nullable(x) => Term::Sql(x),
            other => other,
        };
        let (lhs, rhs) = (settle(lhs), settle(rhs));
        let missing = if equality { "''" } else { "NULL" };
        Ok(match (lhs, rhs) {
            (Term::Multi { rows, value, .. }, Term::Sql(r)) => {
                let test = |v: &str| format!("{v} {sym} {r}");
                multi_compare(&rows, &test(&value), &test(missing), any_op)
            }
            (Term::Multi { rows, value, .. }, Term::Null) => {
                let test = |v: &str| format!("COALESCE({v}, '') {sym} ''");
                multi_compare(&rows, &test(&value), &test(missing), any_op)
            }
            (_, Term::Multi { .. }) => {
                return Err(invalid(
                    "a multi-valued relation path must be on the left of a comparison",
                ));
            }
            (_, Term::Item { .. }) => {
                return Err(invalid(":each must be on the left of a comparison with a value"));
            }
            // Nothing orders against `null`, itself included, as in
            // PocketBase (whose `null` is SQL's NULL there).
            (Term::Null, Term::Null) => match op {
                Op::Eq => "1".into(),
                _ => "0".into(),
            },
            (Term::Sql(x), Term::Null) | (Term::Null, Term::Sql(x)) => match op {
                Op::Eq => format!("({x} IS NULL OR {x} = '')"),
                Op::Neq => format!("({x} IS NOT NULL AND {x} != '')"),
                // NULL, never true; `x` stays in, its parameters bound.
                _ => format!("({x} {sym} NULL)"),
            },
            (Term::Sql(l), Term::Sql(r)) => format!("({l} {sym} {r})"),
            // `settle` leaves no missing-value terms behind.
            (Term::Nullable(_) | Term::Json(_), _)
            | (_, Term::Nullable(_) | Term::Json(_))
            | (Term::Item { .. }, _) => {
                return Err(invalid("unsupported comparison"));
            }
        })
    }

    /// An item of a list under `:each` (`value`, see `Term::Item`)
    /// against `rhs`, as PocketBase compares one. A stored item's `=` and
    /// `!=` take a missing one (an empty list) for the empty value; a sent
    /// one is compared as it is: NULL equals nothing, not even `''`, and
    /// differs from everything. Orderings of a missing item fail, `null`
    /// included. A plain operator on a multiple field also needs every
    /// item of `list` to pass, a missing one read as the empty value; the
    /// `?` forms need only the one.
    fn compare_item(
        &mut self,
        value: &str,
        list: Option<String>,
        sent: bool,
        op: Op,
        any_op: bool,
        rhs: Term,
    ) -> Result<String, CompileError> {
        let sym = op.as_str();
        let direct = match (&rhs, op) {
            (Term::Multi { .. } | Term::Item { .. }, _) => {
                return Err(invalid(":each must be on the left of a comparison with a value"));
            }
            (_, Op::Eq | Op::Neq) if !sent => {
                self.compare_terms(Term::Nullable(value.to_owned()), op, false, rhs.clone())?
            }
            (Term::Null, Op::Eq) => format!("{value} = ''"),
            (Term::Null, Op::Neq) => format!("{value} IS NOT ''"),
            (Term::Null, _) => format!("{value} {sym} NULL"),
            (Term::Nullable(r) | Term::Json(r), Op::Eq) => format!("{value} = COALESCE({r}, '')"),
            (Term::Nullable(r) | Term::Json(r), Op::Neq) => format!("{value} IS NOT COALESCE({r}, '')"),
            (Term::Sql(r), Op::Neq) => format!("{value} IS NOT {r}"),
            (Term::Sql(r) | Term::Nullable(r) | Term::Json(r), _) => format!("{value} {sym} {r}"),
        };
        let every = match list.filter(|_| !any_op) {
            Some(list) => {
                let (item, rows) = self.list_rows(&list);
                let test = self.compare_terms(Term::Nullable(item), op, false, rhs)?;
                Some((rows, test))
            }
            None => None,
        };
        Ok(item_compare(&direct, every))
    }

    /// The items of a JSON list (`list`, SQL), for the every-item check
    /// of `compare_item`: (an item, their rows). An empty list has one
    /// row, a missing item, as PocketBase's joins leave one.
    fn list_rows(&mut self, list: &str) -> (String, String) {
        let alias = self.alias();
        (
            format!("{alias}.value"),
            format!("(SELECT 1) LEFT JOIN json_each({list}) {alias} ON 1"),
        )
    }

    pub(super) fn expr(&mut self, e: &Expr) -> Result<String, CompileError> {
        match e {
            Expr::And(parts) | Expr::Or(parts) => {
                let joiner = if matches!(e, Expr::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                let sql: Vec<String> = parts.iter().map(|p| self.expr(p)).collect::<Result<_, _>>()?;
                Ok(format!("({})", sql.join(joiner)))
            }
            Expr::Compare {
                left, op, any, right, ..
            } => self.compare(left, *op, *any, right),
        }
    }
}

/// `=` or `!=` with a JSON value on either side (`Term::Json`) and a
/// single value on the other, as PocketBase makes it: `IS` and `IS NOT`,
/// `null` as SQL's NULL. `None` for anything else, compared as values
/// that may be missing.
fn json_equality(lhs: &Term, op: Op, rhs: &Term) -> Option<String> {
    if !matches!(lhs, Term::Json(_)) && !matches!(rhs, Term::Json(_)) {
        return None;
    }
    let is = match op {
        Op::Eq => "IS",
        Op::Neq => "IS NOT",
        _ => return None,
    };
    let sql = |t: &Term| match t {
        Term::Sql(x) | Term::Nullable(x) | Term::Json(x) => Some(x.clone()),
        Term::Null => Some("NULL".to_owned()),
        Term::Multi { .. } | Term::Item { .. } => None,
    };
    Some(format!("({} {is} {})", sql(lhs)?, sql(rhs)?))
}

/// `direct` (the comparison of one item), and when `every` is given,
/// (rows, test): no row fails `test` (a NULL test does not fail).
fn item_compare(direct: &str, every: Option<(String, String)>) -> String {
    match every {
        Some((rows, test)) => format!("({direct} AND NOT EXISTS (SELECT 1 FROM {rows} WHERE NOT ({test})))"),
        None => format!("({direct})"),
    }
}

/// Compares through a multi-valued relation, as PocketBase's joins do:
/// over the related rows, for at least one (`any`) or for every one; with
/// no related row, the test runs once on the empty value (`empty_test`).
fn multi_compare(rows: &str, test: &str, empty_test: &str, any: bool) -> String {
    let none = format!("NOT EXISTS (SELECT 1 FROM {rows})");
    if any {
        format!("(EXISTS (SELECT 1 FROM {rows} AND ({test})) OR ({none} AND ({empty_test})))")
    } else {
        format!(
            "(NOT EXISTS (SELECT 1 FROM {rows} AND NOT ({test})) AND (EXISTS (SELECT 1 FROM {rows}) OR ({empty_test})))"
        )
    }
}

/// Whether a `~` literal has a `%` of its own: one not escaped by a
/// backslash.
fn has_wildcard(s: &str) -> bool {
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '%' => return true,
            _ => {}
        }
    }
    false
}

/// A literal made to match itself in a LIKE with `ESCAPE '\'`: `%`, `_`
/// and a lone backslash are escaped, while what the writer escaped
/// already (`\%`, `\_`, `\\`) is kept, as PocketBase keeps it.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&next @ ('%' | '_' | '\\')) => {
                    out.push('\\');
                    out.push(next);
                    chars.next();
                }
                _ => out.push_str("\\\\"),
            },
            '%' | '_' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}
