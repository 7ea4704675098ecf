//! Who may call what, decided in one place: identify the caller from the
//! request's token, note them for the access log, and refuse early when a
//! route is for superusers only.

use poem::{Request, http::header};

use crate::{
    app::AppState,
    auth::caller::Caller,
    http::{error::ApiError, middleware::access_log::AuthSlot},
};

/// The caller of `req`; an invalid or expired token makes a guest.
pub async fn identify(state: &AppState, req: &Request) -> Result<Caller, ApiError> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let caller = state
        .auth_records
        .identify(&state.schema, &state.store.data, header)
        .await
        .map_err(ApiError::internal)?;
    if let (Some(id), Some(slot)) = (caller.record_id(), req.extensions().get::<AuthSlot>()) {
        let _ = slot.0.set(id.to_owned());
    }
    Ok(caller)
}

/// Superusers only: 401 for guests, 403 for any other signed-in record.
pub async fn require_superuser(state: &AppState, req: &Request) -> Result<Caller, ApiError> {
    match identify(state, req).await? {
        Caller::Guest => Err(ApiError::unauthorized(crate::http::error::messages::UNAUTHORIZED)),
        c if c.is_superuser() => Ok(c),
        _ => Err(ApiError::new(
            poem::http::StatusCode::FORBIDDEN,
            "The authorized record is not allowed to perform this action.",
        )),
    }
}
