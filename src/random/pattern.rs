//! Random strings shaped by a regular expression: a text field's
//! `autogeneratePattern` (`[a-z0-9]{15}`, `INV-\d{6}`). The pattern is
//! read once into a small tree (`Pattern::parse`) and each value drawn
//! from it: literals, `.`, classes (`[a-z_]`, `[^…]`, `\d`, `\w`, `\s`,
//! `[[:alpha:]]`), groups with alternatives, and the repeats `?`, `*`,
//! `+`, `{n}`, `{n,}`, `{n,m}` (the open ones at most 10 times). Anchors
//! and the other assertions match places, not characters, and are
//! refused, as PocketBase refuses them.

use rand::{Rng, seq::IndexedRandom};

/// What `Pattern::parse` refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// Not a regular expression (an unclosed group, a bad repeat).
    #[error("{0}")]
    Invalid(String),
    /// A regular expression, but one that matches places (`^`, `$`,
    /// `\b`), which no drawn string can be.
    #[error("{0}")]
    Unsupported(String),
}

/// The most a repeat may ask for, as in Go's and Rust's regex syntax.
const MAX_REPEAT: u32 = 1000;
/// How many more times an open repeat (`*`, `+`, `{n,}`) may draw.
const OPEN_EXTRA: u32 = 10;
/// What a negated class and `.` draw from: printable ASCII.
const PRINTABLE: std::ops::RangeInclusive<u8> = b' '..=b'~';

#[derive(Debug, Clone)]
enum Node {
    /// One of these characters.
    Class(Vec<char>),
    /// One of these sequences.
    Alternatives(Vec<Vec<Node>>),
    Repeat(Box<Node>, u32, u32),
}

/// A parsed `autogeneratePattern`.
#[derive(Debug, Clone)]
pub struct Pattern(Vec<Node>);

impl Pattern {
    pub fn parse(pattern: &str) -> Result<Self, PatternError> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut parser = Parser { chars: &chars, at: 0 };
        let nodes = parser.alternatives()?;
        if parser.at < chars.len() {
            return Err(PatternError::Invalid(format!(
                "unexpected {:?}",
                chars[parser.at]
            )));
        }
        Ok(Self(vec![nodes]))
    }

    /// A string the pattern matches, drawn at random.
    pub fn draw(&self) -> String {
        let mut rng = rand::rng();
        let mut out = String::new();
        for node in &self.0 {
            draw(node, &mut rng, &mut out);
        }
        out
    }
}

fn draw(node: &Node, rng: &mut impl Rng, out: &mut String) {
    match node {
        Node::Class(chars) => {
            if let Some(c) = chars.choose(rng) {
                out.push(*c);
            }
        }
        Node::Alternatives(options) => {
            if let Some(seq) = options.choose(rng) {
                for n in seq {
                    draw(n, rng, out);
                }
            }
        }
        Node::Repeat(inner, min, max) => {
            for _ in 0..rng.random_range(*min..=*max) {
                draw(inner, rng, out);
            }
        }
    }
}

