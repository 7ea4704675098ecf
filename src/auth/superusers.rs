//! Superuser accounts: the records of the `_superusers` auth collection.
//! Used by the `cairn superuser` command and by the installer; both go
//! through the same validation and the same writer, so the CLI works
//! whether or not a server is running on the same data folder. Both
//! parse what they are given first (`Credentials::parse`, `address`), so
//! the writes here take an address and a password already checked.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::{
    identity::{
        email::{self, Email},
        password::{self, Hasher, PasswordError},
    },
    records::RecordId,
    store::{Database, StoreError},
    validation::{FieldError, FieldErrors},
};

/// PocketBase derives system collection ids from their names; SDKs and
/// tools may compare against it.
pub const COLLECTION_ID: &str = "pbc_3142635823";
pub const COLLECTION_NAME: &str = "_superusers";
const TOKEN_KEY_LEN: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveMode {
    Create,
    /// Create, but only while there is no superuser at all (the installer).
    CreateFirst,
    Update,
    Upsert,
}

#[derive(Debug, thiserror::Error)]
pub enum SuperuserError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("superuser {0:?} doesn't exist")]
    Missing(String),
    #[error("a superuser already exists")]
    AlreadyInstalled,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] PasswordError),
}

impl From<rusqlite::Error> for SuperuserError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Store(err.into())
    }
}

impl SuperuserError {
    fn field(name: &str, error: FieldError) -> Self {
        Self::Invalid(FieldErrors::from([(name.to_owned(), error)]))
    }
}

/// A superuser as the API shows it: never the password or token key.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Superuser {
    pub id: String,
    pub collection_id: &'static str,
    pub collection_name: &'static str,
    pub email: String,
    pub email_visibility: bool,
    pub verified: bool,
    pub created: String,
    pub updated: String,
}

/// A superuser's address and new password, both checked: built only by
/// `parse`, at the edge (the installer, `cairn superuser`).
pub struct Credentials {
    email: Email,
    password: String,
}

impl Credentials {
    /// Checks the address and the password policy, naming every bad field.
    pub fn parse(email: &str, password: &str) -> Result<Self, SuperuserError> {
        let mut errors = FieldErrors::new();
        let parsed = match Email::parse_required(email) {
            Ok(email) => Some(email),
            Err(e) => {
                errors.insert("email".into(), e);
                None
            }
        };
        if let Err(e) = password::check_policy(password) {
            errors.insert("password".into(), e);
        }
        match parsed {
            Some(email) if errors.is_empty() => Ok(Self {
                email,
                password: password.to_owned(),
            }),
            _ => Err(SuperuserError::Invalid(errors)),
        }
    }
}

/// The address of a superuser to delete; unlike a new superuser's, a
/// blank one is called malformed too.
pub fn address(raw: &str) -> Result<Email, SuperuserError> {
    Email::parse(raw).ok_or_else(|| SuperuserError::field("email", email::invalid()))
}

/// Creates or updates a superuser per `mode`. A new password also gets a new
/// token key, which revokes every token issued before.
pub async fn save(
    db: &Database,
    hasher: &Hasher,
    credentials: Credentials,
    mode: SaveMode,
) -> Result<Superuser, SuperuserError> {
    let Credentials { email, password } = credentials;
    let hash = hasher.hash(password).await?;
    db.write(move |tx| {
        let existing: Option<String> = tx
            .prepare_cached("SELECT id FROM _superusers WHERE email = ?1 COLLATE NOCASE")?
            .query_row([email.as_str()], |r| r.get(0))
            .optional()?;
        if mode == SaveMode::CreateFirst
            && tx
                .prepare_cached("SELECT 1 FROM _superusers LIMIT 1")?
                .query_row([], |_| Ok(()))
                .optional()?
                .is_some()
        {
            return Err(SuperuserError::AlreadyInstalled);
        }
        let now = crate::datetime::now();
        let token_key = crate::random::alphanumeric(TOKEN_KEY_LEN);
        let id = match (existing, mode) {
            (Some(_), SaveMode::Create | SaveMode::CreateFirst) => {
                return Err(SuperuserError::field(
                    "email",
                    FieldError::not_unique(),
                ));
            }
            (None, SaveMode::Update) => return Err(SuperuserError::Missing(email.to_string())),
            (Some(id), _) => {
                tx.prepare_cached("UPDATE _superusers SET password = ?2, tokenKey = ?3, updated = ?4 WHERE id = ?1")?
                    .execute(params![id, hash, token_key, now])?;
                id
            }
            (None, _) => {
                let id = RecordId::generate().to_string();
                tx.prepare_cached(
                    "INSERT INTO _superusers (id, email, emailVisibility, verified, password, tokenKey, created, updated)
                     VALUES (?1, ?2, FALSE, TRUE, ?3, ?4, ?5, ?5)",
                )?
                .execute(params![id, email.as_str(), hash, token_key, now])?;
                id
            }
        };
        find_by_id(tx, &id)
    })
    .await
}

fn find_by_id(conn: &rusqlite::Connection, id: &str) -> Result<Superuser, SuperuserError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, email, emailVisibility, verified, created, updated FROM _superusers WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(Superuser {
                id: r.get(0)?,
                collection_id: COLLECTION_ID,
                collection_name: COLLECTION_NAME,
                email: r.get(1)?,
                email_visibility: r.get(2)?,
                verified: r.get(3)?,
                created: r.get(4)?,
                updated: r.get(5)?,
            })
        })?)
}

/// Deletes a superuser; `false` if there was none with that email.
pub async fn delete(db: &Database, email: &Email) -> Result<bool, SuperuserError> {
    let email = email.as_str().to_owned();
    db.write(move |tx| {
        let n = tx
            .prepare_cached("DELETE FROM _superusers WHERE email = ?1 COLLATE NOCASE")?
            .execute([email])?;
        Ok::<_, SuperuserError>(n > 0)
    })
    .await
}

/// Whether any superuser exists (the installer is offered only when not).
pub async fn any_exists(db: &Database) -> Result<bool, StoreError> {
    db.read(|conn| {
        Ok(conn
            .prepare_cached("SELECT 1 FROM _superusers LIMIT 1")?
            .query_row([], |_| Ok(()))
            .optional()?
            .is_some())
    })
    .await
}
