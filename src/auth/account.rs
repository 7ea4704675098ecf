//! An auth record as the account flows see it (address, verified state,
//! password hash, token key) and the one write they make to it. Every
//! change here goes through `change`, which bumps `updated`, invalidates
//! the auth cache and announces the change, so no flow forgets one.

use std::sync::Arc;

use rusqlite::{Connection, params_from_iter, types::Value as Sql};
use serde_json::{Map, Value};

use super::deps::AuthDeps;
use crate::{
    identity::password::Hasher,
    records::{
        events::{self, ChangeAction, RecordChange},
        reveal, shape,
    },
    schema::{Collection, field::FieldKind, index, sync::quote},
    store::{Database, StoreError},
};

/// Length of a fresh `tokenKey`, as PocketBase's.
const TOKEN_KEY_LEN: usize = 50;

#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub verified: bool,
    pub password_hash: String,
    pub token_key: String,
    /// The record as the API shows it.
    pub record: Map<String, Value>,
}

/// What a flow changes on an account; `None` leaves a column as it is.
#[derive(Debug, Default)]
pub struct Change {
    pub email: Option<String>,
    pub verified: Option<bool>,
    pub password_hash: Option<String>,
    /// A new token key revokes every token issued before.
    pub rotate_token_key: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("the account no longer exists")]
    Missing,
    #[error("the new email address is already in use")]
    EmailTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ChangeError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Store(err.into())
    }
}

/// The account whose `column` equals `value`; also password sign-in's
/// lookup by identity field. An email field compares case-insensitively,
/// for people who type `Ada@Example.com`, with the exact spelling first:
/// two accounts may differ only in case (PocketBase allows it), and each
/// is found by its own spelling; a spelling of neither finds none.
pub(crate) fn read_where(
    conn: &Connection,
    c: &Collection,
    column: &str,
    value: &str,
) -> rusqlite::Result<Option<Account>> {
    let at = |name: &str| c.fields.iter().position(|f| f.name == name);
    let (Some(email_at), Some(verified_at), Some(pw_at), Some(key_at)) =
        (at("email"), at("verified"), at("password"), at("tokenKey"))
    else {
        return Ok(None);
    };
    let email = c
        .field(column)
        .is_some_and(|f| matches!(f.kind, crate::schema::field::FieldKind::Email { .. }));
    let col = quote(column);
    let probed = email && !value.is_empty() && index::serves_binary_lookup(&c.indexes, column);
    // (the SQL, and the spelling it looks up as ?1; ?2 is always `value`)
    let (sql, spelling) = if probed {
        // The one spelling that stands for `value`, found through the
        // index: without it, `= ?1 COLLATE NOCASE` read every account.
        let Some(spelling) = spelling_of(conn, &quote(&c.name), &col, value)? else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT {}, {col} = ?2 COLLATE BINARY FROM {} WHERE {col} = ?1 AND {col} != '' LIMIT 2",
            shape::select_list(c),
            quote(&c.name),
        );
        (sql, spelling)
    } else if email {
        let sql = format!(
            "SELECT {}, {col} = ?2 COLLATE BINARY FROM {} WHERE {col} = ?1 COLLATE NOCASE
             ORDER BY {col} = ?2 COLLATE BINARY DESC LIMIT 2",
            shape::select_list(c),
            quote(&c.name),
        );
        (sql, value.to_owned())
    } else {
        let sql = format!(
            "SELECT {}, 1 FROM {} WHERE {col} = ?1 LIMIT 1",
            shape::select_list(c),
            quote(&c.name)
        );
        (sql, value.to_owned())
    };
    let exact_at = c.fields.len();
    let mut stmt = conn.prepare_cached(&sql)?;
    let bound = [spelling.as_str(), value];
    let used = stmt.parameter_count().min(bound.len());
    let mut rows = stmt.query(params_from_iter(&bound[..used]))?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let exact: bool = row.get(exact_at)?;
    let record = shape::row_to_json(c, row)?;
    let account = Account {
        id: record
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        email: row.get(email_at)?,
        verified: row.get(verified_at)?,
        password_hash: row.get(pw_at)?,
        token_key: row.get(key_at)?,
        record,
    };
    // Not the exact spelling, and another account also matches: which
    // one was meant cannot be told.
    if !exact && rows.next()?.is_some() {
        return Ok(None);
    }
    Ok(Some(account))
}

