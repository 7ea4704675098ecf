//! Email addresses, parsed once at the edge. The check is deliberately
//! simple (one `@`, a dotted domain, no spaces or control characters), as
//! a stricter syntax check rejects real addresses and proves nothing about
//! deliverability: verification mail does that.

use std::fmt;

use crate::validation::FieldError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

/// PocketBase's error for a field that is not an email address: every
/// place that refuses one (account flows, superusers, `email` fields, the
/// test-mail setting) answers with this.
pub fn invalid() -> FieldError {
    FieldError::new("validation_is_email", "Must be a valid email address.")
}

impl Email {
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if raw.len() > 254 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let (local, domain) = raw.rsplit_once('@')?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        (!local.is_empty() && local.len() <= 64 && !local.contains('@') && domain_ok)
            .then(|| Self(raw.to_owned()))
    }

    /// A required address, as one field's error: blank is
    /// `validation_required`, anything else unparsable `invalid()`.
    pub fn parse_required(raw: &str) -> Result<Self, FieldError> {
        if raw.trim().is_empty() {
            return Err(FieldError::required());
        }
        Self::parse(raw).ok_or_else(invalid)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in [
            "a@b.co",
            "first.last+tag@example.com",
            "x@sub.domain.org",
            "δοκιμή@παράδειγμα.δοκιμή",
        ] {
            assert!(Email::parse(ok).is_some(), "{ok}");
        }
    }

    #[test]
    fn a_required_address_names_its_problem() {
        let code = |raw: &str| Email::parse_required(raw).map_err(|e| e.code.into_owned());
        assert_eq!(code(" a@b.co "), Ok(Email("a@b.co".into())));
        assert_eq!(code(""), Err("validation_required".into()));
        assert_eq!(code("  "), Err("validation_required".into()));
        assert_eq!(code("x"), Err("validation_is_email".into()));
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a b@c.d",
            "a@b..c",
            "a@.b.c",
            "a@b.c.",
            "a@b@c.d",
        ] {
            assert!(Email::parse(bad).is_none(), "{bad}");
        }
    }
}
