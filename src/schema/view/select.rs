//! Just enough of a view query's SQL to type its columns the way
//! PocketBase does: the main `SELECT`'s result columns (each expression
//! and its alias) and the tables of its `FROM`, with their aliases. SQLite
//! has already checked the query when this runs, so this reads valid SQL
//! only, and gives up (`None`) rather than guess on what it does not
//! follow; every column is then typed `json`, which is always true.
//!
//! Why not SQLite's own column metadata? It follows a column through
//! subqueries and `WITH` tables to the table it came from, where
//! PocketBase (0.40.6, measured) types such a column `json`; an app moved
//! from PocketBase reads `1` there, not `true`. And it cannot say what an
//! expression is (`count(*)`, `CAST(x AS TEXT)`), which PocketBase types.

use super::tokens::{Token, tokens};

/// Words that end the `SELECT` list (with `FROM`) and the `FROM` clause.
const CLAUSES: &[&str] = &[
    "WHERE",
    "GROUP",
    "HAVING",
    "WINDOW",
    "ORDER",
    "LIMIT",
    "UNION",
    "INTERSECT",
    "EXCEPT",
];

/// Words that join one table of a `FROM` to the next.
const JOINS: &[&str] = &[
    "NATURAL", "LEFT", "RIGHT", "FULL", "INNER", "CROSS", "OUTER", "JOIN",
];

/// A result column: its expression and the alias it was given, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub expr: Vec<Token>,
    pub alias: Option<String>,
}

/// A table of the main `FROM`, as its columns are qualified.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A table or view of the database, named as written.
    Table { name: String, alias: Option<String> },
    /// A subquery, a `WITH` table, a table function or a table of another
    /// schema: nothing a collection describes.
    Other { alias: Option<String> },
}

impl Source {
    /// Whether a column qualified with `name` is from this table.
    pub fn answers_to(&self, name: &str) -> bool {
        match self {
            Source::Table { alias: Some(a), .. } | Source::Other { alias: Some(a) } => {
                a.eq_ignore_ascii_case(name)
            }
            Source::Table { name: table, .. } => table.eq_ignore_ascii_case(name),
            Source::Other { alias: None } => false,
        }
    }
}

/// The main `SELECT` of a view query.
#[derive(Debug, Clone, PartialEq)]
pub struct Outline {
    pub columns: Vec<Column>,
    /// In order: the first is the table unqualified columns are read from,
    /// as PocketBase reads them.
    pub sources: Vec<Source>,
}

/// What a view query may not be, although SQLite would run it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("The view query must be a single SELECT statement.")]
    NotSelect,
    #[error(
        "The view query cannot select * (all columns): name each column the view should have, so its fields do not change under it when a table does."
    )]
    Wildcard,
    #[error(
        "The view query must be a single SELECT, not a UNION, INTERSECT or EXCEPT of several (select from them as a subquery: SELECT id, … FROM (… UNION …))."
    )]
    Compound,
}

/// The outline of `sql`, `None` where it is not followed; `Err` for what a
/// view query may not be.
pub fn outline(sql: &str) -> Result<Option<Outline>, Refusal> {
    let tokens = tokens(sql);
    // Subqueries and `WITH` bodies are in parentheses, so a compound
    // operator outside all of them joins the main query's selects.
    let mut depth = 0usize;
    for t in &tokens {
        match t {
            Token::Open => depth += 1,
            Token::Close => depth = depth.saturating_sub(1),
            t if depth == 0 && t.is_any(&["UNION", "INTERSECT", "EXCEPT"]) => return Err(Refusal::Compound),
            _ => {}
        }
    }
    let mut cursor = Cursor {
        tokens: &tokens,
        at: 0,
    };
    let Some(withs) = cursor.with_tables() else {
        return Ok(None);
    };
    if !cursor.eat("SELECT") {
        return Err(Refusal::NotSelect);
    }
    let _ = cursor.eat("DISTINCT") || cursor.eat("ALL");
    let columns = cursor.columns();
    if columns.iter().any(|c| is_wildcard(&c.expr)) {
        return Err(Refusal::Wildcard);
    }
    let sources = if cursor.eat("FROM") {
        match cursor.sources(&withs) {
            Some(sources) => sources,
            None => return Ok(None),
        }
    } else {
        Vec::new()
    };
    Ok(Some(Outline { columns, sources }))
}

fn is_wildcard(expr: &[Token]) -> bool {
    matches!(expr, [Token::Sign('*')] | [_, Token::Dot, Token::Sign('*')])
}

