//! `page`, `perPage` and `skipTotal`, and the list envelope they produce,
//! with PocketBase's tolerance: a page below 1 is page 1, a `perPage`
//! below 1 is the default (30), above 1000 is 1000. What is not a number
//! (or, for `skipTotal`, a boolean as Go's `strconv.ParseBool` reads one)
//! is refused, spaces included, as PocketBase refuses it: `skipTotal=yes`
//! silently counting would answer a different envelope than it asked for.

use serde_json::{Value, json};

use super::QueryError;

pub const DEFAULT_PER_PAGE: u64 = 30;
pub const MAX_PER_PAGE: u64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: u64,
    pub per_page: u64,
    pub skip_total: bool,
}

fn integer(name: &str, raw: Option<&str>) -> Result<Option<i64>, QueryError> {
    match raw.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| QueryError::Invalid(format!("Invalid {name}: it must be a whole number."))),
    }
}

fn boolean(name: &str, raw: Option<&str>) -> Result<bool, QueryError> {
    match raw.unwrap_or("") {
        "" | "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        _ => Err(QueryError::Invalid(format!(
            "Invalid {name}: it must be true or false (or 1 or 0)."
        ))),
    }
}

impl Paging {
    pub fn parse(
        page: Option<&str>,
        per_page: Option<&str>,
        skip_total: Option<&str>,
    ) -> Result<Self, QueryError> {
        let page = integer("page", page)?.filter(|p| *p > 0).unwrap_or(1) as u64;
        let per_page = match integer("perPage", per_page)? {
            Some(n) if n > 0 => (n as u64).min(MAX_PER_PAGE),
            _ => DEFAULT_PER_PAGE,
        };
        Ok(Self {
            page,
            per_page,
            skip_total: boolean("skipTotal", skip_total)?,
        })
    }

    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.per_page)
    }

    /// `{page, perPage, totalItems, totalPages, items}`; with `skipTotal`
    /// the totals are -1, as PocketBase answers.
    pub fn envelope(&self, total: Option<u64>, items: Vec<Value>) -> Value {
        let (total_items, total_pages) = self.totals(total);
        json!({
            "page": self.page,
            "perPage": self.per_page,
            "totalItems": total_items,
            "totalPages": total_pages,
            "items": items,
        })
    }
}

impl Paging {
    fn totals(&self, total: Option<u64>) -> (i64, i64) {
        match total {
            Some(t) if !self.skip_total => (t as i64, t.div_ceil(self.per_page) as i64),
            _ => (-1, -1),
        }
    }

    /// The same envelope as `envelope`, byte for byte as it serializes,
    /// around `items`: a JSON array already written (records go straight
    /// from rows to bytes; see `records::list::answer`).
    pub fn envelope_json(&self, total: Option<u64>, items: &[u8]) -> Vec<u8> {
        use std::io::Write as _;
        let (total_items, total_pages) = self.totals(total);
        let mut out = Vec::with_capacity(items.len() + 96);
        out.extend_from_slice(b"{\"items\":");
        out.extend_from_slice(items);
        // Writing to a Vec cannot fail.
        let _ = write!(
            out,
            ",\"page\":{},\"perPage\":{},\"totalItems\":{total_items},\"totalPages\":{total_pages}}}",
            self.page, self.per_page
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_json_matches_envelope() {
        for (paging, total) in [
            (
                Paging::parse(Some("3"), Some("20"), None).expect("parse"),
                Some(41),
            ),
            (Paging::parse(None, None, Some("1")).expect("parse"), None),
        ] {
            let items = vec![json!({"id": "a", "n": 1}), json!({"id": "b"})];
            let bytes = serde_json::to_vec(&items).expect("items");
            assert_eq!(
                String::from_utf8(paging.envelope_json(total, &bytes)).expect("utf8"),
                paging.envelope(total, items).to_string()
            );
        }
    }

    #[test]
    fn tolerant_bounds_like_pocketbase() {
        let p = Paging::parse(Some("0"), Some("5000"), None).expect("parse");
        assert_eq!((p.page, p.per_page), (1, 1000));
        let p = Paging::parse(Some("-3"), Some("0"), Some("1")).expect("parse");
        assert_eq!((p.page, p.per_page, p.skip_total), (1, 30, true));
        assert!(Paging::parse(Some("abc"), None, None).is_err());
        assert!(Paging::parse(Some(" 2"), None, None).is_err());
        assert!(Paging::parse(None, None, Some("yes")).is_err());
        assert!(Paging::parse(None, None, Some("T")).expect("parse").skip_total);
        assert!(
            !Paging::parse(None, None, Some("False"))
                .expect("parse")
                .skip_total
        );
        let p = Paging::parse(Some("3"), Some("10"), None).expect("parse");
        assert_eq!(p.offset(), 20);
        assert_eq!(p.envelope(Some(21), vec![])["totalPages"], 3);
    }
}
