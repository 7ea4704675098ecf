//! Account flows by email under `/collections/{c}/`: verification,
//! password reset and email change, as PocketBase. Requests answer 204
//! whether or not the address has an account.

use std::sync::Arc;

use poem::Request;
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path};

use super::{
    ApiTags,
    body::{self, LateBody},
    guard, path,
};
use crate::{
    app::AppState,
    auth::{
        flows::{self, EmailChange, Verifiable},
        password_reset::{self, NewPassword},
    },
    http::error::ApiError,
};

#[derive(ApiResponse)]
pub enum Done {
    /// Accepted; nothing to return.
    #[oai(status = 204)]
    NoContent,
}

#[derive(Object)]
pub struct EmailBody {
    #[oai(default)]
    email: String,
}

#[derive(Object)]
pub struct TokenBody {
    #[oai(default)]
    token: String,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct ConfirmResetBody {
    #[oai(default)]
    token: String,
    #[oai(default)]
    password: String,
    #[oai(default)]
    password_confirm: String,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct EmailChangeBody {
    /// The address to move the signed-in account to.
    #[oai(default)]
    new_email: String,
}

#[derive(Object)]
pub struct ConfirmEmailChangeBody {
    #[oai(default)]
    token: String,
    /// The account's current password.
    #[oai(default)]
    password: String,
}

pub struct AccountApi {
    state: Arc<AppState>,
}

impl AccountApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[OpenApi(tag = "ApiTags::Auth")]
impl AccountApi {
    /// Mails a verification link to an unverified account.
    #[oai(
        path = "/collections/:collection/request-verification",
        method = "post",
        operation_id = "requestVerification"
    )]
    async fn request_verification(
        &self,
        req: &Request,
        collection: Path<String>,
        body: LateBody<EmailBody>,
    ) -> poem::Result<Done> {
        guard::refuse_api_key(req)?;
        let c = path::auth_collection(&self.state, &collection.0)?;
        let c = Verifiable::check(c).map_err(ApiError::from)?;
        let email = body::email("email", &body.read()?.email)?;
        flows::request_verification(&self.state.auth(), c, &email)
            .await
            .map_err(ApiError::from)?;
        Ok(Done::NoContent)
    }

    /// Marks the account of a verification token as verified.
    #[oai(
        path = "/collections/:collection/confirm-verification",
        method = "post",
        operation_id = "confirmVerification"
    )]
    async fn confirm_verification(
        &self,
        req: &Request,
        collection: Path<String>,
        body: LateBody<TokenBody>,
    ) -> poem::Result<Done> {
        guard::refuse_api_key(req)?;
        let c = path::auth_collection(&self.state, &collection.0)?;
        let c = Verifiable::check(c).map_err(ApiError::from)?;
        flows::confirm_verification(&self.state.auth(), c, &body.read()?.token)
            .await
            .map_err(ApiError::from)?;
        Ok(Done::NoContent)
    }

    /// Mails a password-reset link.
    #[oai(
        path = "/collections/:collection/request-password-reset",
        method = "post",
        operation_id = "requestPasswordReset"
    )]
    async fn request_password_reset(
        &self,
        req: &Request,
        collection: Path<String>,
        body: LateBody<EmailBody>,
    ) -> poem::Result<Done> {
        guard::refuse_api_key(req)?;
        let c = path::auth_collection(&self.state, &collection.0)?;
        let email = body::email("email", &body.read()?.email)?;
        flows::request_password_reset(&self.state.auth(), c, &email)
            .await
            .map_err(ApiError::from)?;
        Ok(Done::NoContent)
    }

    /// Sets a new password with a reset token; every existing token of the
    /// account stops working.
    #[oai(
        path = "/collections/:collection/confirm-password-reset",
        method = "post",
        operation_id = "confirmPasswordReset"
    )]
    async fn confirm_password_reset(
        &self,
        req: &Request,
        collection: Path<String>,
        body: LateBody<ConfirmResetBody>,
    ) -> poem::Result<Done> {
        guard::refuse_api_key(req)?;
        let c = path::auth_collection(&self.state, &collection.0)?;
        let body = body.read()?;
        let input = NewPassword {
            token: body.token,
            password: body.password,
            password_confirm: body.password_confirm,
        };
        password_reset::confirm_password_reset(&self.state.auth(), c, input)
            .await
            .map_err(ApiError::from)?;
        Ok(Done::NoContent)
    }

    /// Mails a confirmation link to the signed-in account's new address.
    #[oai(
        path = "/collections/:collection/request-email-change",
        method = "post",
        operation_id = "requestEmailChange"
    )]
    async fn request_email_change(
        &self,
        req: &Request,
        collection: Path<String>,
        body: LateBody<EmailChangeBody>,
    ) -> poem::Result<Done> {
        guard::refuse_api_key(req)?;
        let c = path::route_collection(&self.state, &collection.0)?;
        let caller = guard::identify(&self.state, req).await?;
        // Only a record of the path's collection passes, so that
        // collection is an auth collection past this check.
        let change = EmailChange::check(c, &caller).map_err(ApiError::from)?;
        let new_email = body::email("newEmail", &body.read()?.new_email)?;
        flows::request_email_change(&self.state.auth(), change, &new_email)
            .await
            .map_err(ApiError::from)?;
        Ok(Done::NoContent)
    }

    /// Moves the account to its new address, given the token and the
    /// account's password; every existing token stops working.
    #[oai(
        path = "/collections/:collection/confirm-email-change",
        method = "post",
        operation_id = "confirmEmailChange"
    )]
    async fn confirm_email_change(
        &self,
        req: &Request,
        collection: Path<String>,
        body: LateBody<ConfirmEmailChangeBody>,
    ) -> poem::Result<Done> {
        guard::refuse_api_key(req)?;
        let c = path::auth_collection(&self.state, &collection.0)?;
        let body = body.read()?;
        flows::confirm_email_change(&self.state.auth(), c, &body.token, &body.password)
            .await
            .map_err(ApiError::from)?;
        Ok(Done::NoContent)
    }
}
