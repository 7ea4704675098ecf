//! The tokens of a view query, for `select`: words, quoted names,
//! literals and signs, with comments and spaces dropped. Only what
//! typing a view's columns needs; SQLite reads the query for real.

/// One token of the query. Comments and spaces are dropped.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A bare word, as written: a keyword or a name.
    Word(String),
    /// A name in double quotes, backticks or brackets: never a keyword.
    Quoted(String),
    /// A string, number or blob literal, or a parameter.
    Literal,
    Open,
    Close,
    Comma,
    Dot,
    /// An operator or other sign, one character at a time.
    Sign(char),
}

/// Words that are never a name nor an alias where `select` looks for
/// one. Not SQLite's whole list: the ones that can stand where a name
/// could in a `SELECT` list or a `FROM`.
const KEYWORDS: &[&str] = &[
    "ALL",
    "AND",
    "AS",
    "ASC",
    "BETWEEN",
    "BY",
    "CASE",
    "CAST",
    "COLLATE",
    "CROSS",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "DESC",
    "DISTINCT",
    "ELSE",
    "END",
    "ESCAPE",
    "EXCEPT",
    "EXISTS",
    "FALSE",
    "FILTER",
    "FROM",
    "FULL",
    "GLOB",
    "GROUP",
    "HAVING",
    "IN",
    "INDEXED",
    "INNER",
    "INTERSECT",
    "IS",
    "ISNULL",
    "JOIN",
    "LEFT",
    "LIKE",
    "LIMIT",
    "MATCH",
    "NATURAL",
    "NOT",
    "NOTNULL",
    "NULL",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "OVER",
    "REGEXP",
    "RIGHT",
    "SELECT",
    "THEN",
    "TRUE",
    "UNION",
    "USING",
    "VALUES",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
];

impl Token {
    pub fn is_word(&self, word: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(word))
    }

    pub fn is_any(&self, words: &[&str]) -> bool {
        words.iter().any(|w| self.is_word(w))
    }

    /// The name this token is, if it can be one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Token::Word(w) if !self.is_any(KEYWORDS) => Some(w),
            Token::Quoted(q) => Some(q),
            _ => None,
        }
    }
}

/// The tokens of `sql`.
pub fn tokens(sql: &str) -> Vec<Token> {
    let chars: Vec<char> = sql.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(c) = at(i) {
        let next = at(i + 1);
        match c {
            c if c.is_whitespace() => i += 1,
            '-' if next == Some('-') => {
                while at(i).is_some_and(|c| c != '\n') {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                i += 2;
                while at(i).is_some() && !(at(i) == Some('*') && at(i + 1) == Some('/')) {
                    i += 1;
                }
                i += 2;
            }
            '\'' => {
                i = quoted(&chars, i).1;
                out.push(Token::Literal);
            }
            'x' | 'X' if next == Some('\'') => {
                i = quoted(&chars, i + 1).1;
                out.push(Token::Literal);
            }
            '"' | '`' | '[' => {
                let (name, end) = quoted(&chars, i);
                out.push(Token::Quoted(name));
                i = end;
            }
            c if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) => {
                i += 1;
                while let Some(d) = at(i) {
                    let exponent_sign = matches!(d, '+' | '-') && matches!(at(i - 1), Some('e' | 'E'));
                    if !(d.is_ascii_alphanumeric() || d == '.' || d == '_' || exponent_sign) {
                        break;
                    }
                    i += 1;
                }
                out.push(Token::Literal);
            }
            c if c.is_alphabetic() || c == '_' || !c.is_ascii() => {
                let start = i;
                while at(i).is_some_and(|d| d.is_alphanumeric() || d == '_' || d == '$' || !d.is_ascii()) {
                    i += 1;
                }
                out.push(Token::Word(chars[start..i].iter().collect()));
            }
            '?' | ':' | '@' | '$' => {
                i += 1;
                while at(i).is_some_and(|d| d.is_alphanumeric() || d == '_') {
                    i += 1;
                }
                out.push(Token::Literal);
            }
            '(' | ')' | ',' | '.' => {
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    ',' => Token::Comma,
                    _ => Token::Dot,
                });
                i += 1;
            }
            other => {
                out.push(Token::Sign(other));
                i += 1;
            }
        }
    }
    out
}

/// The text between the quote at `start` and its closing quote (a
/// doubled quote inside stands for one), and where it ends.
fn quoted(chars: &[char], start: usize) -> (String, usize) {
    let close = match chars[start] {
        '[' => ']',
        q => q,
    };
    let mut text = String::new();
    let mut i = start + 1;
    while let Some(&c) = chars.get(i) {
        if c == close {
            if close != ']' && chars.get(i + 1) == Some(&close) {
                text.push(c);
                i += 2;
                continue;
            }
            return (text, i + 1);
        }
        text.push(c);
        i += 1;
    }
    (text, i)
}
