//! Sign-in with a one-time code by email: `request-otp` mails a code and
//! answers its `otpId`; `auth-with-otp` trades id and code for a token.

use std::sync::Arc;

use poem::Request;
use poem_openapi::{Object, OpenApi, param::Path, payload::Json};
use serde_json::{Value, json};

use super::{
    ApiTags,
    auth::{AuthResponse, complete},
    body::{self, LateBody},
    guard, path,
};
use crate::{app::AppState, auth::otp, http::error::ApiError};

#[derive(Object)]
pub struct RequestOtpBody {
    #[oai(default)]
    email: String,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct AuthWithOtpBody {
    #[oai(default)]
    otp_id: String,
    /// The code from the mail.
    #[oai(default)]
    password: String,
    /// Completes a multi-factor sign-in begun with another method (text;
    /// any JSON value is taken, as `body::cast_text` says).
    mfa_id: Option<Value>,
}

pub struct OtpApi {
    state: Arc<AppState>,
}

impl OtpApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[OpenApi(tag = "ApiTags::Auth")]
impl OtpApi {
    /// Mails a one-time sign-in code; answers `{otpId}` for any address.
    #[oai(
        path = "/collections/:collection/request-otp",
        method = "post",
        operation_id = "requestOTP"
    )]
    async fn request_otp(
        &self,
        req: &Request,
        collection: Path<String>,
        body: LateBody<RequestOtpBody>,
    ) -> poem::Result<Json<Value>> {
        guard::refuse_api_key(req)?;
        let c = path::auth_collection(&self.state, &collection.0)?;
        let c = otp::Enabled::check(c).map_err(ApiError::from)?;
        let email = body::email("email", &body.read()?.email)?;
        let otp_id = otp::request(&self.state.auth(), c, &email)
            .await
            .map_err(ApiError::from)?;
        Ok(Json(json!({"otpId": otp_id})))
    }

    /// Signs in with an `otpId` and the code that was mailed for it.
    #[oai(
        path = "/collections/:collection/auth-with-otp",
        method = "post",
        operation_id = "authWithOTP"
    )]
    async fn auth_with_otp(
        &self,
        req: &Request,
        collection: Path<String>,
        body: LateBody<AuthWithOtpBody>,
    ) -> poem::Result<AuthResponse> {
        guard::refuse_api_key(req)?;
        let c = path::auth_collection(&self.state, &collection.0)?;
        let c = otp::Enabled::check(c).map_err(ApiError::from)?;
        let body = body.read()?;
        let signed_in = otp::sign_in(
            &self.state.auth(),
            c,
            &body.otp_id,
            &body.password,
            body::cast_text(body.mfa_id),
        )
        .await
        .map_err(ApiError::from)?;
        complete(&self.state, req, signed_in).await
    }
}
