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
    store::{Database, StoreError, nocase},
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

/// The spelling of `value` that stands for it among those `col` of
/// `table` holds (`store::nocase`): `value` itself if held, else the only
/// other spelling held; `None` if there is none, or more than one (which
/// was meant cannot be told).
fn spelling_of(conn: &Connection, table: &str, col: &str, value: &str) -> rusqlite::Result<Option<String>> {
    let mut held = nocase::held_spellings(conn, table, col, value, 2)?;
    Ok(match held.first() {
        Some(first) if first == value => held.drain(..).next(),
        Some(_) if held.len() == 1 => held.pop(),
        _ => None,
    })
}

/// Whether an account of `c` other than `id` has `email` in any case.
/// Through the email's index when there is one (`store::nocase`): an
/// account holds one spelling, so of two spellings held at least one is
/// held by other accounts only, and two are enough to tell.
fn email_taken(conn: &Connection, c: &Collection, email: &str, id: &str) -> rusqlite::Result<bool> {
    let table = quote(&c.name);
    if !index::serves_binary_lookup(&c.indexes, "email") {
        return conn.query_row(
            &format!("SELECT count(*) > 0 FROM {table} WHERE email = ?1 COLLATE NOCASE AND id != ?2"),
            [email, id],
            |r| r.get(0),
        );
    }
    let mut owner = conn.prepare_cached(&format!(
        "SELECT id FROM {table} WHERE email = ?1 AND email != ''"
    ))?;
    for spelling in nocase::held_spellings(conn, &table, &quote("email"), email, 2)? {
        let owners: Vec<String> = owner
            .query_map([&spelling], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if owners.iter().any(|o| o != id) {
            return Ok(true);
        }
    }
    Ok(false)
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
                let taken = email_taken(tx, &c2, &email, &id2)?;
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
