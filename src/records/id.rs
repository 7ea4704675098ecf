//! Record ids as PocketBase makes them: 15 characters of `[a-z0-9]`.

use std::fmt;

pub const LEN: usize = 15;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordId(String);

impl RecordId {
    pub fn generate() -> Self {
        Self(crate::random::lower_alphanumeric(LEN))
    }

    /// Accepts a client-supplied id only if it has PocketBase's form.
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == LEN && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
            .then(|| Self(raw.to_owned()))
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
    fn generated_ids_parse() {
        for _ in 0..100 {
            let id = RecordId::generate();
            assert_eq!(RecordId::parse(id.as_str()), Some(id));
        }
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "short",
            "ABCDEFGHIJKLMNO",
            "abcdefghijklmn_",
            "abcdefghijklmnop",
        ] {
            assert_eq!(RecordId::parse(bad), None, "{bad}");
        }
    }
}