/// The spelling of `value` (it, or it with some ASCII letters in the
/// other case: what `= value COLLATE NOCASE` equals) that `col` of
/// `table` holds and that stands for it: `value` itself if held, else
/// the only other spelling held; `None` if there is none, or more than one
/// (which was meant cannot be told). Found through a binary index on
/// `col` (`index::serves_binary_lookup`), one letter at a time: a prefix
/// is followed further only if some value starts with it, so the probes
/// number about two per letter, not one per account.
fn spelling_of(conn: &Connection, table: &str, col: &str, value: &str) -> rusqlite::Result<Option<String>> {
    let mut held = conn.prepare_cached(&format!("SELECT 1 FROM {table} WHERE {col} = ?1 AND {col} != ''"))?;
    if held.exists([value])? {
        return Ok(Some(value.to_owned()));
    }
    let mut starts = conn.prepare_cached(&format!(
        "SELECT 1 FROM {table} WHERE {col} >= ?1 AND {col} < ?2 AND {col} != '' LIMIT 1"
    ))?;
    let letters: Vec<usize> = value
        .bytes()
        .enumerate()
        .filter(|(_, b)| b.is_ascii_alphabetic())
        .map(|(i, _)| i)
        .collect();
    let mut found: Option<String> = None;
    // (letters spelled so far, the prefix through the last of them)
    let mut pending = vec![(0, String::new())];
    while let Some((i, prefix)) = pending.pop() {
        let Some(&at) = letters.get(i) else {
            let whole = prefix + &value[letters.last().map_or(0, |l| l + 1)..];
            if whole != value && held.exists([&whole])? {
                if found.is_some() {
                    return Ok(None);
                }
                found = Some(whole);
            }
            continue;
        };
        let after_last = if i == 0 { 0 } else { letters[i - 1] + 1 };
        let between = &value[after_last..at];
        let b = value.as_bytes()[at];
        for case in [b.to_ascii_lowercase(), b.to_ascii_uppercase()] {
            // The values that start with `next` are those from `next` up
            // to it with its last letter one higher (ASCII: `z` + 1 is `{`).
            let next = format!("{prefix}{between}{}", case as char);
            let below = format!("{prefix}{between}{}", (case + 1) as char);
            if starts.exists([&next, &below])? {
                pending.push((i + 1, next));
            }
        }
    }
    Ok(found)
}

/// The account of `c` with this email address (case-insensitive).
pub async fn by_email(
    db: &Database,
    c: Arc<Collection>,
    email: String,
) -> Result<Option<Account>, StoreError> {
    db.read(move |conn| read_where(conn, &c, "email", &email).map_err(StoreError::from))
        .await
}

pub async fn by_id(db: &Database, c: Arc<Collection>, id: String) -> Result<Option<Account>, StoreError> {
    db.read(move |conn| read_where(conn, &c, "id", &id).map_err(StoreError::from))
        .await
}

/// Applies `change` to account `id` in one transaction and returns it as
/// it now is; the transaction hook hears of it inside (webhooks), and
/// the listener after the commit (the cached auth record goes, and
/// realtime subscribers get the update).
pub async fn change(
    auth: &AuthDeps<'_>,
    c: Arc<Collection>,
    id: &str,
    change: Change,
) -> Result<Account, ChangeError> {
    let (db, listener) = (auth.db, auth.listener);
    let (c2, id2) = (c.clone(), id.to_owned());
    // Told in the transaction, as every record write's hook is (webhooks).
    let (hook, catalog) = (auth.tx_hook.clone(), auth.schema.catalog());
    let (account, announced) = db
        .write(move |tx| {
            let previous = hook.before_update(tx, &c2, &id2)?;
            let mut sets = Vec::new();
            let mut params: Vec<Sql> = Vec::new();
            if let Some(email) = change.email {
                // Checked under the write lock: the address may have been
                // taken since the token was issued.
                let taken: bool = tx.query_row(
                    &format!(
                        "SELECT count(*) > 0 FROM {} WHERE email = ?1 COLLATE NOCASE AND id != ?2",
                        quote(&c2.name)
                    ),
                    [&email, &id2],
                    |r| r.get(0),
                )?;
                if taken {
                    return Err(ChangeError::EmailTaken);
                }
                sets.push("email");
                params.push(Sql::Text(email));
            }
            if let Some(verified) = change.verified {
                sets.push("verified");
                params.push(Sql::Integer(verified.into()));
            }
            if let Some(hash) = change.password_hash {
                sets.push("password");
                params.push(Sql::Text(hash));
            }
            if change.rotate_token_key {
                sets.push("tokenKey");
                params.push(Sql::Text(crate::random::alphanumeric(TOKEN_KEY_LEN)));
            }
            for f in &c2.fields {
                if matches!(f.kind, FieldKind::Autodate { on_update: true, .. }) {
                    sets.push(f.name.as_str());
                    params.push(Sql::Text(crate::datetime::now()));
                }
            }
            let assignments: Vec<String> = sets
                .iter()
                .enumerate()
                .map(|(i, col)| format!("{} = ?{}", quote(col), i + 1))
                .collect();
            params.push(Sql::Text(id2.clone()));
            let sql = format!(
                "UPDATE {} SET {} WHERE id = ?{}",
                quote(&c2.name),
                assignments.join(", "),
                params.len()
            );
            if tx.execute(&sql, params_from_iter(params))? == 0 {
                return Err(ChangeError::Missing);
            }
            let account = read_where(tx, &c2, "id", &id2)?.ok_or(ChangeError::Missing)?;
            let change = RecordChange {
                action: ChangeAction::Update,
                collection: c2.clone(),
                record: account.record.clone(),
                hidden: reveal::kept(tx, &c2, &id2)?,
            };
            hook.changed(tx, &catalog, &change, previous.as_ref())?;
            // The same change, told again after the commit.
            Ok((account, change))
        })
        .await?;
    listener.auth_record_changed(&c.id, id);
    events::committed(listener, vec![announced]);
    Ok(account)
}

