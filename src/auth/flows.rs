//! The account flows that run by email: verification, password reset and
//! email change. Each is a request (mail a signed, expiring token) and a
//! confirmation (check the token, change the account); a password
//! reset's confirmation, with its password checks, is `password_reset`'s.
//!
//! Requests answer the same whether or not the address has an account, so
//! they cannot be used to find out who is signed up; the mail itself is
//! handed off without waiting for SMTP. Confirmations check the token's
//! signature against the account's current token key, so a token stops
//! working once the password (and with it the key) changes; and its
//! address claim against the account's current address.
//!
//! Addresses arrive parsed (`Email`, at the edge). What PocketBase refuses
//! before it reads a body (superusers asking to be verified, a caller who
//! may not change the address) is a value the edge gets first
//! (`Verifiable::check`, `EmailChange::check`) and the flow requires, so
//! the refusals keep their precedence over a bad address.

use std::sync::Arc;

use super::{
    account::{self, Account, Change, ChangeError},
    deps::AuthDeps,
    password_signin::LoginError,
    token::{self, Purpose, TokenError},
};
use crate::{
    identity::{Caller, email::Email, password},
    mail::{Mailer, templates::Template},
    schema::{Collection, CollectionKind},
    store::StoreError,
    validation::{FieldError, FieldErrors},
};

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("{0}")]
    Refused(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("not signed in")]
    Unauthorized,
    #[error("signed in to another collection")]
    WrongCollection(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] password::PasswordError),
    #[error(transparent)]
    Login(LoginError),
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The reset form was fine, but the password field refuses the new
    /// password (PocketBase: "Failed to set new password.").
    #[error("the new password does not satisfy the password field")]
    NotSet(FieldErrors),
}

impl From<LoginError> for FlowError {
    fn from(err: LoginError) -> Self {
        match err {
            LoginError::Store(e) => Self::Store(e),
            other => Self::Login(other),
        }
    }
}

impl From<ChangeError> for FlowError {
    fn from(err: ChangeError) -> Self {
        match err {
            ChangeError::Missing => invalid_token(),
            ChangeError::EmailTaken => new_email_taken(),
            ChangeError::Store(e) => Self::Store(e),
        }
    }
}

fn field(name: &str, error: FieldError) -> FlowError {
    FlowError::Invalid(FieldErrors::from([(name.to_owned(), error)]))
}

const SUPERUSERS_VERIFIED: &str = "All superusers are verified by default.";
const SUPERUSERS_CHANGE_EMAIL: &str = "All superusers can change their emails directly.";

/// Superusers are verified from the start and change their address by a
/// plain update, so these flows refuse them, as PocketBase.
fn not_for_superusers(c: &Collection, message: &'static str) -> Result<(), FlowError> {
    if c.id == crate::schema::defaults::SUPERUSERS_ID {
        Err(FlowError::Refused(message))
    } else {
        Ok(())
    }
}

/// The new address is taken (found when asked, or when confirmed).
fn invalid_new_email() -> FieldError {
    FieldError::new("validation_invalid_new_email", "Invalid new email address.")
}

/// The token's new address was taken after it was mailed. PocketBase
/// reports the password too: with the token refused, no account's
/// password is checked.
fn new_email_taken() -> FlowError {
    FlowError::Invalid(FieldErrors::from([
        (
            "token".to_owned(),
            FieldError::new(
                "validation_invalid_token_email",
                "The new email address is invalid.",
            ),
        ),
        ("password".to_owned(), invalid_password()),
    ]))
}

fn invalid_password() -> FieldError {
    FieldError::new(
        "validation_invalid_password",
        "Missing or invalid auth record password.",
    )
}

fn invalid_token() -> FlowError {
    field(
        "token",
        FieldError::new("validation_invalid_token", "Invalid or expired token."),
    )
}

/// An auth collection whose accounts are verified by mail: any but
/// `_superusers`, whose accounts are verified from the start.
pub struct Verifiable(Arc<Collection>);

impl Verifiable {
    pub fn check(c: Arc<Collection>) -> Result<Self, FlowError> {
        not_for_superusers(&c, SUPERUSERS_VERIFIED)?;
        Ok(Self(c))
    }
}

