//! The `fields=` query parameter (not a schema field: see `schema::field`):
//! which keys of a JSON answer to keep, as a comma list of paths
//! (`id,title,expand.author.name`), `*` for every key at a level, and
//! `:excerpt(max[, ellipsis])` for a plain-text excerpt of a string.
//!
//! PocketBase applies it to every JSON answer (records pick while they
//! are written, `records::answer`; everything else at the edge,
//! `http::middleware::fields`). Picking only ever removes keys or
//! shortens strings, so it can never show more than the answer held.
//!
//! The grammar follows what PocketBase 0.40 accepts, observed rather than
//! guessed (`tests/api/fields_everywhere.rs` asks both servers):
//! - items are split on commas outside parentheses and quotes (`'`, `"`,
//!   `` ` ``, kept as part of the key); an unclosed `(` or quote is an
//!   error; items are trimmed and empty ones dropped;
//! - an item is `path[:modifier]`, split at its first `:`; the path is
//!   not trimmed again (`a :excerpt(3)` names the key `"a "`), and one
//!   trailing `.` is ignored;
//! - a path's last segment `*` keeps every key of that level no other item
//!   names, with the item's modifier; a `*` before the end is a key;
//! - a path that ends at a key keeps that key's value whole, even where
//!   another item names something below it; two items for the same path:
//!   the last one's modifier wins;
//! - the only modifier is `excerpt`, its words separated by `(`, `)`, `,`
//!   and spaces: a length (an integer as Go's `ParseInt` with base 0 reads
//!   it, after dropping a decimal part; at least 1) and an optional
//!   ellipsis flag (true only as Go's `ParseBool` reads true). It changes
//!   strings only; other values are kept as they are.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// A `fields` value that does not parse. PocketBase answers it with its
/// generic 400, so the detail is for the log only.
#[derive(Debug, thiserror::Error)]
#[error("invalid fields parameter: {0}")]
pub struct FieldsError(String);

/// What to do with a value that is kept.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Keep {
    AsIs,
    Excerpt { max: usize, ellipsis: bool },
}

impl Keep {
    fn modify(self, value: &mut Value) {
        if let (Keep::Excerpt { max, ellipsis }, Value::String(s)) = (self, &mut *value) {
            *s = excerpt(s, max, ellipsis);
        }
    }
}

/// How deep a path is followed. No answer is deeper: serde_json reads
/// no JSON deeper than 128 levels, and a record's expansions add a few.
/// The tree is dropped, compared and cloned recursively, so an unbounded
/// `a.a.a…` from a query string would overflow a worker's stack (it did,
/// at a few thousand levels).
const MAX_DEPTH: usize = 256;

/// One level of the requested paths.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FieldsTree {
    keys: BTreeMap<String, FieldsTree>,
    /// `*` at this level: every key not in `keys`.
    star: Option<Keep>,
    /// A path ended at this key: its value is kept whole.
    whole: Option<Keep>,
}

impl FieldsTree {
    /// `None` when nothing is asked for (absent, empty, only commas).
    pub fn parse(raw: &str) -> Result<Option<Self>, FieldsError> {
        let mut root = Self::default();
        let mut any = false;
        'items: for item in split_items(raw)? {
            any = true;
            let (path, keep) = match item.split_once(':') {
                Some((path, modifier)) => (path, parse_modifier(modifier)?),
                None => (item, Keep::AsIs),
            };
            let path = path.strip_suffix('.').unwrap_or(path);
            let (last, parents) = match path.rsplit_once('.') {
                Some((parents, last)) => (last, Some(parents)),
                None => (path, None),
            };
            let mut node = &mut root;
            for (depth, segment) in parents.into_iter().flat_map(|p| p.split('.')).enumerate() {
                if depth == MAX_DEPTH {
                    // Deeper than any answer goes: the item names nothing
                    // down there, but its parents stand, as in PocketBase.
                    continue 'items;
                }
                node = node.keys.entry(segment.to_owned()).or_default();
            }
            if last == "*" {
                node.star = Some(keep);
            } else {
                node.keys.entry(last.to_owned()).or_default().whole = Some(keep);
            }
        }
        Ok(any.then_some(root))
    }

    /// Keeps only the selected keys of `value`: of an object, or of each
    /// object in an array. Other values are left as they are.
    pub fn apply(&self, value: &mut Value) {
        match value {
            Value::Object(map) => self.apply_map(map),
            Value::Array(items) => items.iter_mut().for_each(|item| {
                if let Value::Object(map) = item {
                    self.apply_map(map);
                }
            }),
            _ => {}
        }
    }

    fn apply_map(&self, map: &mut Map<String, Value>) {
        map.retain(|key, value| match (self.keys.get(key), self.star) {
            (Some(node), _) => {
                match node.whole {
                    Some(keep) => keep.modify(value),
                    None => node.apply(value),
                }
                true
            }
            (None, Some(keep)) => {
                keep.modify(value);
                true
            }
            (None, None) => false,
        });
    }
}