/// Replaces an outdated hash (bcrypt from an imported PocketBase database)
/// with argon2id after a successful sign-in. Only the hash changes: the
/// token key stays, so no session ends, and `updated` stays, since the
/// account did not change. A failure only means trying again next time.
pub async fn rehash(db: &Database, hasher: &Hasher, c: &Collection, id: &str, password: String) {
    let hash = match hasher.hash(password).await {
        Ok(hash) => hash,
        Err(err) => {
            tracing::warn!(error = %err, "rehashing a password");
            return;
        }
    };
    let sql = format!("UPDATE {} SET password = ?1 WHERE id = ?2", quote(&c.name));
    let id2 = id.to_owned();
    let written = db
        .write(move |tx| {
            tx.execute(&sql, [&hash, &id2])?;
            Ok::<_, StoreError>(())
        })
        .await;
    if let Err(err) = written {
        tracing::warn!(error = %err, "storing a rehashed password");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `spelling_of` finds what the `COLLATE NOCASE` scan it replaces
    /// found, for spellings of held addresses with their letters' cases
    /// flipped every way, addresses nobody holds, and neighbours in
    /// binary order that a prefix's range must not take in (`a{`, `a[`,
    /// `az`: one past `z` and `Z`); and its probes read the index, not
    /// the table.
    #[test]
    fn spellings_are_found_through_the_index_as_the_scan_found_them() {
        let conn = Connection::open_in_memory().expect("memory");
        conn.execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL DEFAULT '');
             CREATE UNIQUE INDEX idx_email ON users (email) WHERE email != '';",
        )
        .expect("table");
        let held = [
            "case@example.com",
            "CASE@example.com",
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
        for (i, e) in held.iter().enumerate() {
            conn.execute(
                "INSERT INTO users (id, email) VALUES (?1, ?2)",
                rusqlite::params![i as i64, e],
            )
            .expect("row");
        }
        for i in 0..300 {
            conn.execute(
                "INSERT INTO users (email) VALUES (?1)",
                [format!("user{i}@example.com")],
            )
            .expect("row");
        }
        let scan = |value: &str| -> Option<String> {
            let all: Vec<String> = conn
                .prepare("SELECT email FROM users WHERE email = ?1 COLLATE NOCASE AND email != ''")
                .and_then(|mut s| s.query_map([value], |r| r.get(0))?.collect())
                .expect("scan");
            if all.iter().any(|e| e == value) {
                Some(value.to_owned())
            } else if all.len() == 1 {
                all.into_iter().next()
            } else {
                None
            }
        };
        // Every case pattern of the first letters of each held address,
        // and of some that nobody holds.
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
                    .map(|(i, ch)| match pattern >> (i % 6) & 1 {
                        1 if i < 6 => ch.to_ascii_uppercase(),
                        0 if i < 6 => ch.to_ascii_lowercase(),
                        _ => ch,
                    })
                    .collect();
                let found = spelling_of(&conn, "users", "email", &spelled).expect("probe");
                assert_eq!(found, scan(&spelled), "{spelled:?}");
                asked += 1;
            }
        }
        assert!(asked > 500);
        // Some were found in another case, and the ambiguous one was not.
        assert_eq!(
            spelling_of(&conn, "users", "email", "Single@Example.com").expect("probe"),
            Some("single@example.com".into())
        );
        assert_eq!(
            spelling_of(&conn, "users", "email", "Case@example.com").expect("probe"),
            None
        );
        for sql in [
            "SELECT 1 FROM users WHERE email = ?1 AND email != ''",
            "SELECT 1 FROM users WHERE email >= ?1 AND email < ?2 AND email != '' LIMIT 1",
        ] {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .and_then(|mut s| {
                    let any = vec!["x"; s.parameter_count()];
                    s.query_map(params_from_iter(any), |r| r.get(3))?.collect()
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
