//! The filter language's grammar, into a typed expression tree:
//!
//! ```text
//! expr    := and ( "||" and )*
//! and     := term ( "&&" term )*
//! term    := "(" expr ")" | operand op operand
//! operand := string | number | true | false | null | path | name "(" operand ("," operand)* ")"
//! ```
//!
//! `&&` binds tighter than `||`, as PocketBase evaluates them. Parsing is
//! bounded (length, comparisons, nesting) and never panics.

use super::lexer::{LexError, Op, Spanned, Token, tokenize};

pub const MAX_LENGTH: usize = 3500;
pub const MAX_COMPARISONS: usize = 200;
pub const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A field path or macro, as written (`author.name`, `@request.auth.id`).
    Path {
        name: String,
        at: usize,
    },
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Call {
        name: String,
        args: Vec<Operand>,
        at: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Compare {
        left: Operand,
        op: Op,
        /// `?` form: "at least one" instead of "every".
        any: bool,
        right: Operand,
        at: usize,
    },
}

impl Expr {
    /// The plain field names it compares (no relation path, macro or
    /// `@` variable), in order of first use: what an index on the
    /// collection's own columns could serve.
    pub fn plain_fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_fields(&mut out);
        out
    }

    fn collect_fields(&self, out: &mut Vec<String>) {
        match self {
            Self::And(items) | Self::Or(items) => items.iter().for_each(|e| e.collect_fields(out)),
            Self::Compare { left, right, .. } => {
                for side in [left, right] {
                    if let Operand::Path { name, .. } = side
                        && !name.contains('.')
                        && !name.starts_with('@')
                        && !out.contains(name)
                    {
                        out.push(name.clone());
                    }
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub at: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at character {})", self.message, self.at + 1)
    }
}

impl From<LexError> for ParseError {
    fn from(e: LexError) -> Self {
        Self {
            at: e.at,
            message: e.message,
        }
    }
}

struct Parser {
    tokens: Vec<Spanned>,
    pos: usize,
    end: usize,
    comparisons: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Spanned> {
        self.tokens.get(self.pos)
    }

    fn at(&self) -> usize {
        self.peek().map_or(self.end, |t| t.at)
    }

    fn fail<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            at: self.at(),
            message: message.into(),
        })
    }

    fn expr(&mut self, depth: usize) -> Result<Expr, ParseError> {
        if depth > MAX_DEPTH {
            return self.fail("the expression is nested too deeply");
        }
        let mut parts = vec![self.and(depth)?];
        while matches!(self.peek().map(|t| &t.token), Some(Token::Or)) {
            self.pos += 1;
            parts.push(self.and(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let mut parts = vec![self.term(depth)?];
        while matches!(self.peek().map(|t| &t.token), Some(Token::And)) {
            self.pos += 1;
            parts.push(self.term(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn term(&mut self, depth: usize) -> Result<Expr, ParseError> {
        if matches!(self.peek().map(|t| &t.token), Some(Token::LParen)) {
            self.pos += 1;
            let inner = self.expr(depth + 1)?;
            if !matches!(self.peek().map(|t| &t.token), Some(Token::RParen)) {
                return self.fail("expected )");
            }
            self.pos += 1;
            return Ok(inner);
        }
        let at = self.at();
        let left = self.operand(depth)?;
        let (op, any) = match self.peek() {
            Some(Spanned {
                token: Token::Op(op),
                any,
                ..
            }) => (*op, *any),
            _ => return self.fail("expected a comparison operator"),
        };
        self.pos += 1;
        let right = self.operand(depth)?;
        self.comparisons += 1;
        if self.comparisons > MAX_COMPARISONS {
            return self.fail(format!("more than {MAX_COMPARISONS} comparisons"));
        }
        Ok(Expr::Compare {
            left,
            op,
            any,
            right,
            at,
        })
    }

    fn operand(&mut self, depth: usize) -> Result<Operand, ParseError> {
        let Some(token) = self.peek().cloned() else {
            return self.fail("unexpected end of the expression");
        };
        self.pos += 1;
        Ok(match token.token {
            Token::Str(s) => Operand::Str(s),
            Token::Num(n) => Operand::Num(n),
            Token::Ident(name) => match name.as_str() {
                "true" => Operand::Bool(true),
                "false" => Operand::Bool(false),
                "null" => Operand::Null,
                _ if matches!(self.peek().map(|t| &t.token), Some(Token::LParen)) => {
                    if depth + 1 > MAX_DEPTH {
                        return self.fail("the expression is nested too deeply");
                    }
                    self.pos += 1;
                    let mut args = Vec::new();
                    if !matches!(self.peek().map(|t| &t.token), Some(Token::RParen)) {
                        loop {
                            args.push(self.operand(depth + 1)?);
                            match self.peek().map(|t| &t.token) {
                                Some(Token::Comma) => self.pos += 1,
                                Some(Token::RParen) => break,
                                _ => return self.fail("expected , or )"),
                            }
                        }
                    }
                    self.pos += 1;
                    Operand::Call {
                        name,
                        args,
                        at: token.at,
                    }
                }
                _ => Operand::Path { name, at: token.at },
            },
            _ => {
                self.pos -= 1;
                return self.fail("expected a value or a field");
            }
        })
    }
}

/// Parsed expressions by their text: rules and common filters are parsed
/// once, not on every request. Compilation binds request values, so it
/// runs per request (it is a walk over a small tree).
static PARSED: std::sync::LazyLock<moka::sync::Cache<String, std::sync::Arc<Result<Expr, ParseError>>>> =
    std::sync::LazyLock::new(|| moka::sync::Cache::new(10_000));

/// `parse`, through the cache.
pub fn parse_cached(src: &str) -> std::sync::Arc<Result<Expr, ParseError>> {
    if let Some(hit) = PARSED.get(src) {
        return hit;
    }
    let parsed = std::sync::Arc::new(parse(src));
    PARSED.insert(src.to_owned(), parsed.clone());
    parsed
}

/// Parses a filter or rule expression.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    if src.len() > MAX_LENGTH {
        return Err(ParseError {
            at: MAX_LENGTH,
            message: format!("the expression is longer than {MAX_LENGTH} characters"),
        });
    }
    let tokens = tokenize(src)?;
    if tokens.is_empty() {
        return Err(ParseError {
            at: 0,
            message: "the expression is empty".into(),
        });
    }
    let mut p = Parser {
        tokens,
        pos: 0,
        end: src.len(),
        comparisons: 0,
    };
    let expr = p.expr(0)?;
    if p.pos < p.tokens.len() {
        return p.fail("unexpected token after the end of the expression");
    }
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng, rngs::StdRng};

    use super::*;

    fn cmp(field: &str, op: Op, value: Operand) -> Expr {
        Expr::Compare {
            left: Operand::Path {
                name: field.into(),
                at: 0,
            },
            op,
            any: false,
            right: value,
            at: 0,
        }
    }

    fn strip(e: Expr) -> Expr {
        match e {
            Expr::And(v) => Expr::And(v.into_iter().map(strip).collect()),
            Expr::Or(v) => Expr::Or(v.into_iter().map(strip).collect()),
            Expr::Compare {
                left, op, any, right, ..
            } => {
                let unspan = |o: Operand| match o {
                    Operand::Path { name, .. } => Operand::Path { name, at: 0 },
                    other => other,
                };
                Expr::Compare {
                    left: unspan(left),
                    op,
                    any,
                    right: unspan(right),
                    at: 0,
                }
            }
        }
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let e = strip(parse("a = 1 || b = 2 && c = 3").expect("parses"));
        assert_eq!(
            e,
            Expr::Or(vec![
                cmp("a", Op::Eq, Operand::Num(1.0)),
                Expr::And(vec![
                    cmp("b", Op::Eq, Operand::Num(2.0)),
                    cmp("c", Op::Eq, Operand::Num(3.0))
                ]),
            ])
        );
        let e = strip(parse("(a = 1 || b = 2) && c = null").expect("parses"));
        assert!(matches!(e, Expr::And(ref v) if matches!(v[0], Expr::Or(_)) && v.len() == 2));
    }

    #[test]
    fn errors_say_where() {
        let e = parse("title = 'x' &&").expect_err("incomplete");
        assert_eq!(e.at, 14);
        assert!(parse("(a = 1").is_err());
        assert!(parse("a = 1)").is_err());
        assert!(parse("a").is_err());
        assert!(parse("   ").is_err());
        assert!(parse(&"(".repeat(100)).is_err());
        let many = vec!["a = 1"; 201].join(" && ");
        assert!(parse(&many).is_err());
        assert!(parse(&"x".repeat(3501)).is_err());
    }

    #[test]
    fn functions_and_macros() {
        let e = parse("geoDistance(lon, lat, 1.5, -2) < 25 && created > @now").expect("parses");
        let Expr::And(parts) = e else { panic!("and") };
        assert!(
            matches!(&parts[0], Expr::Compare { left: Operand::Call { name, args, .. }, .. } if name == "geoDistance" && args.len() == 4)
        );
    }

    /// Arbitrary input never panics: random strings over the language's
    /// alphabet and fully random bytes, many thousand of each.
    #[test]
    fn never_panics_on_arbitrary_input() {
        let mut rng = StdRng::seed_from_u64(0xCA1121);
        let pieces = [
            "a",
            "b.c",
            "@request.auth.id",
            ":length",
            "'x'",
            "\"y",
            "1",
            "-2.5",
            "=",
            "!=",
            "?=",
            "~",
            "!~",
            ">=",
            "&&",
            "||",
            "(",
            ")",
            ",",
            " ",
            "//",
            "\n",
            "null",
            "true",
            "f(",
            "\\",
            "?",
            "!",
            "@",
        ];
        for _ in 0..20_000 {
            let n = rng.random_range(0..24);
            let s: String = (0..n)
                .map(|_| pieces[rng.random_range(0..pieces.len())])
                .collect();
            let _ = parse(&s);
        }
        for _ in 0..20_000 {
            let n = rng.random_range(0..64);
            let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            let _ = parse(&String::from_utf8_lossy(&bytes));
        }
    }
}
