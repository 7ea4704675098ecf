//! `POST /api/installer/superuser`: creates the first superuser with the
//! installer token that `cairn serve` prints while there is none.

use std::sync::Arc;

use poem_openapi::{Object, OpenApi, param::Header, payload::Json};

use super::{ApiTags, body::Body};
use crate::{
    app::AppState,
    auth::superusers::{self, Credentials, SaveMode, SuperuserError},
    http::error::{ApiError, FieldError, FieldErrors},
};

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct NewSuperuser {
    #[oai(default)]
    email: String,
    #[oai(default)]
    password: String,
    #[oai(default)]
    password_confirm: String,
}

pub struct InstallerApi {
    state: Arc<AppState>,
}

impl InstallerApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[OpenApi(tag = "ApiTags::Installer")]
impl InstallerApi {
    /// Create the first superuser. Needs the installer token printed by
    /// `cairn serve`; refused once any superuser exists.
    #[oai(path = "/installer/superuser", method = "post")]
    async fn create_superuser(
        &self,
        #[oai(name = "Authorization")] authorization: Header<Option<String>>,
        body: Body<NewSuperuser>,
    ) -> poem::Result<Json<serde_json::Value>> {
        let token = authorization.0.unwrap_or_default();
        if !self.state.installer.verify(&token) {
            return Err(ApiError::unauthorized("The installer token is missing, invalid or expired.").into());
        }
        let input = body.0;
        let (credentials, mut errors) = match Credentials::parse(&input.email, &input.password) {
            Ok(credentials) => (Some(credentials), FieldErrors::new()),
            Err(SuperuserError::Invalid(errors)) => (None, errors),
            Err(other) => return Err(ApiError::from(other).into()),
        };
        if input.password != input.password_confirm {
            errors.insert("passwordConfirm".into(), FieldError::values_mismatch());
        }
        let Some(credentials) = credentials.filter(|_| errors.is_empty()) else {
            return Err(ApiError::validation(errors).into());
        };
        let created = superusers::save(
            &self.state.store.data,
            &self.state.hasher,
            credentials,
            SaveMode::CreateFirst,
        )
        .await
        .map_err(ApiError::from)?;
        Ok(Json(serde_json::to_value(created).map_err(ApiError::internal)?))
    }
}
