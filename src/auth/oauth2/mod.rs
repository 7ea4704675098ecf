//! OAuth2 sign-in (authorization code + PKCE), as PocketBase's
//! `auth-with-oauth2`: exchange the code at the provider, read who the
//! user is, then sign in the account linked to that identity, or link the
//! account with the same verified email (or the signed-in caller's), or
//! create one from `createData` under the collection's create rule.
//!
//! The all-in-one browser flow needs nothing more from this module: its
//! `/api/oauth2-redirect` only hands the provider's `code` and `state` to
//! the realtime client whose id is that `state` (topic `@oauth2`); the SDK
//! then calls `auth-with-oauth2`, which ends in `sign_in` like any client.

pub mod apple_secret;
mod avatar;
pub mod config;
pub mod exchange;
mod links;

pub mod methods;
pub mod provider;

use std::sync::Arc;

use serde_json::{Map, Value, json};

use self::{
    exchange::{CodeExchange, ExchangeError, Grant},
    links::{AccountUpdate, Identity},
    provider::ExternalUser,
};
use super::{
    caller::load_auth_record,
    deps::AuthDeps,
    password_signin::{self, LoginError},
    signin::{Method, SignedIn},
};
use crate::{
    identity::Caller,
    records::{access::Requester, deps::RecordsDeps, service::RecordError},
    schema::Collection,
    store::{Database, StoreError},
    validation::{ErrorTree, FieldError},
};

/// Long enough that no one guesses it; nobody is ever told it.
const RANDOM_PASSWORD_LEN: usize = 30;