/// A signed-in account of the collection asking to move to a new
/// address; superusers change theirs by a plain update instead.
pub struct EmailChange {
    c: Arc<Collection>,
    account_id: String,
}

impl EmailChange {
    pub fn check(c: Arc<Collection>, caller: &Caller) -> Result<Self, FlowError> {
        let account_id = match caller {
            Caller::Guest => return Err(FlowError::Unauthorized),
            Caller::Record(r, _) if r.collection.id != c.id => {
                // PocketBase's message names the caller's own collection.
                return Err(FlowError::WrongCollection(r.collection.name.clone()));
            }
            Caller::Record(r, _) => r.id.clone(),
        };
        not_for_superusers(&c, SUPERUSERS_CHANGE_EMAIL)?;
        Ok(Self { c, account_id })
    }
}

/// Issues `account` a `purpose` token and mails it with `template`: to the
/// account's address, or to `new_email` for an email change.
async fn send_token_mail(
    mailer: &Mailer<'_>,
    c: &Collection,
    purpose: Purpose,
    template: Template,
    account: &Account,
    new_email: Option<&str>,
) -> Result<(), FlowError> {
    let token = token::issue_for(
        c,
        purpose,
        &account.id,
        &account.token_key,
        &account.email,
        new_email,
    )?;
    let to = new_email.unwrap_or(&account.email);
    mailer
        .send_template(c, template, to, &account.record, &[("TOKEN", &token)])
        .await?;
    Ok(())
}

/// What `send_token_mail` costs, for an address it will not write to
/// (`Mailer::pretend`): a token is signed and the mail made and written
/// and taken back, so that the answer's time does not tell whether the
/// address has an account.
async fn pretend_token_mail(
    mailer: &Mailer<'_>,
    c: &Collection,
    template: Template,
    email: &Email,
) -> Result<(), FlowError> {
    let token = token::issue_for(
        c,
        Purpose::Verification,
        "000000000000000",
        "",
        email.as_str(),
        None,
    )?;
    mailer
        .pretend(c, template, email.as_str(), &[("TOKEN", &token)])
        .await?;
    Ok(())
}

/// The account a flow token names, if the token is genuine, unexpired, of
/// this `purpose`, and was issued for the account's current address. A
/// genuine token of another auth collection is named as such, as
/// PocketBase names it; a forged one is only invalid.
pub(super) async fn token_account(
    auth: &AuthDeps<'_>,
    c: &Arc<Collection>,
    purpose: Purpose,
    raw: &str,
) -> Result<(Account, token::Claims), FlowError> {
    let claims = token::peek(raw).ok_or_else(invalid_token)?;
    let issuer = auth
        .schema
        .catalog()
        .by_id(&claims.collection_id)
        .filter(|o| o.kind == CollectionKind::Auth)
        .cloned()
        .ok_or_else(invalid_token)?;
    let account = account::by_id(auth.db, issuer.clone(), claims.id.clone())
        .await?
        .ok_or_else(invalid_token)?;
    let claims = token::verify_for(raw, &issuer, purpose, &account.token_key).ok_or_else(invalid_token)?;
    if issuer.id != c.id {
        return Err(field(
            "token",
            FieldError::new(
                "validation_token_collection_mismatch",
                "The provided token is for different auth collection.",
            ),
        ));
    }
    let same_address = claims
        .email
        .as_deref()
        .is_some_and(|e| e.eq_ignore_ascii_case(&account.email));
    if !same_address {
        return Err(invalid_token());
    }
    Ok((account, claims))
}

fn required(errors: &mut FieldErrors, name: &str, value: &str) {
    if value.is_empty() {
        errors.insert(name.to_owned(), FieldError::required());
    }
}

pub async fn request_verification(
    auth: &AuthDeps<'_>,
    Verifiable(c): Verifiable,
    email: &Email,
) -> Result<(), FlowError> {
    match account::by_email(auth.db, c.clone(), email.to_string()).await? {
        Some(account) if !account.verified => {
            send_token_mail(
                &auth.mailer,
                &c,
                Purpose::Verification,
                Template::Verification,
                &account,
                None,
            )
            .await?
        }
        // No account, or one already verified: the same time all the same.
        _ => pretend_token_mail(&auth.mailer, &c, Template::Verification, email).await?,
    }
    Ok(())
}

