//! `/api/sessions`: Cairn's refresh-token sessions (not in PocketBase).
//! Refresh with rotation, the caller's sessions, revoking one, logout.
//! The rules live in `auth::sessions`; this file reads the request (the
//! body, in any encoding, or the HttpOnly cookie) and shapes the answers.

use std::sync::Arc;

use poem::{Request, http::StatusCode};
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, payload::Json};
use serde_json::Value;

use super::{
    ApiTags,
    auth::AuthResponse,
    body::Body,
    guard::{self, Superuser},
    path,
    refresh_cookie::{self, Choice},
};
use crate::{
    app::AppState,
    auth::{
        caller::load_auth_record,
        sessions::{self, RefreshCookie, SessionError, SessionOptions},
        signin,
    },
    http::error::{ApiError, messages},
    identity::Caller,
    schema::CollectionKind,
};

const INVALID_REFRESH: &str = "The refresh token is invalid or has expired.";
const NO_SESSION: &str = "There is no session to end for this request.";

#[derive(Object)]
pub struct SessionList {
    items: Vec<SessionInfo>,
}

/// A session as its owner sees it.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct SessionInfo {
    id: String,
    user_agent: String,
    ip: String,
    created: String,
    last_used: String,
    expires: String,
    /// Whether this is the session of the token that asked.
    current: bool,
}

impl From<sessions::SessionInfo> for SessionInfo {
    fn from(s: sessions::SessionInfo) -> Self {
        Self {
            id: s.id,
            user_agent: s.user_agent,
            ip: s.ip,
            created: s.created,
            last_used: s.last_used,
            expires: s.expires,
            current: s.current,
        }
    }
}

#[derive(ApiResponse)]
pub enum Ended {
    /// The session has ended; a refresh-token cookie is cleared.
    #[oai(status = 204)]
    NoContent(#[oai(header = "Set-Cookie")] Option<String>),
}

/// What the refresh and logout bodies may carry.
#[derive(Object, Default)]
#[oai(rename_all = "camelCase")]
pub struct RefreshTokenBody {
    /// The refresh token; a `cairn_refresh_*` cookie is read when absent.
    refresh_token: Option<Value>,
    /// The auth collection (id or name) whose refresh cookie to read, for a
    /// browser signed in to several (the dashboard as a superuser, an app
    /// as a user); without it, the request's only refresh cookie is read.
    collection: Option<String>,
}

const SEVERAL_COOKIES: &str =
    "The request carries refresh cookies of several auth collections; name the one to use in \"collection\".";

/// Where a request's refresh token came from.
enum Token {
    None,
    /// `refreshToken` in the body.
    Body(String),
    /// A cookie, and its name.
    Cookie(String, String),
    /// Cookies of several auth collections, and none named.
    Several,
}

impl Token {
    /// The token, and the name of the cookie it came from, if it did.
    fn into_parts(self) -> Option<(String, Option<String>)> {
        match self {
            Token::Body(t) => Some((t, None)),
            Token::Cookie(t, name) => Some((t, Some(name))),
            Token::None | Token::Several => None,
        }
    }
}

/// The refresh token of the body (`refreshToken`) or, failing that, of a
/// cookie (`collection`'s, if the body names one).
fn presented_refresh_token(
    state: &AppState,
    req: &Request,
    body: RefreshTokenBody,
) -> Result<Token, ApiError> {
    match body.refresh_token {
        Some(Value::String(token)) if !token.is_empty() => Ok(Token::Body(token)),
        None | Some(Value::Null | Value::String(_)) => {
            let wanted = match body.collection.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(c) => match state.schema.catalog().get(c) {
                    Some(c) if c.kind == CollectionKind::Auth => Some(c.id.clone()),
                    // No such auth collection: so no cookie of it either.
                    _ => return Ok(Token::None),
                },
            };
            Ok(match refresh_cookie::chosen(req, wanted.as_deref()) {
                Choice::None => Token::None,
                Choice::One(c) => Token::Cookie(c.token, c.name),
                Choice::Several => Token::Several,
            })
        }
        Some(_) => Err(ApiError::bad_request(messages::BAD_REQUEST_BODY)),
    }
}

/// A 401 that also clears the refresh cookie `cookie`, when one was presented.
fn refused(cookie: Option<&str>) -> poem::Error {
    let mut resp = ApiError::unauthorized(INVALID_REFRESH).to_response();
    if let Some(name) = cookie
        && let Ok(v) = refresh_cookie::clear(name).parse()
    {
        resp.headers_mut().insert(poem::http::header::SET_COOKIE, v);
    }
    poem::Error::from_response(resp)
}

