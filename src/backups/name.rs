//! Backup names, parsed once at the edge. As PocketBase accepts them: 1 to
//! 150 characters of `a-z0-9_-` ending in `.zip`. Scheduled backups carry
//! an `@auto_` prefix that no client can give, so pruning them never
//! touches a backup somebody made by hand.

use std::fmt;

use crate::validation::FieldError;

const MAX_LEN: usize = 150;
pub const AUTO_PREFIX: &str = "@auto_";

/// The key of a backup file in the backups folder: a name a client may
/// give, or one with the scheduler's `@auto_` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupName(String);

fn plain(name: &str) -> bool {
    name.strip_suffix(".zip").is_some_and(|stem| {
        !stem.is_empty()
            && stem
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    })
}

impl BackupName {
    /// A name as a client gives it (to create or upload a backup).
    pub fn parse(name: &str) -> Result<Self, FieldError> {
        if name.is_empty() || name.len() > MAX_LEN {
            return Err(FieldError::new(
                "validation_length_out_of_range",
                format!("The length must be between 1 and {MAX_LEN}."),
            )
            .with_params(serde_json::json!({"min": 1, "max": MAX_LEN})));
        }
        if !plain(name) {
            return Err(FieldError::bad_format());
        }
        Ok(Self(name.to_owned()))
    }

    /// The key of an existing backup (in a path): a client's name or a
    /// scheduled one. Anything else names no backup.
    pub fn key(key: &str) -> Option<Self> {
        let rest = key.strip_prefix(AUTO_PREFIX).unwrap_or(key);
        (key.len() <= MAX_LEN + AUTO_PREFIX.len() && plain(rest)).then(|| Self(key.to_owned()))
    }

    /// A fresh name for a backup made now: `cairn_backup_YYYYMMDDHHMMSS.zip`,
    /// with the scheduler's prefix when `auto`.
    pub fn generated(auto: bool) -> Self {
        let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S");
        let prefix = if auto { AUTO_PREFIX } else { "" };
        Self(format!("{prefix}cairn_backup_{stamp}.zip"))
    }

    pub fn is_auto(&self) -> bool {
        self.0.starts_with(AUTO_PREFIX)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BackupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_pocketbase_rules() {
        for ok in ["a.zip", "good_1-a.zip", &format!("{}.zip", "a".repeat(146))] {
            assert!(BackupName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "UP.zip",
            "noext",
            ".zip",
            "a.b.zip",
            "../x.zip",
            "a b.zip",
            "@auto_x.zip",
            &format!("{}.zip", "a".repeat(147)),
        ] {
            assert!(BackupName::parse(bad).is_err(), "{bad}");
        }
        assert!(BackupName::key("@auto_x.zip").is_some_and(|k| k.is_auto()));
        assert!(BackupName::key("../x.zip").is_none());
        assert!(BackupName::parse(BackupName::generated(false).as_str()).is_ok());
    }
}
