//! A rule's text split into its `&&` / `||` parts, as the parser groups
//! them (`&&` binds tighter than `||`; parentheses group), each part kept
//! as the text the superuser wrote so it can be shown and compiled on its
//! own. The rule tester (`records::ruletest`) evaluates every part against
//! one record to say which part hides it.
//!
//! Split on the tokens, not re-printed from the parsed tree: the parts are
//! then exactly the user's words (spacing, quotes, comments), and each part
//! is valid filter syntax by construction.

use super::{
    lexer::{Token, tokenize},
    parser::{ParseError, parse},
};

/// How a part's own parts are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joiner {
    And,
    Or,
}

impl Joiner {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::And => "&&",
            Self::Or => "||",
        }
    }
}

/// One part of an expression: a comparison (no `joiner`), or a group of
/// parts joined by one operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub text: String,
    pub joiner: Option<Joiner>,
    pub parts: Vec<Part>,
}

/// Splits `src` (which must parse) into its parts, recursively.
pub fn split(src: &str) -> Result<Part, ParseError> {
    parse(src)?;
    // It parsed, so it tokenizes and its parentheses balance.
    let tokens: Vec<(Token, usize)> = tokenize(src)
        .map_err(|e| ParseError {
            at: e.at,
            message: e.message,
        })?
        .into_iter()
        .map(|t| (t.token, t.at))
        .collect();
    Ok(node(src, &tokens, 0, src.len()))
}

/// The part made of `tokens`, which span `src[start..end]`.
fn node(src: &str, tokens: &[(Token, usize)], start: usize, end: usize) -> Part {
    let text = src[start..end].trim().to_owned();
    for (joiner, token) in [(Joiner::Or, Token::Or), (Joiner::And, Token::And)] {
        let cuts = top_level(tokens, &token);
        if cuts.is_empty() {
            continue;
        }
        let mut parts = Vec::new();
        let (mut from, mut from_byte) = (0, start);
        for &cut in cuts.iter().chain(std::iter::once(&tokens.len())) {
            let to_byte = tokens.get(cut).map_or(end, |t| t.1);
            parts.push(node(src, &tokens[from..cut], from_byte, to_byte));
            from = cut + 1;
            // `&&` and `||` are two bytes long.
            from_byte = to_byte + 2;
        }
        return Part {
            text,
            joiner: Some(joiner),
            parts,
        };
    }
    // `( … )` around the whole part: the group inside, with its own text.
    if let (Some((Token::LParen, open)), Some((Token::RParen, close))) = (tokens.first(), tokens.last())
        && closes_first(tokens) == Some(tokens.len() - 1)
    {
        let inner = node(src, &tokens[1..tokens.len() - 1], open + 1, *close);
        return Part { text, ..inner };
    }
    Part {
        text,
        joiner: None,
        parts: Vec::new(),
    }
}

/// Where `token` occurs outside every parenthesis.
fn top_level(tokens: &[(Token, usize)], token: &Token) -> Vec<usize> {
    let mut depth = 0usize;
    let mut cuts = Vec::new();
    for (i, (t, _)) in tokens.iter().enumerate() {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            t if depth == 0 && t == token => cuts.push(i),
            _ => {}
        }
    }
    cuts
}

/// The index of the parenthesis that closes the first token's.
fn closes_first(tokens: &[(Token, usize)]) -> Option<usize> {
    let mut depth = 0usize;
    for (i, (t, _)) in tokens.iter().enumerate() {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(p: &Part) -> Vec<&str> {
        p.parts.iter().map(|p| p.text.as_str()).collect()
    }

    #[test]
    fn a_comparison_is_one_part() {
        let p = split("owner = @request.auth.id").expect("parses");
        assert_eq!(p.text, "owner = @request.auth.id");
        assert_eq!(p.joiner, None);
        assert!(p.parts.is_empty());
    }

    #[test]
    fn or_splits_before_and_and_groups_keep_their_text() {
        let p = split("a = 1 && b = 2 || (c = 3 || d = 4)").expect("parses");
        assert_eq!(p.joiner, Some(Joiner::Or));
        assert_eq!(texts(&p), ["a = 1 && b = 2", "(c = 3 || d = 4)"]);
        assert_eq!(p.parts[0].joiner, Some(Joiner::And));
        assert_eq!(texts(&p.parts[0]), ["a = 1", "b = 2"]);
        assert_eq!(p.parts[1].joiner, Some(Joiner::Or));
        assert_eq!(texts(&p.parts[1]), ["c = 3", "d = 4"]);
    }

    #[test]
    fn function_calls_and_strings_are_not_cut() {
        let p = split("strftime('%Y', created) = '2024' && title ~ 'a && b'").expect("parses");
        assert_eq!(
            texts(&p),
            ["strftime('%Y', created) = '2024'", "title ~ 'a && b'"]
        );
        // Parentheses that do not wrap the whole part are left alone.
        let p = split("(a = 1) && (b = 2)").expect("parses");
        assert_eq!(texts(&p), ["(a = 1)", "(b = 2)"]);
        assert_eq!(p.parts[0].joiner, None);
    }

    #[test]
    fn what_does_not_parse_is_refused() {
        assert!(split("a = ").is_err());
        assert!(split("(a = 1").is_err());
    }
}