struct Cursor<'a> {
    tokens: &'a [Token],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, word: &str) -> bool {
        let found = self.peek().is_some_and(|t| t.is_word(word));
        if found {
            self.at += 1;
        }
        found
    }

    fn name(&mut self) -> Option<String> {
        let name = self.peek()?.name()?.to_owned();
        self.at += 1;
        Some(name)
    }

    /// The tokens from the `(` here to its `)`, both included.
    fn group(&mut self) -> &'a [Token] {
        let start = self.at;
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            self.at += 1;
            match t {
                Token::Open => depth += 1,
                Token::Close => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
        &self.tokens[start..self.at]
    }

    /// The names of a `WITH` clause's tables, if there is one; `None`
    /// where the clause is not followed.
    fn with_tables(&mut self) -> Option<Vec<String>> {
        let mut names = Vec::new();
        if !self.eat("WITH") {
            return Some(names);
        }
        self.eat("RECURSIVE");
        loop {
            names.push(self.name()?);
            if self.peek() == Some(&Token::Open) {
                self.group(); // its column names
            }
            if !self.eat("AS") {
                return None;
            }
            self.eat("NOT");
            self.eat("MATERIALIZED");
            if self.peek() != Some(&Token::Open) {
                return None;
            }
            self.group();
            if self.peek() != Some(&Token::Comma) {
                return Some(names);
            }
            self.at += 1;
        }
    }

    /// The result columns, up to the `FROM` or whatever follows them.
    fn columns(&mut self) -> Vec<Column> {
        let mut columns = Vec::new();
        let mut expr = Vec::new();
        while let Some(t) = self.peek() {
            if t.is_word("FROM") || t.is_any(CLAUSES) {
                break;
            }
            match t {
                Token::Comma => {
                    columns.push(column(std::mem::take(&mut expr)));
                    self.at += 1;
                }
                Token::Open => expr.extend_from_slice(self.group()),
                t => {
                    expr.push(t.clone());
                    self.at += 1;
                }
            }
        }
        columns.push(column(expr));
        columns
    }

    /// The tables of a `FROM`, joined by commas or `JOIN`s.
    fn sources(&mut self, withs: &[String]) -> Option<Vec<Source>> {
        let mut sources = Vec::new();
        loop {
            let table = match self.peek()? {
                Token::Open => {
                    self.group();
                    None
                }
                _ => {
                    let name = self.name()?;
                    if self.peek() == Some(&Token::Dot) {
                        self.at += 1;
                        self.name()?;
                        None // schema.table: not a collection, as PocketBase sees it
                    } else if self.peek() == Some(&Token::Open) {
                        self.group(); // a table function
                        None
                    } else if withs.iter().any(|w| w.eq_ignore_ascii_case(&name)) {
                        None // a WITH table hides a collection of the same name
                    } else {
                        Some(name)
                    }
                }
            };
            let alias = if self.eat("AS") {
                let alias = after_as(self.peek()?)?;
                self.at += 1;
                Some(alias)
            } else {
                self.name()
            };
            sources.push(match table {
                Some(name) => Source::Table { name, alias },
                None => Source::Other { alias },
            });
            if self.eat("INDEXED") {
                self.eat("BY");
                self.name()?;
            } else if self.peek().is_some_and(|t| t.is_word("NOT")) {
                self.at += 2; // NOT INDEXED
            }
            if self.eat("ON") {
                self.skip_join_condition();
            } else if self.eat("USING") && self.peek() == Some(&Token::Open) {
                self.group();
            }
            match self.peek() {
                Some(Token::Comma) => self.at += 1,
                Some(t) if t.is_any(JOINS) => {
                    while self.peek().is_some_and(|t| t.is_any(JOINS) && !t.is_word("JOIN")) {
                        self.at += 1;
                    }
                    if !self.eat("JOIN") {
                        return None;
                    }
                }
                _ => return Some(sources),
            }
        }
    }

    fn skip_join_condition(&mut self) {
        while let Some(t) = self.peek() {
            if matches!(t, Token::Comma) || t.is_any(JOINS) || t.is_any(CLAUSES) {
                return;
            }
            if matches!(t, Token::Open) {
                self.group();
            } else {
                self.at += 1;
            }
        }
    }
}

/// A result column's tokens, its alias split off: `expr AS name` or
/// `expr name`.
fn column(mut tokens: Vec<Token>) -> Column {
    let n = tokens.len();
    if n >= 3
        && tokens[n - 2].is_word("AS")
        && let Some(alias) = after_as(&tokens[n - 1])
    {
        tokens.truncate(n - 2);
        return Column {
            expr: tokens,
            alias: Some(alias),
        };
    }
    // A bare alias follows what ends an operand: a name, a literal, `)`.
    let ends_operand = |t: &Token| t.name().is_some() || matches!(t, Token::Literal | Token::Close);
    if n >= 2
        && ends_operand(&tokens[n - 2])
        && let Some(alias) = tokens[n - 1].name().map(str::to_owned)
    {
        tokens.truncate(n - 1);
        return Column {
            expr: tokens,
            alias: Some(alias),
        };
    }
    Column {
        expr: tokens,
        alias: None,
    }
}

/// The alias after an `AS`: any word will do there, keywords too
/// (`AS by`), as SQLite has accepted it.
fn after_as(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) | Token::Quoted(w) => Some(w.clone()),
        _ => None,
    }
}

