//! The `fields=` query parameter (not a schema field: see `schema::field`):
//! which keys of each record to return, as a comma list of paths
//! (`id,title,expand.author.name`), `*` for every key at a level, and
//! `:excerpt(max[, ellipsis])` for a plain-text excerpt of a field.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::query::QueryError;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct FieldsTree {
    all: bool,
    keys: BTreeMap<String, FieldsTree>,
    excerpt: Option<(usize, bool)>,
}

impl FieldsTree {
    pub fn parse(raw: &str) -> Result<Option<Self>, QueryError> {
        let mut root = Self::default();
        let mut any = false;
        for item in split_top_level(raw)
            .into_iter()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            any = true;
            let (path, excerpt) = match item.split_once(":excerpt(") {
                Some((p, args)) => {
                    let args = args
                        .strip_suffix(')')
                        .ok_or_else(|| QueryError::Invalid(format!("Invalid fields item {item:?}.")))?;
                    let mut parts = args.split(',').map(str::trim);
                    let max = parts
                        .next()
                        .and_then(|m| m.parse::<usize>().ok())
                        .ok_or_else(|| QueryError::Invalid(format!("Invalid excerpt length in {item:?}.")))?;
                    let ellipsis = matches!(parts.next(), Some("true" | "1"));
                    (p, Some((max, ellipsis)))
                }
                None => (item, None),
            };
            let mut node = &mut root;
            for segment in path.split('.') {
                if segment == "*" {
                    node.all = true;
                    break;
                }
                node = node.keys.entry(segment.to_owned()).or_default();
            }
            if excerpt.is_some() {
                node.excerpt = excerpt;
            }
        }
        Ok(any.then_some(root))
    }

    /// Keeps only the selected keys of `value` (recursing into objects and
    /// arrays of objects).
    pub fn apply(&self, value: &mut Value) {
        match value {
            Value::Array(items) => items.iter_mut().for_each(|i| self.apply(i)),
            Value::Object(map) => {
                let kept: Map<String, Value> = std::mem::take(map)
                    .into_iter()
                    .filter_map(|(k, mut v)| match self.keys.get(&k) {
                        Some(sub) => {
                            if let Some((max, ellipsis)) = sub.excerpt {
                                v = Value::String(excerpt(v.as_str().unwrap_or(""), max, ellipsis));
                            } else if !sub.keys.is_empty() || sub.all {
                                sub.apply(&mut v);
                            }
                            Some((k, v))
                        }
                        None if self.all => Some((k, v)),
                        None => None,
                    })
                    .collect();
                *map = kept;
            }
            _ => {}
        }
    }
}

/// Splits on commas outside parentheses (`a,b:excerpt(5,true)`).
fn split_top_level(raw: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0usize, 0, Vec::new());
    for (i, c) in raw.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(&raw[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&raw[start..]);
    out
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

    #[test]
    fn selects_nested_keys_and_excerpts() {
        let tree = FieldsTree::parse("id,body:excerpt(5,true),expand.author.name")
            .expect("ok")
            .expect("some");
        let mut v = json!({"id": "x", "title": "t", "body": "<p>Hello world</p>", "expand": {"author": {"name": "A", "email": "e"}}});
        tree.apply(&mut v);
        assert_eq!(
            v,
            json!({"id": "x", "body": "Hello...", "expand": {"author": {"name": "A"}}})
        );
        let all = FieldsTree::parse("*,expand.author.name")
            .expect("ok")
            .expect("some");
        let mut v = json!({"id": "x", "title": "t", "expand": {"author": {"name": "A", "email": "e"}}});
        all.apply(&mut v);
        assert_eq!(
            v,
            json!({"id": "x", "title": "t", "expand": {"author": {"name": "A"}}})
        );
        assert_eq!(FieldsTree::parse(" ").expect("ok"), None);
    }
}
