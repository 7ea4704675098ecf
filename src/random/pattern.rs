//! A random string that a regular expression matches: how a text field's
//! `autogeneratePattern` (`[a-z0-9]{15}` for record ids) becomes a value,
//! as PocketBase draws one.
//!
//! The pattern is read by `regex-syntax`, the parser the `regex` crate
//! matches with, so what is drawn here is what a field's `pattern` check
//! will see; then its tree is walked, drawing at each choice: a character
//! of a class, a branch of an alternation, a count within a repetition's
//! bounds. Anchors and word boundaries match places, not characters, and
//! are refused (`PatternError::Unsupported`), as PocketBase refuses them.

use rand::Rng;
use regex_syntax::hir::{Class, Hir, HirKind};

/// How many more times than its minimum an open repetition (`+`, `*`,
/// `{3,}`) repeats at most.
const OPEN_EXTRA: u32 = 10;

/// The longest value drawn, in bytes: a pattern that asks for more
/// (`[a-z]{100000}`) is refused rather than filling memory.
const MAX_BYTES: usize = 16_384;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PatternError {
    #[error("{0}")]
    Invalid(String),
    #[error("the values it describes are longer than {MAX_BYTES} bytes")]
    TooLong,
    /// An anchor or a word boundary (`^`, `$`, `\b`): it matches a place,
    /// not a character, and PocketBase refuses it in a pattern to draw from.
    #[error("{0}")]
    Unsupported(String),
}

/// A random string the regular expression `pattern` describes.
pub fn from_pattern(pattern: &str) -> Result<String, PatternError> {
    let hir = regex_syntax::Parser::new()
        .parse(pattern)
        .map_err(|e| PatternError::Invalid(e.to_string()))?;
    repeats_within_bounds(&hir)?;
    match hir.properties().minimum_len() {
        None => return Err(PatternError::Invalid("the pattern matches nothing".into())),
        Some(n) if n > MAX_BYTES => return Err(PatternError::TooLong),
        Some(_) => {}
    }
    let mut out = String::new();
    draw(&hir, &mut rand::rng(), &mut out)?;
    Ok(out)
}

/// The largest count a repetition may give, as in Go's regular
/// expressions (PocketBase's): `{1001}` is not a pattern there.
const MAX_REPEAT: u32 = 1000;

fn repeats_within_bounds(hir: &Hir) -> Result<(), PatternError> {
    match hir.kind() {
        HirKind::Repetition(rep) => {
            if rep.min > MAX_REPEAT || rep.max.is_some_and(|m| m > MAX_REPEAT) {
                return Err(PatternError::Invalid(format!("a repeat count over {MAX_REPEAT}")));
            }
            repeats_within_bounds(&rep.sub)
        }
        HirKind::Capture(c) => repeats_within_bounds(&c.sub),
        HirKind::Concat(parts) | HirKind::Alternation(parts) => {
            parts.iter().try_for_each(repeats_within_bounds)
        }
        _ => Ok(()),
    }
}

fn draw(hir: &Hir, rng: &mut impl Rng, out: &mut String) -> Result<(), PatternError> {
    match hir.kind() {
        HirKind::Empty => {}
        HirKind::Look(look) => {
            return Err(PatternError::Unsupported(format!(
                "{look:?} matches a place, not a character"
            )));
        }
        HirKind::Literal(lit) => {
            let text = std::str::from_utf8(&lit.0)
                .map_err(|_| PatternError::Invalid("the pattern is not UTF-8 text".into()))?;
            out.push_str(text);
        }
        HirKind::Class(class) => out.push(pick(class, rng)?),
        HirKind::Repetition(rep) => {
            let most = rep.max.unwrap_or(rep.min.saturating_add(OPEN_EXTRA));
            // Past MAX_BYTES turns, a part that draws something has made
            // the value too long; one that may draw nothing (`(a?){9999999}`)
            // is matched as well by fewer turns, so they stop there.
            let turns = rng
                .random_range(rep.min..=most.max(rep.min))
                .min(MAX_BYTES as u32 + 1);
            for _ in 0..turns {
                draw(&rep.sub, rng, out)?;
                if out.len() > MAX_BYTES {
                    return Err(PatternError::TooLong);
                }
            }
        }
        HirKind::Capture(group) => draw(&group.sub, rng, out)?,
        HirKind::Concat(parts) => {
            for part in parts {
                draw(part, rng, out)?;
            }
        }
        HirKind::Alternation(branches) => {
            draw(&branches[rng.random_range(0..branches.len())], rng, out)?;
        }
    }
    if out.len() > MAX_BYTES {
        return Err(PatternError::TooLong);
    }
    Ok(())
}

