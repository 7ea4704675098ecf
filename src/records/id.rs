//! Record ids: the typed value every record service takes, made once at
//! the edge from a path or a batch URL (`RecordId::parse`), or fresh
//! (`RecordId::generate`, 15 characters of `[a-z0-9]` as PocketBase
//! makes them; `RecordId::draw_for` as the collection's `id` field says).
//!
//! `parse` refuses only the empty id. Any other text can name a record:
//! the id field's pattern is the collection's own (a superuser may change
//! it) and a view's ids are whatever its query selects. So a malformed id
//! is one no record has, answered 404 by the lookup after the rules (a
//! guest asking a superusers-only collection hears 403 first), as
//! PocketBase answers; checking its form here would answer before the
//! rules do.

use std::fmt;

use crate::schema::{Collection, field::FieldKind};

pub const LEN: usize = 15;
/// What `generate` draws, as an `autogeneratePattern`.
const DEFAULT_PATTERN: &str = "[a-z0-9]{15}";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordId(String);

impl RecordId {
    pub fn generate() -> Self {
        Self(crate::random::lower_alphanumeric(LEN))
    }

    /// A new record's id, drawn from its collection's `id` field's
    /// `autogeneratePattern` (the default's quickly, by `generate`);
    /// `None` when the field has none: the client must send one, as
    /// PocketBase asks. A stored pattern nothing can be drawn from (saving
    /// one is refused) gives the default form, which the field's own
    /// checks then judge.
    pub fn draw_for(c: &Collection) -> Option<Self> {
        let pattern = match c.field("id").map(|f| &f.kind) {
            Some(FieldKind::Text {
                autogenerate_pattern, ..
            }) => autogenerate_pattern.as_str(),
            _ => DEFAULT_PATTERN,
        };
        match pattern {
            "" => None,
            DEFAULT_PATTERN => Some(Self::generate()),
            other => Some(crate::random::from_pattern(other).map_or_else(|_| Self::generate(), Self)),
        }
    }

    /// A client's id of a record to view, change or delete: `None` for
    /// the empty id, which no record has (the id field requires a value).
    pub fn parse(raw: &str) -> Option<Self> {
        (!raw.is_empty()).then(|| Self(raw.to_owned()))
    }

    /// Whether `raw` has the form of a generated id (15 of `[a-z0-9]`).
    pub fn has_default_form(raw: &str) -> bool {
        raw.len() == LEN && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_and_have_the_default_form() {
        for _ in 0..100 {
            let id = RecordId::generate();
            assert!(RecordId::has_default_form(id.as_str()));
            assert_eq!(RecordId::parse(id.as_str()), Some(id));
        }
    }

    #[test]
    fn ids_are_drawn_as_the_id_field_says() {
        let mut c = crate::schema::defaults::users();
        assert!(RecordId::draw_for(&c).is_some_and(|id| RecordId::has_default_form(id.as_str())));
        let set = |c: &mut Collection, to: &str| {
            let Some(FieldKind::Text {
                autogenerate_pattern, ..
            }) = c.fields.iter_mut().find(|f| f.name == "id").map(|f| &mut f.kind)
            else {
                panic!("an id field");
            };
            *autogenerate_pattern = to.into();
        };
        set(&mut c, "[0-9]{20}");
        let id = RecordId::draw_for(&c).expect("drawn");
        assert!(
            id.as_str().len() == 20 && id.as_str().bytes().all(|b| b.is_ascii_digit()),
            "{id}"
        );
        set(&mut c, "");
        assert_eq!(RecordId::draw_for(&c), None);
        set(&mut c, "[a-z");
        assert!(RecordId::draw_for(&c).is_some_and(|id| RecordId::has_default_form(id.as_str())));
    }

    #[test]
    fn only_the_empty_id_is_refused() {
        assert_eq!(RecordId::parse(""), None);
        for custom in ["short", "ABCDEFGHIJKLMNO", "my-id_2", "1"] {
            assert_eq!(
                RecordId::parse(custom).map(|id| id.to_string()),
                Some(custom.into())
            );
        }
    }

    #[test]
    fn tells_the_default_form() {
        for bad in [
            "",
            "short",
            "ABCDEFGHIJKLMNO",
            "abcdefghijklmn_",
            "abcdefghijklmnop",
        ] {
            assert!(!RecordId::has_default_form(bad), "{bad}");
        }
    }
}
