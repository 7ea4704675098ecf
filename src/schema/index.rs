//! `CREATE INDEX` statements as collections carry them: parsed just enough
//! to know the index's name and to point it at the collection's table, so
//! a renamed collection's indexes follow it. SQLite itself checks the rest
//! when the index is created.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    pub unique: bool,
    pub name: String,
    /// Everything after the table name: `(columns) [WHERE …]`.
    pub body: String,
}

fn take_word<'a>(s: &'a str, word: &str) -> Option<&'a str> {
    let s = s.trim_start();
    let head = s.get(..word.len())?;
    let rest = &s[word.len()..];
    (head.eq_ignore_ascii_case(word) && rest.starts_with(|c: char| c.is_whitespace() || c == '(' || c == '`'))
        .then_some(rest)
}

/// Reads one identifier, bare or quoted with backticks, double quotes or
/// brackets.
fn take_ident(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    let (close, body) = match s.chars().next()? {
        '`' => ('`', &s[1..]),
        '"' => ('"', &s[1..]),
        '[' => (']', &s[1..]),
        _ => {
            let end = s
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(s.len());
            return (end > 0).then(|| (s[..end].to_owned(), &s[end..]));
        }
    };
    let end = body.find(close)?;
    let name = &body[..end];
    (!name.is_empty()).then(|| (name.to_owned(), &body[end + 1..]))
}

impl IndexDef {
    pub fn parse(sql: &str) -> Option<Self> {
        let rest = take_word(sql, "CREATE")?;
        let (unique, rest) = match take_word(rest, "UNIQUE") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let mut rest = take_word(rest, "INDEX")?;
        if let Some(r) = take_word(rest, "IF") {
            rest = take_word(take_word(r, "NOT")?, "EXISTS")?;
        }
        let (name, rest) = take_ident(rest)?;
        let rest = take_word(rest, "ON")?;
        let (_table, rest) = take_ident(rest)?;
        let body = rest.trim().trim_end_matches(';').trim().to_owned();
        if !body.starts_with('(') || body.contains(';') {
            return None;
        }
        Some(Self { unique, name, body })
    }

    /// The statement for `table`, quoted the way PocketBase writes it.
    pub fn sql_for(&self, table: &str) -> String {
        format!(
            "CREATE {}INDEX `{}` ON `{}` {}",
            if self.unique { "UNIQUE " } else { "" },
            self.name,
            table,
            self.body
        )
    }
}

/// Whether one of `indexes` is UNIQUE on the one column `column` (a
/// partial index counts, as the email's `WHERE email != ''` does): what
/// makes a field usable as a sign-in identity, as in PocketBase.
pub fn has_unique_index(indexes: &[String], column: &str) -> bool {
    indexes.iter().any(|sql| {
        IndexDef::parse(sql)
            .filter(|ix| ix.unique)
            .is_some_and(|ix| ix.single_column().is_some_and(|c| c.eq_ignore_ascii_case(column)))
    })
}

/// Whether one of `indexes` lets `column = ?` in binary order be looked
/// up (and ranges of it read) without a scan, given the query also says
/// `column != ''`: an index on that one column, in its own (binary)
/// collation, whole or partial on `column != ''` (the email's default).
/// `auth::account` probes an email's spellings through it.
pub fn serves_binary_lookup(indexes: &[String], column: &str) -> bool {
    indexes.iter().any(|sql| {
        let Some((name, rest, Some(after))) = IndexDef::parse(sql).as_ref().and_then(IndexDef::one_column)
        else {
            return false;
        };
        // Only an order may follow the name: a collation (`NOCASE`) or an
        // expression orders the index otherwise.
        let plain = ["", "ASC", "DESC"].iter().any(|o| rest.eq_ignore_ascii_case(o));
        // `WHERE column != ''`, however the column is quoted.
        let partial_ok = after.is_empty()
            || take_word(&after, "WHERE")
                .and_then(take_ident)
                .is_some_and(|(c, cond)| {
                    c.eq_ignore_ascii_case(column) && cond.split_whitespace().collect::<String>() == "!=''"
                });
        name.eq_ignore_ascii_case(column) && plain && partial_ok
    })
}