/// `name` or `table.name`: the column an expression is, if it is one.
pub fn reference(expr: &[Token]) -> Option<(Option<&str>, &str)> {
    match expr {
        [name] => Some((None, name.name()?)),
        [table, Token::Dot, name] => Some((Some(table.name()?), name.name()?)),
        _ => None,
    }
}

/// `f(…)`, the whole expression: the function's name and its arguments.
pub fn call(expr: &[Token]) -> Option<(&str, &[Token])> {
    let [Token::Word(function), Token::Open, inner @ .., Token::Close] = expr else {
        return None;
    };
    // The last `)` must close the first `(`, not a later one: `f(a) + (b)`.
    let mut depth = 0usize;
    for t in inner {
        match t {
            Token::Open => depth += 1,
            Token::Close if depth == 0 => return None,
            Token::Close => depth -= 1,
            _ => {}
        }
    }
    Some((function, inner))
}

/// The type a `CAST(… AS type)`'s arguments name, when it is one word.
pub fn cast_type(inner: &[Token]) -> Option<&str> {
    match inner {
        [.., as_, Token::Word(type_name)] if as_.is_word("AS") => Some(type_name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(w: &str) -> Token {
        Token::Word(w.into())
    }

    #[test]
    fn tokens_skip_comments_and_keep_quoted_names_whole() {
        let t = tokens("SELECT /* a, b */ \"x \"\"y\", [a b], `c``d`, 'it''s', x'00', 1.5e-3 -- , z\nFROM t");
        assert_eq!(
            t,
            vec![
                word("SELECT"),
                Token::Quoted("x \"y".into()),
                Token::Comma,
                Token::Quoted("a b".into()),
                Token::Comma,
                Token::Quoted("c`d".into()),
                Token::Comma,
                Token::Literal,
                Token::Comma,
                Token::Literal,
                Token::Comma,
                Token::Literal,
                word("FROM"),
                word("t"),
            ]
        );
    }

    #[test]
    fn the_outline_has_each_column_and_table_with_its_alias() {
        let o = outline(
            "WITH w(a) AS NOT MATERIALIZED (SELECT 1 FROM x UNION SELECT 2), v AS (SELECT 3)
             SELECT DISTINCT p.id, f(a, (b)) AS c, q d, e FROM posts AS p
             LEFT OUTER JOIN people a ON a.id = p.author AND a.n IN (1, 2)
             JOIN w USING (a), (SELECT 1) s, json_each(p.tags) j NATURAL JOIN v INDEXED BY i
             WHERE 1 GROUP BY p.id ORDER BY 1 LIMIT 5",
        )
        .expect("accepted")
        .expect("followed");
        let aliases: Vec<_> = o.columns.iter().map(|c| c.alias.as_deref()).collect();
        assert_eq!(aliases, [None, Some("c"), Some("d"), None]);
        assert_eq!(o.columns[0].expr, [word("p"), Token::Dot, word("id")]);
        assert_eq!(reference(&o.columns[2].expr), Some((None, "q")));
        assert_eq!(call(&o.columns[1].expr).map(|(f, _)| f), Some("f"));
        let table = |name: &str, alias: Option<&str>| Source::Table {
            name: name.into(),
            alias: alias.map(Into::into),
        };
        let other = |alias: Option<&str>| Source::Other {
            alias: alias.map(Into::into),
        };
        assert_eq!(
            o.sources,
            [
                table("posts", Some("p")),
                table("people", Some("a")),
                other(None),
                other(Some("s")),
                other(Some("j")),
                other(None),
            ]
        );
        assert!(o.sources[0].answers_to("P") && !o.sources[0].answers_to("posts"));
    }

    #[test]
    fn calls_and_casts_are_whole_expressions_only() {
        let expr = |sql: &str| {
            outline(&format!("SELECT {sql} FROM t"))
                .expect("accepted")
                .expect("followed")
                .columns[0]
                .expr
                .clone()
        };
        assert!(call(&expr("f(a) + g(b)")).is_none());
        assert!(call(&expr("f(a) + (b)")).is_none());
        let cast = expr("CAST((a) AS Text)");
        let (f, args) = call(&cast).expect("a call");
        assert_eq!((f, cast_type(args)), ("CAST", Some("Text")));
        assert_eq!(
            cast_type(call(&expr("CAST(a AS TEXT(10))")).expect("a call").1),
            None
        );
    }

    #[test]
    fn what_is_not_followed_is_none_and_what_is_refused_says_so() {
        assert_eq!(outline("SELECT a FROM t NATURAL b"), Ok(None));
        assert_eq!(outline("WITH x SELECT 1"), Ok(None));
        assert_eq!(outline("SELECT * FROM t"), Err(Refusal::Wildcard));
        assert_eq!(
            outline("SELECT a FROM t UNION SELECT b FROM u"),
            Err(Refusal::Compound)
        );
        assert_eq!(
            outline("WITH x AS (SELECT 1) VALUES (1)"),
            Err(Refusal::NotSelect)
        );
        assert!(outline("SELECT a FROM (SELECT b FROM u UNION SELECT c FROM v)").is_ok_and(|o| o.is_some()));
    }
}