/// The `Set-Cookie` that clears the refresh cookie of the caller's auth
/// collection, when the request carries one.
fn clear_own_cookie(req: &Request, collection_id: &str) -> Option<String> {
    match refresh_cookie::chosen(req, Some(collection_id)) {
        Choice::One(c) => Some(refresh_cookie::clear(&c.name)),
        Choice::None | Choice::Several => None,
    }
}

pub struct SessionsApi {
    state: Arc<AppState>,
}

impl SessionsApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[OpenApi(tag = "ApiTags::Sessions")]
impl SessionsApi {
    /// Exchanges a refresh token, from the body (`{"refreshToken": "…"}`)
    /// or a `cairn_refresh_*` cookie (the one of `collection`, if named),
    /// for a new access token and a new refresh token. The presented one is retired: presenting it again
    /// ends the whole session.
    #[oai(path = "/sessions/refresh", method = "post")]
    async fn refresh(&self, req: &Request, body: Body<RefreshTokenBody>) -> poem::Result<AuthResponse> {
        guard::refuse_api_key(req)?;
        let state = &self.state;
        let (presented, from_cookie) = match presented_refresh_token(state, req, body.0)? {
            Token::Several => return Err(ApiError::bad_request(SEVERAL_COOKIES).into()),
            token => token.into_parts().ok_or_else(|| refused(None))?,
        };
        let from_cookie = from_cookie.as_deref();
        let catalog = state.schema.catalog();
        let key_catalog = catalog.clone();
        let rotated = state
            .sessions
            .rotate(
                &state.store.data,
                &presented,
                move |conn, collection_id, record_id| {
                    let Some(c) = key_catalog.by_id(collection_id) else {
                        return Ok(None);
                    };
                    crate::auth::caller::read_token_key(conn, c, record_id)
                },
                move |collection_id| {
                    catalog
                        .by_id(collection_id)
                        .filter(|c| c.kind == CollectionKind::Auth)
                        .map(|c| SessionOptions::of(c).refresh_token_duration)
                },
            )
            .await;
        let issued = match rotated {
            Ok(issued) => issued,
            Err(SessionError::Reused {
                session_id,
                collection_id,
                record_id,
            }) => {
                // Never the token itself: only whose session it was.
                tracing::warn!(
                    session = %session_id,
                    collection = %collection_id,
                    record = %record_id,
                    "retired refresh token presented again; session revoked"
                );
                return Err(refused(from_cookie));
            }
            Err(SessionError::Invalid) => return Err(refused(from_cookie)),
            Err(SessionError::Store(e)) => return Err(ApiError::internal(e).into()),
        };
        let c = state
            .schema
            .catalog()
            .by_id(&issued.collection_id)
            .cloned()
            .ok_or_else(|| refused(from_cookie))?;
        let record = load_auth_record(&state.store.data, c.clone(), issued.record_id.clone())
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| refused(from_cookie))?;
        let cookie_mode = from_cookie.is_some() || signin::cookie_mode(refresh_cookie::wanted(req), &c);
        let body = signin::session_body(
            &c,
            &record.id,
            &record.token_key,
            record.record.clone(),
            &issued,
            cookie_mode,
            SessionOptions::of(&c).access_token_duration,
        )
        .map_err(ApiError::from)?;
        let cookie = cookie_mode.then(|| refresh_cookie::set(&RefreshCookie::new(&issued, &c)));
        Ok(AuthResponse::Ok(Json(body), cookie))
    }

    /// The caller's live sessions, newest first; `current` marks the one
    /// the request's token belongs to.
    #[oai(path = "/sessions", method = "get")]
    async fn list(&self, req: &Request) -> poem::Result<Json<SessionList>> {
        guard::refuse_api_key(req)?;
        let (record, current) = signed_in(&self.state, req).await?;
        let items = self
            .state
            .sessions
            .list(
                &self.state.store.data,
                &record.collection.id,
                &record.id,
                &record.token_key,
                current.as_deref(),
            )
            .await
            .map_err(ApiError::internal)?
            .into_iter()
            .map(SessionInfo::from)
            .collect();
        Ok(Json(SessionList { items }))
    }

    /// Ends one of the caller's sessions: its refresh token stops working
    /// and so do the access tokens issued for it.
    #[oai(path = "/sessions/:id", method = "delete")]
    async fn revoke(&self, req: &Request, id: Path<String>) -> poem::Result<Ended> {
        guard::refuse_api_key(req)?;
        let (record, current) = signed_in(&self.state, req).await?;
        let ended = self
            .state
            .sessions
            .revoke(&self.state.store.data, &record.collection.id, &record.id, &id.0)
            .await
            .map_err(ApiError::internal)?;
        if !ended {
            return Err(ApiError::not_found().into());
        }
        let cookie = (current.as_deref() == Some(id.0.as_str()))
            .then(|| clear_own_cookie(req, &record.collection.id))
            .flatten();
        Ok(Ended::NoContent(cookie))
    }

    /// The live sessions of auth record `id` (superusers only), newest
    /// first: for the dashboard's record editor.
    #[oai(path = "/collections/:collection/records/:id/sessions", method = "get")]
    async fn record_sessions(
        &self,
        _superuser: Superuser,
        req: &Request,
        collection: Path<String>,
        id: Path<String>,
    ) -> poem::Result<Json<SessionList>> {
        guard::refuse_api_key(req)?;
        let record = self.auth_record(&collection.0, &id.0).await?;
        let items = self
            .state
            .sessions
            .list(
                &self.state.store.data,
                &record.collection.id,
                &record.id,
                &record.token_key,
                None,
            )
            .await
            .map_err(ApiError::internal)?
            .into_iter()
            .map(SessionInfo::from)
            .collect();
        Ok(Json(SessionList { items }))
    }

    /// Ends session `session` of auth record `id` (superusers only).
    #[oai(
        path = "/collections/:collection/records/:id/sessions/:session",
        method = "delete"
    )]
    async fn revoke_record_session(
        &self,
        _superuser: Superuser,
        req: &Request,
        collection: Path<String>,
        id: Path<String>,
        session: Path<String>,
    ) -> poem::Result<Ended> {
        guard::refuse_api_key(req)?;
        let record = self.auth_record(&collection.0, &id.0).await?;
        let ended = self
            .state
            .sessions
            .revoke(
                &self.state.store.data,
                &record.collection.id,
                &record.id,
                &session.0,
            )
            .await
            .map_err(ApiError::internal)?;
        if !ended {
            return Err(ApiError::not_found().into());
        }
        Ok(Ended::NoContent(None))
    }

    /// Ends the current session: the one of the refresh token in the body
    /// or cookie, or else the one of the access token.
    #[oai(path = "/sessions/logout", method = "post")]
    async fn logout(&self, req: &Request, body: Body<RefreshTokenBody>) -> poem::Result<Ended> {
        guard::refuse_api_key(req)?;
        let state = &self.state;
        // Cookies of several collections and none named: the access
        // token says whose session ends.
        if let Some((token, cookie)) = presented_refresh_token(state, req, body.0)?.into_parts()
            && state
                .sessions
                .revoke_by_token(&state.store.data, &token)
                .await
                .map_err(ApiError::internal)?
                .is_some()
        {
            return Ok(Ended::NoContent(cookie.map(|name| refresh_cookie::clear(&name))));
        }
        let (record, current) = signed_in(state, req).await?;
        let Some(sid) = current else {
            return Err(ApiError::bad_request(NO_SESSION).into());
        };
        state
            .sessions
            .revoke(&state.store.data, &record.collection.id, &record.id, &sid)
            .await
            .map_err(ApiError::internal)?;
        Ok(Ended::NoContent(clear_own_cookie(req, &record.collection.id)))
    }
}

/// The signed-in caller and the session of their token; 401 for guests.
impl SessionsApi {
    /// Record `id` of auth collection `collection`: 404 when either is
    /// not there (or the collection is not an auth collection).
    async fn auth_record(
        &self,
        collection: &str,
        id: &str,
    ) -> Result<Arc<crate::identity::AuthRecord>, ApiError> {
        let c = path::auth_collection(&self.state, collection)?;
        let id = path::record_id(id)?;
        load_auth_record(&self.state.store.data, c, id.as_str().to_owned())
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(ApiError::not_found)
    }
}

async fn signed_in(
    state: &AppState,
    req: &Request,
) -> Result<(Arc<crate::identity::AuthRecord>, Option<String>), ApiError> {
    match guard::identify(state, req).await? {
        Caller::Record(record, presented) => Ok((record, presented.session)),
        Caller::Guest => Err(ApiError::new(StatusCode::UNAUTHORIZED, messages::UNAUTHORIZED)),
    }
}