impl IndexDef {
    /// The parts of a one-column index: the column, what follows it inside
    /// the parentheses (a collation, an order), and what follows them (a
    /// `WHERE`; `None` when the parenthesis is not closed), each trimmed;
    /// `None` for several columns.
    fn one_column(&self) -> Option<(String, String, Option<String>)> {
        let inner = self.body.strip_prefix('(')?.split(')').next()?;
        if inner.contains(',') {
            return None;
        }
        let after = self.body.get(inner.len() + 2..).map(|a| a.trim().to_owned());
        let (column, rest) = take_ident(inner)?;
        Some((column, rest.trim().to_owned(), after))
    }

    /// The indexed column when there is exactly one (its collation or
    /// order dropped).
    fn single_column(&self) -> Option<String> {
        self.one_column().map(|(column, ..)| column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_lookups_are_served_by_plain_one_column_indexes() {
        let serves = |sql: &str| serves_binary_lookup(&[sql.to_owned()], "email");
        assert!(serves(
            "CREATE UNIQUE INDEX `i` ON `users` (`email`) WHERE `email` != ''"
        ));
        assert!(serves("CREATE INDEX i ON users (email)"));
        assert!(serves(
            "create unique index i on users (\"email\" ASC) where email!=''"
        ));
        assert!(!serves("CREATE UNIQUE INDEX i ON users (email COLLATE NOCASE)"));
        assert!(!serves("CREATE UNIQUE INDEX i ON users (email, name)"));
        assert!(!serves("CREATE UNIQUE INDEX i ON users (name)"));
        assert!(!serves(
            "CREATE UNIQUE INDEX i ON users (email) WHERE verified = 1"
        ));
        assert!(!serves("CREATE UNIQUE INDEX i ON users (lower(email))"));
        assert!(!serves("CREATE UNIQUE INDEX i ON users (email"));
    }

    #[test]
    fn one_column_unique_indexes_count() {
        let has = |sql: &str, column| has_unique_index(&[sql.to_owned()], column);
        assert!(has(
            "CREATE UNIQUE INDEX `i` ON `users` (`email`) WHERE `email` != ''",
            "email"
        ));
        assert!(has(
            "CREATE UNIQUE INDEX i ON users (username COLLATE NOCASE)",
            "username"
        ));
        assert!(!has("CREATE INDEX `i` ON `users` (`username`)", "username"));
        assert!(!has(
            "CREATE UNIQUE INDEX `i` ON `users` (`username`, `email`)",
            "username"
        ));
        assert!(!has("CREATE UNIQUE INDEX `i` ON `users` (`email`)", "username"));
    }

    #[test]
    fn parses_and_retargets() {
        let idx =
            IndexDef::parse("CREATE UNIQUE INDEX `idx_email_x` ON `users` (`email`) WHERE `email` != ''")
                .expect("parses");
        assert!(idx.unique);
        assert_eq!(idx.name, "idx_email_x");
        assert_eq!(
            idx.sql_for("members"),
            "CREATE UNIQUE INDEX `idx_email_x` ON `members` (`email`) WHERE `email` != ''"
        );
        let plain = IndexDef::parse("create index if not exists idx_t on demo (t, n DESC)").expect("parses");
        assert!(!plain.unique);
        assert_eq!(plain.body, "(t, n DESC)");
    }

    #[test]
    fn rejects_what_is_not_one_create_index() {
        for bad in [
            "",
            "DROP TABLE users",
            "CREATE INDEX",
            "CREATE INDEX idx ON t",
            "CREATE INDEX idx ON t (a); DROP TABLE users",
            "CREATE TABLE x (a)",
        ] {
            assert_eq!(IndexDef::parse(bad), None, "{bad}");
        }
    }
}