/// The items of `raw`: split on commas outside parentheses and quotes,
/// trimmed, empty ones dropped.
fn split_items(raw: &str) -> Result<Vec<&str>, FieldsError> {
    let (mut depth, mut quote, mut start, mut out) = (0usize, None, 0, Vec::new());
    for (i, c) in raw.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth = depth.saturating_sub(1),
            (None, ',') if depth == 0 => {
                out.push(&raw[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth > 0 || quote.is_some() {
        return Err(FieldsError(format!("unclosed parenthesis or quote in {raw:?}")));
    }
    out.push(&raw[start..]);
    Ok(out.into_iter().map(str::trim).filter(|s| !s.is_empty()).collect())
}

/// `excerpt(max[, ellipsis])`, its words separated by parentheses,
/// commas and spaces (so `excerpt (3, true)` and `excerpt(3)x` read as
/// PocketBase reads them).
fn parse_modifier(raw: &str) -> Result<Keep, FieldsError> {
    let invalid = || FieldsError(format!("invalid modifier {raw:?}"));
    let mut words = raw
        .split(|c: char| matches!(c, '(' | ')' | ',') || c.is_whitespace())
        .filter(|w| !w.is_empty());
    if words.next() != Some("excerpt") {
        return Err(invalid());
    }
    let args: Vec<&str> = words.collect();
    let (max, ellipsis) = match args.as_slice() {
        [max] => (*max, false),
        [max, flag] => (*max, matches!(*flag, "1" | "t" | "T" | "true" | "TRUE" | "True")),
        _ => return Err(invalid()),
    };
    let max = excerpt_length(max).ok_or_else(invalid)?;
    Ok(Keep::Excerpt { max, ellipsis })
}

/// A length as PocketBase reads one: a decimal part dropped (`2.9` is 2),
/// then an integer literal as Go writes one (`0x10`, `0o4`, `0b11`, `010`
/// octal, `1_000`), at least 1.
fn excerpt_length(raw: &str) -> Option<usize> {
    let whole = match raw.split_once('.') {
        Some((whole, fraction)) if fraction.bytes().all(|b| b.is_ascii_digit()) => whole,
        Some(_) => return None,
        None => raw,
    };
    let unsigned = whole.strip_prefix('+').unwrap_or(whole);
    let (radix, digits, prefixed) = match unsigned.get(..2) {
        Some("0x" | "0X") => (16, &unsigned[2..], true),
        Some("0o" | "0O") => (8, &unsigned[2..], true),
        Some("0b" | "0B") => (2, &unsigned[2..], true),
        _ if unsigned.len() > 1 && unsigned.starts_with('0') => (8, &unsigned[1..], true),
        _ => (10, unsigned, false),
    };
    // Go allows one underscore between digits, and after a base prefix.
    let body = if prefixed {
        digits.strip_prefix('_').unwrap_or(digits)
    } else {
        digits
    };
    if body.is_empty() || body.starts_with('_') || body.ends_with('_') || body.contains("__") {
        return None;
    }
    let n = u64::from_str_radix(&body.replace('_', ""), radix).ok()?;
    (n >= 1 && n <= i64::MAX as u64).then(|| usize::try_from(n).unwrap_or(usize::MAX))
}

/// Plain text of `html`, whitespace folded, cut to `max` characters.
pub fn excerpt(html: &str, max: usize, ellipsis: bool) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= max {
        return folded;
    }
    let mut cut: String = folded.chars().take(max).collect::<String>().trim_end().to_owned();
    if ellipsis {
        cut.push_str("...");
    }
    cut
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn picked(fields: &str, mut value: Value) -> Value {
        FieldsTree::parse(fields)
            .expect("ok")
            .expect("some")
            .apply(&mut value);
        value
    }

    #[test]
    fn selects_nested_keys_and_excerpts() {
        let v = json!({"id": "x", "title": "t", "body": "<p>Hello world</p>", "expand": {"author": {"name": "A", "email": "e"}}});
        assert_eq!(
            picked("id,body:excerpt(5,true),expand.author.name", v.clone()),
            json!({"id": "x", "body": "Hello...", "expand": {"author": {"name": "A"}}})
        );
        assert_eq!(
            picked("*,expand.author.name", v),
            json!({"id": "x", "title": "t", "body": "<p>Hello world</p>", "expand": {"author": {"name": "A"}}})
        );
        assert_eq!(FieldsTree::parse(" ").expect("ok"), None);
        assert_eq!(FieldsTree::parse(" , ,").expect("ok"), None);
    }

    #[test]
    fn a_whole_key_wins_over_a_path_below_it_and_the_last_modifier_wins() {
        let v = json!({"data": {"a": "1", "b": "2"}, "m": "Hello world"});
        assert_eq!(
            picked("data,data.a", v.clone()),
            json!({"data": {"a": "1", "b": "2"}})
        );
        assert_eq!(
            picked("data.a,data", v.clone()),
            json!({"data": {"a": "1", "b": "2"}})
        );
        assert_eq!(picked("m:excerpt(3),m", v.clone()), json!({"m": "Hello world"}));
        assert_eq!(picked("m,m:excerpt(3)", v.clone()), json!({"m": "Hel"}));
        assert_eq!(
            picked("*:excerpt(2)", v.clone()),
            json!({"data": {"a": "1", "b": "2"}, "m": "He"})
        );
        assert_eq!(picked("*.m", v.clone()), json!({}));
        assert_eq!(picked("m.", v.clone()), json!({"m": "Hello world"}));
        assert_eq!(
            picked("m.x.y", v),
            json!({"m": "Hello world"}),
            "a path below a string keeps it"
        );
    }

    #[test]
    fn a_path_deeper_than_any_answer_names_nothing_and_costs_no_stack() {
        let deep = format!("data.{}x", "a.".repeat(100_000));
        let tree = FieldsTree::parse(&deep).expect("ok").expect("some");
        let mut v = json!({"data": {"b": 1, "a": {"a": 1}}, "code": 200});
        tree.apply(&mut v);
        assert_eq!(v, json!({"data": {"a": {"a": 1}}}));
        let shallow = format!("{}x", "a.".repeat(MAX_DEPTH - 1));
        let tree = FieldsTree::parse(&shallow).expect("ok").expect("some");
        let mut v = json!({"a": {"a": "kept"}});
        tree.apply(&mut v);
        assert_eq!(v, json!({"a": {"a": "kept"}}), "a string on the way is kept");
    }

    #[test]
    fn excerpts_change_strings_only() {
        let v = json!({"n": 200, "b": false, "o": {"k": "v"}, "s": "abcdef"});
        assert_eq!(
            picked("n:excerpt(1),b:excerpt(1),o:excerpt(1),s:excerpt(2.9)", v),
            json!({"n": 200, "b": false, "o": {"k": "v"}, "s": "ab"})
        );
    }

    #[test]
    fn arrays_pick_their_objects() {
        assert_eq!(
            picked("id", json!([{"id": 1, "x": 2}, "s", [{"id": 3, "x": 4}]])),
            json!([{"id": 1}, "s", [{"id": 3, "x": 4}]])
        );
    }

    #[test]
    fn refuses_what_pocketbase_refuses() {
        for bad in [
            "a:excerpt(abc)",
            "a:excerpt()",
            "a:excerpt",
            "a:",
            "a:Excerpt(3)",
            "a:nope(1)",
            "a:excerpt(3",
            "a:excerpt(0)",
            "a:excerpt(-1)",
            "a:excerpt(1e1)",
            "a:excerpt(.5)",
            "a:excerpt(2.9.1)",
            "a:excerpt(2,true,x)",
            "a:excerpt(3):excerpt(4)",
            "a:b:excerpt(3)",
            "a:excerpt(9223372036854775808)",
            "mess(age",
            "code'x",
            "code,\"message",
            "code`",
        ] {
            assert!(FieldsTree::parse(bad).is_err(), "{bad}");
        }
        for good in [
            "a:excerpt(2,x)",
            "a:excerpt(3)x",
            "a:excerpt( 3 )",
            "a:excerpt (3)",
            "a:excerpt((3))",
            "a:excerpt(,3)",
            "a:excerpt(3,true,)",
            "a:excerpt(+3)",
            "a:excerpt(0x10)",
            "a:excerpt(010)",
            "a:excerpt(1_0)",
            "a:excerpt(2.)",
            "mess)age",
            "'a,b'",
            "a(b)c,d",
        ] {
            assert!(FieldsTree::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn reads_lengths_and_flags_as_pocketbase_does() {
        let keep = |raw: &str| {
            FieldsTree::parse(raw).expect("ok").expect("some").keys["a"]
                .whole
                .expect("whole")
        };
        let ex = |max, ellipsis| Keep::Excerpt { max, ellipsis };
        assert_eq!(keep("a:excerpt(0x10)"), ex(16, false));
        assert_eq!(keep("a:excerpt(010)"), ex(8, false));
        assert_eq!(keep("a:excerpt(0b11,T)"), ex(3, true));
        assert_eq!(keep("a:excerpt(1_0,TrUe)"), ex(10, false));
        assert_eq!(keep("a:excerpt(3)(4)"), ex(3, false));
        assert_eq!(keep("a:excerpt(3, 1)"), ex(3, true));
    }
}