struct Parser<'a> {
    chars: &'a [char],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn next(&mut self) -> Result<char, PatternError> {
        let c = self
            .peek()
            .ok_or_else(|| PatternError::Invalid("the pattern ends too soon".into()))?;
        self.at += 1;
        Ok(c)
    }

    /// `a|b|…` up to a `)` or the end.
    fn alternatives(&mut self) -> Result<Node, PatternError> {
        let mut options = vec![self.sequence()?];
        while self.peek() == Some('|') {
            self.at += 1;
            options.push(self.sequence()?);
        }
        Ok(Node::Alternatives(options))
    }

    fn sequence(&mut self) -> Result<Vec<Node>, PatternError> {
        let mut seq = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            seq.push(self.repeat(atom)?);
        }
        Ok(seq)
    }

    fn atom(&mut self) -> Result<Node, PatternError> {
        match self.next()? {
            '(' => {
                // A non-capturing group reads the same.
                if self.chars[self.at..].starts_with(&['?', ':']) {
                    self.at += 2;
                }
                let inner = self.alternatives()?;
                if self.next()? != ')' {
                    return Err(PatternError::Invalid("missing closing )".into()));
                }
                Ok(inner)
            }
            '[' => self.class(),
            '.' => Ok(Node::Class(PRINTABLE.map(char::from).collect())),
            '\\' => self.escape(false).map(Node::Class),
            c @ ('^' | '$') => Err(PatternError::Unsupported(format!(
                "{c:?} matches a place, not a character"
            ))),
            c @ ('*' | '+' | '?' | '{') => Err(PatternError::Invalid(format!("{c:?} repeats nothing"))),
            ')' => Err(PatternError::Invalid("unexpected )".into())),
            c => Ok(Node::Class(vec![c])),
        }
    }

    /// After a `\`: the characters it stands for.
    fn escape(&mut self, in_class: bool) -> Result<Vec<char>, PatternError> {
        let c = self.next()?;
        Ok(match c {
            'd' => ('0'..='9').collect(),
            'w' => ('a'..='z')
                .chain('A'..='Z')
                .chain('0'..='9')
                .chain(['_'])
                .collect(),
            's' => vec![' '],
            'n' => vec!['\n'],
            't' => vec!['\t'],
            'b' | 'B' | 'A' | 'z' if !in_class => {
                return Err(PatternError::Unsupported(format!(
                    "\\{c} matches a place, not a character"
                )));
            }
            c if c.is_ascii_alphanumeric() => {
                return Err(PatternError::Invalid(format!("unknown escape \\{c}")));
            }
            c => vec![c],
        })
    }

    /// After a `[`: the class up to its `]`.
    fn class(&mut self) -> Result<Node, PatternError> {
        let negated = self.peek() == Some('^');
        if negated {
            self.at += 1;
        }
        let mut set: Vec<char> = Vec::new();
        let mut first = true;
        loop {
            let c = self
                .next()
                .map_err(|_| PatternError::Invalid("missing closing ]".into()))?;
            if c == ']' && !first {
                break;
            }
            first = false;
            let mut items = match c {
                '[' if self.peek() == Some(':') => self.posix()?,
                '\\' => self.escape(true)?,
                c => vec![c],
            };
            // A range: `a-z` (a `-` first, last or after a range is itself).
            if items.len() == 1
                && self.peek() == Some('-')
                && self.chars.get(self.at + 1).is_some_and(|&n| n != ']')
            {
                self.at += 1;
                let end = match self.next()? {
                    '\\' => *self.escape(true)?.first().unwrap_or(&'\0'),
                    e => e,
                };
                if end < items[0] {
                    return Err(PatternError::Invalid(format!("invalid range {}-{end}", items[0])));
                }
                items = (items[0]..=end).collect();
            }
            set.extend(items);
        }
        if negated {
            set = PRINTABLE.map(char::from).filter(|c| !set.contains(c)).collect();
        }
        set.sort_unstable();
        set.dedup();
        if set.is_empty() {
            return Err(PatternError::Invalid("a class that matches nothing".into()));
        }
        Ok(Node::Class(set))
    }

    /// After `[` inside a class, at `:`: `[:alpha:]` and its kind.
    fn posix(&mut self) -> Result<Vec<char>, PatternError> {
        let rest: String = self.chars[self.at..].iter().collect();
        let Some(end) = rest.find(":]") else {
            return Err(PatternError::Invalid("missing closing :]".into()));
        };
        let name = &rest[1..end];
        self.at += rest[..end + 2].chars().count();
        let lower = 'a'..='z';
        let upper = 'A'..='Z';
        let digit = '0'..='9';
        Ok(match name {
            "alpha" => lower.chain(upper).collect(),
            "digit" => digit.collect(),
            "alnum" => lower.chain(upper).chain(digit).collect(),
            "lower" => lower.collect(),
            "upper" => upper.collect(),
            "xdigit" => digit.chain('a'..='f').chain('A'..='F').collect(),
            "word" => lower.chain(upper).chain(digit).chain(['_']).collect(),
            "space" | "blank" => vec![' '],
            other => return Err(PatternError::Invalid(format!("unknown class [:{other}:]"))),
        })
    }

    /// The repeat after `atom`, if there is one.
    fn repeat(&mut self, atom: Node) -> Result<Node, PatternError> {
        let (min, max) = match self.peek() {
            Some('?') => (0, 1),
            Some('*') => (0, OPEN_EXTRA),
            Some('+') => (1, 1 + OPEN_EXTRA),
            Some('{') => {
                let close = self.chars[self.at..]
                    .iter()
                    .position(|&c| c == '}')
                    .ok_or_else(|| PatternError::Invalid("missing closing }".into()))?;
                let inside: String = self.chars[self.at + 1..self.at + close].iter().collect();
                let count = |s: &str| -> Result<u32, PatternError> {
                    s.parse::<u32>()
                        .ok()
                        .filter(|&n| n <= MAX_REPEAT)
                        .ok_or_else(|| PatternError::Invalid(format!("invalid repeat count {{{inside}}}")))
                };
                let (min, max) = match inside.split_once(',') {
                    None => (count(&inside)?, count(&inside)?),
                    Some((lo, "")) => (count(lo)?, count(lo)? + OPEN_EXTRA),
                    Some((lo, hi)) => (count(lo)?, count(hi)?),
                };
                if min > max {
                    return Err(PatternError::Invalid(format!(
                        "invalid repeat count {{{inside}}}"
                    )));
                }
                self.at += close;
                (min, max)
            }
            _ => return Ok(atom),
        };
        self.at += 1;
        // A lazy or possessive mark changes nothing for drawing.
        if matches!(self.peek(), Some('?' | '+')) {
            self.at += 1;
        }
        Ok(Node::Repeat(Box::new(atom), min, max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pattern draws strings its own regex matches.
    #[test]
    fn what_is_drawn_matches_the_pattern() {
        for pattern in [
            "[a-z0-9]{15}",
            "[a-zA-Z0-9]{50}",
            r"INV-\d{6}",
            r"\w{3}",
            "[[:alpha:]]{3}",
            "(ab|cd){2}",
            "a+b?",
            "x.y",
            "[^a-z]{4}",
            "[-_a]{3}",
            "(?:x|yy)*z",
            r"[\d.]{2,4}",
            "a{2,}",
            "",
        ] {
            let parsed = Pattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
            let re = regex::Regex::new(&format!("^(?:{pattern})$")).expect("a regex");
            for _ in 0..200 {
                let s = parsed.draw();
                assert!(re.is_match(&s), "{pattern} drew {s:?}");
            }
        }
    }

    #[test]
    fn open_repeats_and_alternatives_vary() {
        let p = Pattern::parse("(a|b)[0-9]{1,3}").expect("parses");
        let drawn: std::collections::HashSet<String> = (0..300).map(|_| p.draw()).collect();
        assert!(drawn.iter().any(|s| s.starts_with('a')) && drawn.iter().any(|s| s.starts_with('b')));
        assert!(drawn.iter().any(|s| s.len() == 2) && drawn.iter().any(|s| s.len() == 4));
    }

    #[test]
    fn places_and_broken_patterns_are_refused() {
        for p in ["^abc", "abc$", r"\bx"] {
            assert!(
                matches!(Pattern::parse(p), Err(PatternError::Unsupported(_))),
                "{p}"
            );
        }
        for p in [
            "(",
            "a)",
            "[a-",
            "[]",
            "a{1001}",
            "a{3,1}",
            "*a",
            r"\q",
            "[z-a]",
            "[[:nope:]]",
        ] {
            assert!(matches!(Pattern::parse(p), Err(PatternError::Invalid(_))), "{p}");
        }
    }
}
