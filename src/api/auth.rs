//! Sign-in endpoints for auth collections: the methods a collection
//! offers, password and OAuth2 sign-in (OTP's are in `otp`), token
//! refresh and impersonation. Superusers and app users share them
//! (`_superusers` is an auth collection like any other).

use std::sync::Arc;

use poem::{Request, http::StatusCode};
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, payload::Json};
use serde_json::{Value, json};

use super::{
    ApiTags,
    body::{self, LateBody},
    guard::{self, SuperuserInPerson},
    path, refresh_cookie,
};
use crate::{
    app::AppState,
    auth::{
        caller::load_auth_record,
        oauth2::{self, CodeSignIn},
        password_signin::{self, PasswordLogin},
        signin::{self, Completed, RequestMeta, SignedIn},
        token,
    },
    http::{
        client::ClientInfo,
        error::{ApiError, messages},
        query_param,
    },
    identity::Caller,
    query::compile::RuleContext,
    schema::{Collection, auth_options::AuthOptions},
    validation::{FieldError, FieldErrors},
};

#[derive(ApiResponse)]
pub enum AuthResponse {
    /// Signed in: an access token and the account's record.
    #[oai(status = 200)]
    Ok(Json<Value>, #[oai(header = "Set-Cookie")] Option<String>),
    /// A first factor is proven; sign in again with another method and
    /// this `{mfaId}`.
    #[oai(status = 401)]
    MfaRequired(Json<Value>),
}

/// The facts of the request a sign-in uses, read here once.
fn request_meta(req: &Request) -> RequestMeta {
    RequestMeta {
        ip: req
            .extensions()
            .get::<ClientInfo>()
            .map(|c| c.ip.to_string())
            .unwrap_or_default(),
        user_agent: req
            .headers()
            .get(poem::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
        mfa_id: query_param(req, "mfaId"),
        wants_cookie: refresh_cookie::wanted(req),
    }
}

/// A sign-in answer's record with `?expand=` applied, as PocketBase
/// expands it: as the record that just signed in (its token), so its own
/// view rules decide what each relation shows. Nothing to do without
/// `expand`.
async fn expanded(state: &AppState, req: &Request, body: &mut Value) -> Result<(), ApiError> {
    let raw = query_param(req, "expand").filter(|e| !e.trim().is_empty());
    let Some(raw) = raw else {
        return Ok(());
    };
    let tree = crate::records::expand::ExpandTree::parse(&raw);
    let token = body.get("token").and_then(Value::as_str).map(str::to_owned);
    let caller = state
        .auth_records
        .identify(
            &state.schema,
            &state.store.data,
            &state.sessions,
            token.as_deref(),
        )
        .await
        .map_err(ApiError::internal)?;
    let Caller::Record(signed_in, _) = &caller else {
        return Ok(());
    };
    let c = signed_in.collection.clone();
    let Some(Value::Object(record)) = body.get_mut("record").map(Value::take) else {
        return Ok(());
    };
    let requester = guard::requester_as(caller, req, None);
    let shaped = crate::records::answer::one(&state.records(), &requester, &c, record, &tree, None)
        .await
        .map_err(ApiError::from)?;
    body["record"] = shaped;
    Ok(())
}

/// Ends every sign-in method's endpoint: completes the sign-in and
/// answers it.
pub async fn complete(state: &AppState, req: &Request, signed_in: SignedIn) -> poem::Result<AuthResponse> {
    // `superuserIPs`: a superuser signs in only from the listed addresses.
    if signed_in.collection.id == crate::schema::defaults::SUPERUSERS_ID {
        crate::http::client::superuser_may_call(req, &state.settings.get())?;
    }
    let completed = signin::complete(&state.auth(), &request_meta(req), signed_in)
        .await
        .map_err(ApiError::from)?;
    Ok(match completed {
        Completed::Session { mut body, cookie } => {
            expanded(state, req, &mut body).await?;
            AuthResponse::Ok(Json(body), cookie.as_ref().map(refresh_cookie::set))
        }
        Completed::MfaRequired(mfa_id) => AuthResponse::MfaRequired(Json(json!({"mfaId": mfa_id}))),
    })
}

#[derive(Object, Default)]
pub struct ImpersonateBody {
    /// Token lifetime in seconds; the collection's auth token duration if 0.
    /// Signed, so a negative one is a validation error (as PocketBase
    /// answers it) rather than a body that does not load.
    #[oai(default)]
    duration: i64,
}

/// The typed options of an auth collection, which every auth collection of
/// the catalog has.
fn auth_options(c: &Collection) -> Result<&AuthOptions, ApiError> {
    c.auth()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("auth collection {} has no auth options", c.name)))
}

