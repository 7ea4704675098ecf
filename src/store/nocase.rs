//! Case-insensitive look-ups through a binary index. SQLite cannot use
//! an index in its default (binary) collation for `col = ? COLLATE
//! NOCASE`, so such a query reads the whole table; an auth collection's
//! email index is binary (as PocketBase makes it), and Cairn finds an
//! account by its address in any case. `held_spellings` finds the values
//! the column holds that equal a value but for the case of ASCII letters
//! (exactly what `NOCASE` equals) through the index instead, one letter at
//! a time: a prefix is followed further only if some value starts with
//! it, so a look-up costs about two index probes a letter, however many
//! rows the table has. The caller checks first that such an index exists
//! (`schema::index::serves_binary_lookup`); without one each probe would be
//! a scan.

use rusqlite::Connection;

/// Up to `max` values of `col` in `table` (both quoted for SQL) that equal
/// `value` but for the case of ASCII letters, `value` itself first when it
/// is held; never the empty value. The probes say `col != ''` so that an
/// index partial on that (the email's) serves them.
pub fn held_spellings(
    conn: &Connection,
    table: &str,
    col: &str,
    value: &str,
    max: usize,
) -> rusqlite::Result<Vec<String>> {
    let mut found = Vec::new();
    if value.is_empty() || max == 0 {
        return Ok(found);
    }
    let mut held = conn.prepare_cached(&format!("SELECT 1 FROM {table} WHERE {col} = ?1 AND {col} != ''"))?;
    if held.exists([value])? {
        found.push(value.to_owned());
    }
    let mut starts = conn.prepare_cached(&format!(
        "SELECT 1 FROM {table} WHERE {col} >= ?1 AND {col} < ?2 AND {col} != '' LIMIT 1"
    ))?;
    // (where in `value` to go on from, the prefix spelled up to there);
    // the letters are found as the walk reaches them, so a long value
    // that no address starts like costs nothing past its first probes.
    let mut pending = vec![(0, String::new())];
    while let Some((from, prefix)) = pending.pop() {
        if found.len() >= max {
            break;
        }
        let rest = &value[from..];
        let Some(skip) = rest.bytes().position(|b| b.is_ascii_alphabetic()) else {
            let whole = prefix + rest;
            if whole != value && held.exists([&whole])? {
                found.push(whole);
            }
            continue;
        };
        let (between, at) = (&rest[..skip], from + skip);
        let b = value.as_bytes()[at];
        for case in [b.to_ascii_lowercase(), b.to_ascii_uppercase()] {
            // The values that start with `next` are those from `next` up
            // to it with its last letter one higher (ASCII: `z` + 1 is `{`).
            let next = format!("{prefix}{between}{}", case as char);
            let below = format!("{prefix}{between}{}", (case + 1) as char);
            if starts.exists([&next, &below])? {
                pending.push((at + 1, next));
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spellings found are those the `COLLATE NOCASE` scan finds, the
    /// exact one first, for every case pattern of the first letters of
    /// held addresses and of some nobody holds, with neighbours in binary
    /// order that a prefix's range must not take in (`a{`, `a[`, `az`: one
    /// past `z` and `Z`) and non-ASCII ones; and the probes read the index,
    /// not the table.
    #[test]
    fn spellings_are_found_through_the_index_as_the_scan_finds_them() {
        let conn = Connection::open_in_memory().expect("memory");
        conn.execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL DEFAULT '');
             CREATE UNIQUE INDEX idx_email ON users (email) WHERE email != '';",
        )
        .expect("table");
        let held = [
            "case@example.com",
            "CASE@example.com",
            "Case@Example.com",
            "single@example.com",
            "Ünï@x.com",
            "ünï@x.com",
            "a{b@x",
            "az@x",
            "a[b@x",
            "AZ@y",
            "Zed@x.io",
            "1+2@x",
            "",
            "",
        ];
        for e in held {
            conn.execute("INSERT INTO users (email) VALUES (?1)", [e])
                .expect("row");
        }
        for i in 0..300 {
            conn.execute(
                "INSERT INTO users (email) VALUES (?1)",
                [format!("user{i}@example.com")],
            )
            .expect("row");
        }
        let scan = |value: &str| -> Vec<String> {
            conn.prepare(
                "SELECT email FROM users WHERE email = ?1 COLLATE NOCASE AND email != '' ORDER BY email",
            )
            .and_then(|mut s| s.query_map([value], |r| r.get(0))?.collect())
            .expect("scan")
        };
        let mut asked = 0;
        for base in held
            .iter()
            .copied()
            .chain([
                "nobody@example.com",
                "user7@example.co",
                "USER12@EXAMPLE.COM",
                "a|b@x",
                "az@xx",
            ])
            .filter(|e| !e.is_empty())
        {
            for pattern in 0u32..64 {
                let spelled: String = base
                    .chars()
                    .enumerate()
                    .map(|(i, ch)| match (i < 6, pattern >> i & 1) {
                        (true, 1) => ch.to_ascii_uppercase(),
                        (true, _) => ch.to_ascii_lowercase(),
                        _ => ch,
                    })
                    .collect();
                let found = held_spellings(&conn, "users", "email", &spelled, usize::MAX).expect("probe");
                let expected = scan(&spelled);
                if expected.contains(&spelled) {
                    assert_eq!(found.first(), Some(&spelled), "the exact spelling first");
                }
                let mut sorted = found.clone();
                sorted.sort();
                assert_eq!(sorted, expected, "{spelled:?}");
                // A bound stops it early, keeping the exact one.
                let one = held_spellings(&conn, "users", "email", &spelled, 1).expect("probe");
                assert_eq!(one.len(), expected.len().min(1), "{spelled:?}");
                asked += 1;
            }
        }
        assert!(asked > 500);
        assert_eq!(
            held_spellings(&conn, "users", "email", "cAse@example.COM", 5)
                .expect("probe")
                .len(),
            3
        );
        assert!(
            held_spellings(&conn, "users", "email", "", 5)
                .expect("probe")
                .is_empty()
        );
        for sql in [
            "SELECT 1 FROM users WHERE email = ?1 AND email != ''",
            "SELECT 1 FROM users WHERE email >= ?1 AND email < ?2 AND email != '' LIMIT 1",
        ] {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .and_then(|mut s| {
                    let any = vec!["x"; s.parameter_count()];
                    s.query_map(rusqlite::params_from_iter(any), |r| r.get(3))?
                        .collect()
                })
                .expect("plan");
            assert!(
                plan.iter()
                    .all(|step| step.contains("USING COVERING INDEX idx_email")),
                "{sql}: {plan:?}"
            );
        }
    }
}
