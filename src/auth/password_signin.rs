//! Signing in with a password (the identity fields and the password
//! check); the proven account then goes to `signin::complete` like every
//! other method. An unknown account costs the same hash check as a wrong
//! password (against a dummy hash) and gets the same answer, so neither
//! timing nor wording tells which accounts exist. The collection's
//! `authRule` check lives here too: OTP and OAuth2 sign-ins call it.

use std::sync::{Arc, LazyLock};

use super::{
    account::Account,
    deps::AuthDeps,
    signin::{Method, SignedIn},
};
use crate::{
    identity::password,
    schema::{Collection, Schema},
    store::{Database, StoreError},
    validation::{FieldError, FieldErrors},
};

static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| password::hash_blocking("cairn-dummy-password").unwrap_or_default());

pub struct PasswordLogin {
    pub identity: String,
    pub password: String,
    pub identity_field: String,
    pub mfa_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("password sign-in is disabled for this collection")]
    Disabled,
    #[error("wrong identity or password")]
    Failed,
    #[error("too many failed attempts for this identity")]
    Backoff(std::time::Duration),
    #[error("the account does not satisfy the collection's authRule")]
    RuleRefused,
    #[error(transparent)]
    Rule(#[from] crate::records::service::RecordError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] password::PasswordError),
}

fn identity_fields(c: &Collection) -> Vec<String> {
    c.auth()
        .map(|a| a.password_auth.lookup_fields())
        .unwrap_or_else(|| vec!["email".into()])
}

/// Whether the collection allows password sign-in: the edge asks before
/// it reads the body, as PocketBase does.
pub fn check_enabled(c: &Collection) -> Result<(), LoginError> {
    if c.auth().is_some_and(|a| a.password_auth.enabled) {
        Ok(())
    } else {
        Err(LoginError::Disabled)
    }
}

pub async fn with_password(
    auth: &AuthDeps<'_>,
    c: Arc<Collection>,
    input: PasswordLogin,
) -> Result<SignedIn, LoginError> {
    check_enabled(&c)?;
    let mut errors = FieldErrors::new();
    if input.identity.trim().is_empty() {
        errors.insert("identity".into(), FieldError::required());
    }
    if input.password.is_empty() {
        errors.insert("password".into(), FieldError::required());
    }
    if !errors.is_empty() {
        return Err(LoginError::Invalid(errors));
    }
    let mut fields = identity_fields(&c);
    if !input.identity_field.is_empty() {
        if !fields.contains(&input.identity_field) {
            // The collection's identity fields are public (its
            // auth-methods list them): naming this one tells nothing.
            errors.insert("identityField".into(), FieldError::not_allowed_value());
            return Err(LoginError::Invalid(errors));
        }
        fields = vec![input.identity_field.clone()];
    }
    let backoff_key = format!("{}:{}", c.id, input.identity.trim().to_lowercase());
    auth.backoff.check(&backoff_key).map_err(LoginError::Backoff)?;
    let found = find_account(auth.db, c.clone(), fields, input.identity.trim().to_owned()).await?;
    let Account {
        password_hash: stored_hash,
        token_key,
        id,
        record,
        ..
    } = match found {
        Some(account) => account,
        None => {
            // Same work, same answer as a wrong password.
            let _ = auth.hasher.verify(input.password, DUMMY_HASH.clone()).await?;
            auth.backoff.failed(&backoff_key);
            return Err(LoginError::Failed);
        }
    };
    if !auth
        .hasher
        .verify(input.password.clone(), stored_hash.clone())
        .await?
    {
        auth.backoff.failed(&backoff_key);
        return Err(LoginError::Failed);
    }
    auth.backoff.succeeded(&backoff_key);
    check_auth_rule(auth.schema, auth.db, &c, &id, Method::Password).await?;
    if password::needs_rehash(&stored_hash) {
        super::account::rehash(auth.db, auth.hasher, &c, &id, input.password).await;
    }
    Ok(SignedIn {
        collection: c,
        id,
        token_key,
        record,
        method: Method::Password,
        meta: None,
        mfa_id: input.mfa_id,
    })
}

/// The collection's `authRule`: `null` lets no one sign in, `""` everyone,
/// an expression only the accounts it matches.
pub(crate) async fn check_auth_rule(
    schema: &Schema,
    db: &Database,
    c: &Arc<Collection>,
    id: &str,
    method: super::signin::Method,
) -> Result<(), LoginError> {
    use crate::{
        identity::Caller,
        query::compile::RequestInfo,
        records::{
            access::{Access, Requester},
            service::{matches_rule, rule_conditions},
        },
    };
    let access = match c.auth().and_then(|a| a.auth_rule.as_deref()) {
        None => return Err(LoginError::RuleRefused),
        Some("") => return Ok(()),
        Some(expr) => Access::Rule(expr.to_owned()),
    };
    let requester = Requester {
        caller: Caller::Guest,
        info: RequestInfo {
            method: "POST".into(),
            context: method.rule_context(),
            ..RequestInfo::default()
        }
        .into(),
    };
    let Some(conditions) = rule_conditions(&schema.catalog(), c, &requester, &access)? else {
        return Ok(());
    };
    let (c, id) = (c.clone(), id.to_owned());
    let allowed = db
        .read(move |conn| matches_rule(conn, &c, &id, &conditions).map_err(StoreError::from))
        .await?;
    if allowed {
        Ok(())
    } else {
        Err(LoginError::RuleRefused)
    }
}

/// The account whose first matching identity field holds `identity`.
async fn find_account(
    db: &Database,
    c: Arc<Collection>,
    fields: Vec<String>,
    identity: String,
) -> Result<Option<Account>, StoreError> {
    db.read(move |conn| {
        for field in fields.iter().filter(|n| c.field(n).is_some()) {
            if let Some(found) = super::account::read_where(conn, &c, field, &identity)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    })
    .await
}
