//! Tokens of PocketBase's filter language, each with its byte offset so
//! errors can say where they are.

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A field path or macro: `title`, `author.name`, `tags:length`,
    /// `@request.auth.id`, `@now`.
    Ident(String),
    Str(String),
    Num(f64),
    Op(Op),
    And,
    Or,
    LParen,
    RParen,
    Comma,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Like,
    NotLike,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Neq => "!=",
            Self::Gt => ">",
            Self::Gte => ">=",
            Self::Lt => "<",
            Self::Lte => "<=",
            Self::Like => "~",
            Self::NotLike => "!~",
        }
    }

    /// The operator with its sides swapped (`a < b` is `b > a`); `~` and
    /// `!~` have none.
    pub fn mirrored(self) -> Option<Self> {
        match self {
            Self::Eq | Self::Neq => Some(self),
            Self::Gt => Some(Self::Lt),
            Self::Gte => Some(Self::Lte),
            Self::Lt => Some(Self::Gt),
            Self::Lte => Some(Self::Gte),
            Self::Like | Self::NotLike => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Spanned {
    pub token: Token,
    pub at: usize,
    /// `?` before the operator: "any of" instead of "all of".
    pub any: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub at: usize,
    pub message: String,
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | '@')
}

pub fn tokenize(src: &str) -> Result<Vec<Spanned>, LexError> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let mut i = 0;
    let err = |at: usize, message: &str| LexError {
        at,
        message: message.to_owned(),
    };
    while i < chars.len() {
        let (at, c) = chars[i];
        let next = chars.get(i + 1).map(|(_, c)| *c);
        let push = |out: &mut Vec<Spanned>, token: Token, any: bool| out.push(Spanned { token, at, any });
        match c {
            c if c.is_whitespace() => i += 1,
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i].1 != '\n' {
                    i += 1;
                }
            }
            '(' => {
                push(&mut out, Token::LParen, false);
                i += 1;
            }
            ')' => {
                push(&mut out, Token::RParen, false);
                i += 1;
            }
            ',' => {
                push(&mut out, Token::Comma, false);
                i += 1;
            }
            '&' if next == Some('&') => {
                push(&mut out, Token::And, false);
                i += 2;
            }
            '|' if next == Some('|') => {
                push(&mut out, Token::Or, false);
                i += 2;
            }
            '\'' | '"' => {
                let quote = c;
                let mut text = String::new();
                i += 1;
                loop {
                    let Some(&(_, ch)) = chars.get(i) else {
                        return Err(err(at, "unterminated string"));
                    };
                    i += 1;
                    match ch {
                        // A backslash escapes a quote or itself; before
                        // anything else it is kept, as PocketBase keeps it,
                        // so `'50\%'` reaches a `~` as an escaped `%`.
                        '\\' => match chars.get(i) {
                            Some(&(_, escaped @ ('\'' | '"' | '\\'))) => {
                                text.push(escaped);
                                i += 1;
                            }
                            Some(_) => text.push('\\'),
                            None => return Err(err(at, "unterminated string")),
                        },
                        ch if ch == quote => break,
                        ch => text.push(ch),
                    }
                }
                push(&mut out, Token::Str(text), false);
            }
            '?' | '=' | '!' | '>' | '<' | '~' => {
                let any = c == '?';
                let start = if any { i + 1 } else { i };
                let a = chars.get(start).map(|(_, c)| *c);
                let b = chars.get(start + 1).map(|(_, c)| *c);
                let (op, len) = match (a, b) {
                    (Some('!'), Some('=')) => (Op::Neq, 2),
                    (Some('!'), Some('~')) => (Op::NotLike, 2),
                    (Some('>'), Some('=')) => (Op::Gte, 2),
                    (Some('<'), Some('=')) => (Op::Lte, 2),
                    (Some('='), Some('=')) => return Err(err(at, "unknown operator ==")),
                    (Some('='), _) => (Op::Eq, 1),
                    (Some('>'), _) => (Op::Gt, 1),
                    (Some('<'), _) => (Op::Lt, 1),
                    (Some('~'), _) => (Op::Like, 1),
                    _ => return Err(err(at, "unknown operator")),
                };
                push(&mut out, Token::Op(op), any);
                i = start + len;
            }
            c if c.is_ascii_digit()
                || (c == '-' && next.is_some_and(|n| n.is_ascii_digit() || n == '.'))
                || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) =>
            {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].1.is_ascii_digit() || chars[i].1 == '.') {
                    i += 1;
                }
                let end = chars.get(i).map_or(src.len(), |(o, _)| *o);
                let text = &src[at..end];
                let n = text
                    .parse::<f64>()
                    .map_err(|_| err(chars[start].0, "invalid number"))?;
                push(&mut out, Token::Num(n), false);
            }
            c if ident_char(c) => {
                let start = at;
                while i < chars.len() && ident_char(chars[i].1) {
                    i += 1;
                }
                let end = chars.get(i).map_or(src.len(), |(o, _)| *o);
                push(&mut out, Token::Ident(src[start..end].to_owned()), false);
            }
            _ => return Err(err(at, &format!("unexpected character {c:?}"))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_with_positions() {
        let t = tokenize("a.b ?!= 'x\\'y' && n>=-1.5 // note\n|| @now").expect("lexes");
        let kinds: Vec<&Token> = t.iter().map(|s| &s.token).collect();
        assert_eq!(
            kinds,
            [
                &Token::Ident("a.b".into()),
                &Token::Op(Op::Neq),
                &Token::Str("x'y".into()),
                &Token::And,
                &Token::Ident("n".into()),
                &Token::Op(Op::Gte),
                &Token::Num(-1.5),
                &Token::Or,
                &Token::Ident("@now".into()),
            ]
        );
        assert!(t[1].any);
        assert_eq!(t[3].at, 15);
    }

    #[test]
    fn rejects_what_is_not_the_language() {
        assert!(tokenize("t == 1").is_err());
        assert!(tokenize("t = 'open").is_err());
        assert!(tokenize("t = #").is_err());
    }
}
