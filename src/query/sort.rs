//! `sort`: a comma list of field names, `-` for descending (`+` or nothing
//! for ascending). Which names are allowed is the caller's to decide.
//! An empty `sort` is no sort, but an empty key inside one (`a,,b`, `a,`,
//! ` `) is refused, as PocketBase refuses it: a client that built the list
//! wrong hears so instead of getting an order it did not ask for.

use super::QueryError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub field: String,
    pub descending: bool,
}

pub fn parse_sort(raw: Option<&str>, allowed: impl Fn(&str) -> bool) -> Result<Vec<SortKey>, QueryError> {
    let mut keys = Vec::new();
    let raw = raw.unwrap_or("");
    if raw.is_empty() {
        return Ok(keys);
    }
    for part in raw.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(QueryError::Invalid("Invalid sort: an empty sort key.".to_owned()));
        }
        let (descending, field) = match part.strip_prefix('-') {
            Some(f) => (true, f),
            None => (false, part.strip_prefix('+').unwrap_or(part)),
        };
        if !allowed(field) {
            return Err(QueryError::Invalid(format!("Invalid sort field {field:?}.")));
        }
        keys.push(SortKey {
            field: field.to_owned(),
            descending,
        });
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_directions_and_refuses_unknown_fields() {
        let keys = parse_sort(Some("-created, name,+id"), |f| {
            ["created", "name", "id"].contains(&f)
        })
        .expect("ok");
        assert_eq!(keys.len(), 3);
        assert!(keys[0].descending && !keys[1].descending && !keys[2].descending);
        assert!(parse_sort(Some("nope"), |_| false).is_err());
        assert!(parse_sort(None, |_| false).expect("empty").is_empty());
        assert!(parse_sort(Some(""), |_| false).expect("empty").is_empty());
        for gap in ["a,,b", ",a", "a,", " "] {
            assert!(parse_sort(Some(gap), |_| true).is_err(), "{gap}");
        }
    }
}