pub async fn confirm_verification(
    auth: &AuthDeps<'_>,
    Verifiable(c): Verifiable,
    token: &str,
) -> Result<(), FlowError> {
    if token.is_empty() {
        return Err(field("token", FieldError::required()));
    }
    // PocketBase names a token without an address claim apart from one
    // that fails its checks.
    if token::peek(token).and_then(|c| c.email).is_none() {
        return Err(field(
            "token",
            FieldError::new("validation_invalid_token_claims", "Missing email token claim."),
        ));
    }
    let (account, _) = token_account(auth, &c, Purpose::Verification, token).await?;
    if !account.verified {
        let verify = Change {
            verified: Some(true),
            ..Change::default()
        };
        account::change(auth, c, &account.id, verify).await?;
    }
    Ok(())
}

pub async fn request_password_reset(
    auth: &AuthDeps<'_>,
    c: Arc<Collection>,
    email: &Email,
) -> Result<(), FlowError> {
    match account::by_email(auth.db, c.clone(), email.to_string()).await? {
        Some(account) => {
            send_token_mail(
                &auth.mailer,
                &c,
                Purpose::PasswordReset,
                Template::PasswordReset,
                &account,
                None,
            )
            .await?
        }
        None => pretend_token_mail(&auth.mailer, &c, Template::PasswordReset, email).await?,
    }
    Ok(())
}

/// Mails a confirmation link to the new address of the signed-in caller.
pub async fn request_email_change(
    auth: &AuthDeps<'_>,
    EmailChange { c, account_id }: EmailChange,
    new_email: &Email,
) -> Result<(), FlowError> {
    let account = account::by_id(auth.db, c.clone(), account_id)
        .await?
        .ok_or(FlowError::Unauthorized)?;
    if account.email.eq_ignore_ascii_case(new_email.as_str()) {
        return Err(field("newEmail", FieldError::refused_value()));
    }
    if account::by_email(auth.db, c.clone(), new_email.to_string())
        .await?
        .is_some()
    {
        return Err(field("newEmail", invalid_new_email()));
    }
    send_token_mail(
        &auth.mailer,
        &c,
        Purpose::EmailChange,
        Template::EmailChange,
        &account,
        Some(new_email.as_str()),
    )
    .await
}

/// Moves the account to the token's new address once its owner proves the
/// password; the new address is verified by this very mail, and the new
/// token key ends every session.
pub async fn confirm_email_change(
    auth: &AuthDeps<'_>,
    c: Arc<Collection>,
    token: &str,
    password: &str,
) -> Result<(), FlowError> {
    not_for_superusers(&c, SUPERUSERS_CHANGE_EMAIL)?;
    let mut errors = FieldErrors::new();
    required(&mut errors, "token", token);
    required(&mut errors, "password", password);
    if !errors.is_empty() {
        return Err(FlowError::Invalid(errors));
    }
    // A token that names no new address cannot name whose password to
    // check either; PocketBase reports both fields.
    if token::peek(token).and_then(|c| c.new_email).is_none() {
        return Err(FlowError::Invalid(FieldErrors::from([
            (
                "token".to_owned(),
                FieldError::new(
                    "validation_invalid_token_payload",
                    "Invalid token payload - newEmail must be set.",
                ),
            ),
            ("password".to_owned(), invalid_password()),
        ])));
    }
    let (account, claims) = token_account(auth, &c, Purpose::EmailChange, token).await?;
    let new_email = claims
        .new_email
        .as_deref()
        .and_then(Email::parse)
        .ok_or_else(invalid_token)?;
    let taken = account::by_email(auth.db, c.clone(), new_email.to_string())
        .await?
        .is_some_and(|other| other.id != account.id);
    if taken {
        return Err(new_email_taken());
    }
    if !auth
        .hasher
        .verify(password.to_owned(), account.password_hash.clone())
        .await?
    {
        return Err(field("password", invalid_password()));
    }
    let moved = Change {
        email: Some(new_email.to_string()),
        verified: Some(true),
        rotate_token_key: true,
        ..Change::default()
    };
    account::change(auth, c, &account.id, moved).await?;
    Ok(())
}