#[derive(Object)]
pub struct OAuth2AuthBody {
    /// The provider's name in the collection's `oauth2.providers`.
    #[oai(default)]
    provider: String,
    /// The authorization code the provider redirected back with.
    #[oai(default)]
    code: String,
    /// The PKCE verifier `auth-methods` handed out with the challenge.
    #[oai(default, rename = "codeVerifier")]
    code_verifier: String,
    /// The redirect URL the code was issued for.
    #[oai(default, rename = "redirectURL")]
    redirect_url: String,
    /// Fields for the account, should this sign-in create one.
    #[oai(default, rename = "createData")]
    create_data: Option<Value>,
    /// Completes a multi-factor sign-in begun with another method (text;
    /// any JSON value is taken, as `body::cast_text` says).
    #[oai(rename = "mfaId")]
    mfa_id: Option<Value>,
}

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
    /// Completes a multi-factor sign-in begun with another method (text;
    /// any JSON value is taken, as `body::cast_text` says).
    mfa_id: Option<Value>,
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
    /// Which sign-in methods the collection offers.
    #[oai(
        path = "/collections/:collection/auth-methods",
        method = "get",
        operation_id = "listAuthMethods"
    )]
    async fn auth_methods(&self, collection: Path<String>) -> poem::Result<Json<Value>> {
        let c = path::auth_collection(&self.state, &collection.0)?;
        let o = auth_options(&c)?;
        let password = &o.password_auth;
        // A disabled method offers no identity fields, as PocketBase says.
        let fields: &[String] = if password.enabled {
            &password.identity_fields
        } else {
            &[]
        };
        // A disabled method answers a zero duration, as PocketBase does.
        let duration = |enabled: bool, seconds: u64| if enabled { seconds } else { 0 };
        let has = |f: &str| fields.iter().any(|v| v == f);
        let providers = oauth2::methods::providers(&c);
        Ok(Json(json!({
            "password": {"enabled": password.enabled, "identityFields": fields},
            "oauth2": {"enabled": o.oauth2.enabled, "providers": providers},
            "mfa": {"enabled": o.mfa.enabled, "duration": duration(o.mfa.enabled, o.mfa.duration)},
            "otp": {"enabled": o.otp.enabled, "duration": duration(o.otp.enabled, o.otp.duration)},
            // Older SDKs read these.
            "authProviders": providers,
            "usernamePassword": password.enabled && has("username"),
            "emailPassword": password.enabled && has("email"),
        })))
    }

    /// A fresh token and the current record for the signed-in caller.
    #[oai(
        path = "/collections/:collection/auth-refresh",
        method = "post",
        operation_id = "authRefresh"
    )]
    async fn auth_refresh(&self, req: &Request, collection: Path<String>) -> poem::Result<Json<Value>> {
        guard::refuse_api_key(req)?;
        let c = path::route_collection(&self.state, &collection.0)?;
        let (record, presented) = match guard::identify(&self.state, req).await? {
            Caller::Guest => return Err(ApiError::unauthorized(messages::UNAUTHORIZED).into()),
            Caller::Record(r, _) if r.collection.id != c.id => {
                // PocketBase's message names the caller's own collection.
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "The request requires auth record from {} collection.",
                        r.collection.name
                    ),
                )
                .into());
            }
            Caller::Record(r, presented) => (r, presented),
        };
        let c = path::auth_kind(c)?;
        // Re-read the record: the cached one may predate an update.
        let fresh = load_auth_record(&self.state.store.data, c.clone(), record.id.clone())
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::unauthorized(messages::UNAUTHORIZED))?;
        // An impersonation token is not refreshable: it is returned as is.
        let token = match (presented.refreshable, &presented.session) {
            // A session's token stays bound to its session.
            (true, Some(sid)) => {
                let duration = token::auth_duration(&c).map_err(ApiError::from)?;
                token::issue_for_session(&c, &fresh.id, &fresh.token_key, duration, sid)
                    .map_err(ApiError::from)?
            }
            (true, None) => token::issue(&c, &fresh.id, &fresh.token_key).map_err(ApiError::from)?,
            (false, _) => presented.token,
        };
        let mut body = json!({"token": token, "record": fresh.record});
        expanded(&self.state, req, &mut body).await?;
        Ok(Json(body))
    }

    /// Superusers only: a non-refreshable token for any auth record.
    #[oai(path = "/collections/:collection/impersonate/:id", method = "post")]
    async fn impersonate(
        &self,
        _superuser: SuperuserInPerson,
        req: &Request,
        collection: Path<String>,
        id: Path<String>,
        body: LateBody<ImpersonateBody>,
    ) -> poem::Result<Json<Value>> {
        let c = path::impersonated_collection(&self.state, &collection.0)?;
        let id = path::record_id(&id.0)?;
        let target = load_auth_record(&self.state.store.data, c.clone(), id.as_str().to_owned())
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(ApiError::not_found)?;
        let duration = match u64::try_from(body.read()?.duration) {
            Err(_) => {
                let negative = FieldError::new(
                    "validation_min_greater_equal_than_required",
                    "Must be no less than 0.",
                )
                .with_params(json!({"threshold": 0}));
                return Err(
                    ApiError::validation(FieldErrors::from([("duration".to_owned(), negative)])).into(),
                );
            }
            Ok(0) => token::auth_duration(&c).map_err(ApiError::from)?,
            Ok(d) => d,
        };
        let token =
            token::issue_with(&c, &target.id, &target.token_key, duration, false).map_err(ApiError::from)?;
        let mut body = json!({"token": token, "record": target.record});
        expanded(&self.state, req, &mut body).await?;
        Ok(Json(body))
    }

    /// Sign in with an identity (email by default) and password; answers a
    /// token and the account's record.
    #[oai(
        path = "/collections/:collection/auth-with-password",
        method = "post",
        operation_id = "authWithPassword"
    )]
    async fn auth_with_password(
        &self,
        req: &Request,
        collection: Path<String>,
        body: LateBody<PasswordAuthBody>,
    ) -> poem::Result<AuthResponse> {
        guard::refuse_api_key(req)?;
        let c = path::auth_collection(&self.state, &collection.0)?;
        password_signin::check_enabled(&c).map_err(ApiError::from)?;
        let body = body.read()?;
        let signed_in = password_signin::with_password(
            &self.state.auth(),
            c,
            PasswordLogin {
                identity: body.identity,
                password: body.password,
                identity_field: body.identity_field,
                mfa_id: body::cast_text(body.mfa_id),
            },
        )
        .await
        .map_err(ApiError::from)?;
        complete(&self.state, req, signed_in).await
    }

    /// Sign in through an OAuth2 provider with an authorization code and
    /// its PKCE verifier; links or creates the account as needed.
    #[oai(
        path = "/collections/:collection/auth-with-oauth2",
        method = "post",
        operation_id = "authWithOAuth2"
    )]
    async fn auth_with_oauth2(
        &self,
        req: &Request,
        collection: Path<String>,
        body: LateBody<OAuth2AuthBody>,
    ) -> poem::Result<AuthResponse> {
        guard::refuse_api_key(req)?;
        let c = path::auth_collection(&self.state, &collection.0)?;
        oauth2::check_enabled(&c).map_err(ApiError::from)?;
        let body = body.read()?;
        // PocketBase's form takes an object or nothing; anything else is
        // a body it cannot load (and Cairn went on to the provider).
        let create_data = match body.create_data {
            Some(Value::Object(data)) => data,
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(_) => return Err(ApiError::bad_request(messages::BAD_REQUEST_BODY).into()),
        };
        let requester = guard::requester(&self.state, req, Some(&create_data))
            .await?
            .in_context(RuleContext::OAuth2);
        let input = CodeSignIn {
            provider: body.provider,
            code: body.code,
            code_verifier: body.code_verifier,
            redirect_url: body.redirect_url,
            create_data,
            mfa_id: body::cast_text(body.mfa_id),
        };
        let signed_in = oauth2::sign_in(&self.state.auth(), &self.state.records(), &requester, c, input)
            .await
            .map_err(ApiError::from)?;
        complete(&self.state, req, signed_in).await
    }
}