/// What the client sends to `auth-with-oauth2`.
pub struct CodeSignIn {
    pub provider: String,
    pub code: String,
    pub code_verifier: String,
    pub redirect_url: String,
    pub create_data: Map<String, Value>,
    /// Completes a multi-factor sign-in begun with another method.
    pub mfa_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum OAuth2Error {
    #[error("OAuth2 sign-in is disabled for this collection")]
    Disabled,
    #[error("invalid input")]
    Invalid(ErrorTree),
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Login(#[from] LoginError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] crate::identity::password::PasswordError),
}

/// Whether the collection allows OAuth2 sign-in: the edge asks before it
/// reads the body, as PocketBase does.
pub fn check_enabled(c: &Collection) -> Result<(), OAuth2Error> {
    if config::enabled(c) {
        Ok(())
    } else {
        Err(OAuth2Error::Disabled)
    }
}

/// Signs in through a provider. `requester` is the caller, with
/// `createData` as the request body its create rule sees; a new account
/// is created through the record services (`records`), under the
/// collection's create rule.
pub async fn sign_in(
    auth: &AuthDeps<'_>,
    records: &RecordsDeps<'_>,
    requester: &Requester,
    c: Arc<Collection>,
    input: CodeSignIn,
) -> Result<SignedIn, OAuth2Error> {
    let input_mfa_id = input.mfa_id.clone();
    check_enabled(&c)?;
    let mut errors = ErrorTree::new();
    if input.provider.is_empty() {
        errors.add(&["provider"], FieldError::required());
    }
    if input.code.is_empty() {
        errors.add(&["code"], FieldError::required());
    }
    if !errors.is_empty() {
        return Err(OAuth2Error::Invalid(errors));
    }
    let Some(provider) = config::find(&c, &input.provider) else {
        errors.add(
            &["provider"],
            FieldError::new(
                "validation_invalid_provider",
                format!(
                    "Provider with name {} is missing or is not enabled.",
                    input.provider
                ),
            )
            .with_params(json!({"name": input.provider})),
        );
        return Err(OAuth2Error::Invalid(errors));
    };
    let grant = exchange::exchange_code(
        &provider,
        &CodeExchange {
            code: &input.code,
            code_verifier: &input.code_verifier,
            redirect_url: &input.redirect_url,
        },
    )
    .await?;
    let user = exchange::fetch_user(&provider, &grant).await?;
    let identity = Identity {
        collection_id: c.id.clone(),
        provider: provider.provider.name.to_owned(),
        provider_id: user.id.clone(),
    };

    let (record_id, is_new) = match find_account(auth.db, requester, &c, &identity, &user).await? {
        Some(found) => {
            let mut update = AccountUpdate {
                link: (!found.linked).then(|| identity.clone()),
                email: user.email.clone(),
                new_password_hash: None,
            };
            if found.unverified_email_match {
                let random = crate::random::alphanumeric(RANDOM_PASSWORD_LEN);
                update.new_password_hash = Some(auth.hasher.hash(random).await?);
            }
            links::update_account(auth.db, c.clone(), found.id.clone(), update).await?;
            auth.listener.auth_record_changed(&c.id, &found.id);
            (found.id, false)
        }
        None => (
            create_account(
                records,
                requester,
                &c,
                identity,
                &user,
                input.create_data,
                auth.avatars_allow_private,
            )
            .await?,
            true,
        ),
    };

    let account = load_auth_record(auth.db, c.clone(), record_id)
        .await?
        .ok_or(OAuth2Error::Record(RecordError::NotFound))?;
    password_signin::check_auth_rule(auth.schema, auth.db, &c, &account.id, Method::OAuth2).await?;
    Ok(SignedIn {
        collection: c,
        id: account.id.clone(),
        token_key: account.token_key.clone(),
        record: account.record.clone(),
        method: Method::OAuth2,
        meta: Some(meta(&user, &grant, is_new)),
        mfa_id: input_mfa_id,
    })
}

/// An existing account for this identity.
struct Found {
    id: String,
    /// Already linked to this identity.
    linked: bool,
    /// Found by an email address its owner never verified.
    unverified_email_match: bool,
}

/// The linked account; else the signed-in caller's own account (linking a
/// provider to it); else the account with the provider's verified email.
async fn find_account(
    db: &Database,
    requester: &Requester,
    c: &Arc<Collection>,
    identity: &Identity,
    user: &ExternalUser,
) -> Result<Option<Found>, OAuth2Error> {
    if let Some(id) = links::linked_record(db, c.clone(), identity.clone()).await? {
        return Ok(Some(Found {
            id,
            linked: true,
            unverified_email_match: false,
        }));
    }
    if let Caller::Record(r, _) = &requester.caller
        && r.collection.id == c.id
    {
        return Ok(Some(Found {
            id: r.id.clone(),
            linked: false,
            unverified_email_match: false,
        }));
    }
    if user.email.is_empty() {
        return Ok(None);
    }
    Ok(crate::auth::account::by_email(db, c.clone(), user.email.clone())
        .await?
        .map(|found| Found {
            id: found.id,
            linked: false,
            unverified_email_match: !found.verified,
        }))
}

/// A new account from `createData`, filled in from the provider's details,
/// created (and linked, in the same transaction) under the create rule.
async fn create_account(
    records: &RecordsDeps<'_>,
    requester: &Requester,
    c: &Arc<Collection>,
    identity: Identity,
    user: &ExternalUser,
    mut body: Map<String, Value>,
    allow_private_avatars: bool,
) -> Result<String, OAuth2Error> {
    let given = |body: &Map<String, Value>, key: &str| body.get(key).is_some_and(|v| v != "" && !v.is_null());
    if !given(&body, "email") {
        body.insert("email".into(), json!(user.email));
    }
    let mapped = config::mapped_fields(c);
    for (field, value) in [
        (&mapped.id, &user.id),
        (&mapped.name, &user.name),
        (&mapped.username, &user.username),
    ] {
        if !field.is_empty() && c.field(field).is_some() && !value.is_empty() && !given(&body, field) {
            body.insert(field.clone(), json!(value));
        }
    }
    let mut uploads = Vec::new();
    avatar::map(
        c,
        &mapped.avatar_url,
        &user.avatar_url,
        allow_private_avatars,
        &mut body,
        &mut uploads,
    )
    .await;
    if !given(&body, "password") {
        let random = crate::random::alphanumeric(RANDOM_PASSWORD_LEN);
        body.insert("password".into(), json!(random));
        body.insert("passwordConfirm".into(), json!(random));
    }
    // The provider vouches for its address: an account made with that
    // same address starts verified.
    let email = body.get("email").and_then(Value::as_str).unwrap_or("");
    let verified = !user.email.is_empty() && email.eq_ignore_ascii_case(&user.email);
    let mut forced = Map::new();
    forced.insert("verified".into(), json!(verified));
    let owner = c.clone();
    let created = crate::records::service::create_with(
        records,
        requester,
        c.clone(),
        (body, uploads),
        forced,
        move |tx, id| links::insert_link(tx, &owner, &identity, id),
    )
    .await?;
    Ok(created
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned())
}

/// PocketBase's `meta` of an OAuth2 sign-in.
fn meta(user: &ExternalUser, grant: &Grant, is_new: bool) -> Value {
    let expiry = grant
        .expires_in
        .filter(|s| *s > 0)
        .map(|s| crate::datetime::format(chrono::Utc::now() + chrono::Duration::seconds(s)))
        .unwrap_or_default();
    json!({
        "id": user.id,
        "name": user.name,
        "username": user.username,
        "email": user.email,
        "avatarURL": user.avatar_url,
        // Older SDKs read this spelling.
        "avatarUrl": user.avatar_url,
        "accessToken": grant.access_token,
        "refreshToken": grant.refresh_token,
        "expiry": expiry,
        "isNew": is_new,
        "rawUser": user.raw,
    })
}
