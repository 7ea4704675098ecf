//! Sign-in endpoints for auth collections. For now: password sign-in,
//! which superusers and app users share (`_superusers` is an auth
//! collection like any other).

use std::sync::Arc;

use poem::Request;
use poem_openapi::{Object, OpenApi, param::Path, payload::Json};
use serde_json::{Value, json};

use super::ApiTags;
use crate::{
    app::AppState,
    auth::login::{self, PasswordLogin},
    http::error::ApiError,
};

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct PasswordAuthBody {
    /// The email (or another identity field) of the account.
    #[oai(default)]
    identity: String,
    #[oai(default)]
    password: String,
    /// Restricts the lookup to this one identity field.
    #[oai(default)]
    identity_field: String,
}

pub struct AuthApi {
    state: Arc<AppState>,
}

impl AuthApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[OpenApi(tag = "ApiTags::Auth")]
impl AuthApi {
    /// Sign in with an identity (email by default) and password; answers a
    /// token and the account's record.
    #[oai(path = "/collections/:collection/auth-with-password", method = "post")]
    async fn auth_with_password(
        &self,
        _req: &Request,
        collection: Path<String>,
        body: Json<PasswordAuthBody>,
    ) -> poem::Result<Json<Value>> {
        let body = body.0;
        let session = login::with_password(
            &self.state,
            &collection.0,
            PasswordLogin {
                identity: body.identity,
                password: body.password,
                identity_field: body.identity_field,
            },
        )
        .await
        .map_err(ApiError::from)?;
        Ok(Json(json!({"token": session.token, "record": session.record})))
    }
}