/// One character of `class`, each equally likely.
fn pick(class: &Class, rng: &mut impl Rng) -> Result<char, PatternError> {
    let empty = || PatternError::Invalid("the pattern has a class that matches nothing".into());
    match class {
        Class::Unicode(c) => {
            let ranges = c
                .ranges()
                .iter()
                .map(|r| (u32::from(r.start()), u32::from(r.end())));
            let code = nth_in(ranges, rng).ok_or_else(empty)?;
            // A range that spans the surrogates (which no `char` is) falls
            // back to a character that is one.
            Ok(char::from_u32(code).unwrap_or('\u{FFFD}'))
        }
        Class::Bytes(c) => {
            let ranges = c
                .ranges()
                .iter()
                .map(|r| (u32::from(r.start()), u32::from(r.end())));
            match u8::try_from(nth_in(ranges, rng).ok_or_else(empty)?) {
                Ok(byte) if byte.is_ascii() => Ok(char::from(byte)),
                _ => Err(PatternError::Invalid("the pattern is not UTF-8 text".into())),
            }
        }
    }
}

/// A value drawn evenly from the inclusive `ranges`; `None` if they hold
/// none.
fn nth_in(ranges: impl Iterator<Item = (u32, u32)> + Clone, rng: &mut impl Rng) -> Option<u32> {
    let size = |(start, end): (u32, u32)| end - start + 1;
    let total: u32 = ranges.clone().map(size).sum();
    if total == 0 {
        return None;
    }
    let mut at = rng.random_range(0..total);
    for r in ranges {
        if at < size(r) {
            return Some(r.0 + at);
        }
        at -= size(r);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, value: &str) -> bool {
        regex::Regex::new(&format!("^(?:{pattern})$"))
            .expect("valid")
            .is_match(value)
    }

    #[test]
    fn draws_values_the_pattern_matches() {
        for pattern in [
            "[a-z0-9]{15}",
            "[a-zA-Z0-9]{50}",
            "[0-9]{15}",
            "inv_[A-Z]{3}-\\d{4}",
            "(red|green|blue)-[a-f]{2,4}",
            "x+y*z?",
            "(?i)abc",
            "[^a-z]{5}",
            "\\w{3}\\s\\w{3}",
            "",
            "é[α-ω]{2}",
        ] {
            for _ in 0..50 {
                let v = from_pattern(pattern).expect(pattern);
                assert!(matches(pattern, &v), "{pattern} drew {v:?}");
            }
        }
    }

    #[test]
    fn draws_each_count_of_a_bounded_repetition() {
        let lens: std::collections::BTreeSet<usize> = (0..300)
            .map(|_| from_pattern("a{2,5}").expect("valid").len())
            .collect();
        assert_eq!(lens.into_iter().collect::<Vec<_>>(), [2, 3, 4, 5]);
    }

    #[test]
    fn refuses_what_it_cannot_draw() {
        assert!(matches!(from_pattern("[a-z"), Err(PatternError::Invalid(_))));
        assert!(matches!(
            from_pattern("[^\\x00-\\x{10FFFF}]"),
            Err(PatternError::Invalid(_))
        ));
        // Go's bound on a repeat count, PocketBase's.
        assert!(matches!(
            from_pattern("[a-z]{100000}"),
            Err(PatternError::Invalid(_))
        ));
        assert!(matches!(
            from_pattern("(a?){4000000000}"),
            Err(PatternError::Invalid(_))
        ));
        assert!(from_pattern("[a-z]{1000}").is_ok());
        // Within every bound, but too long all the same.
        assert_eq!(from_pattern("([a-z]{1000}){1000}"), Err(PatternError::TooLong));
        // Places are not characters.
        for p in ["^abc", "abc$", "\\bx"] {
            assert!(
                matches!(from_pattern(p), Err(PatternError::Unsupported(_))),
                "{p}"
            );
        }
    }
}
