//! What a route's path names, resolved once per request: the collection
//! (by id or name, from the catalog as it is now) and the record id. The
//! handlers call these after identifying the caller, so a caller refused
//! for who they are hears that before whether the collection exists.
//! The services then take the resolved `Arc<Collection>`, never a name.

use std::sync::Arc;

use poem::http::StatusCode;

use crate::{
    app::AppState,
    http::error::{ApiError, messages},
    records::{RecordId, service::RecordError},
    schema::{Collection, CollectionKind},
};

/// The collection `id_or_name` names, if there is one.
pub fn find_collection(state: &AppState, id_or_name: &str) -> Option<Arc<Collection>> {
    state.schema.catalog().get(id_or_name).cloned()
}

/// The collection of a records route: 404 "Missing collection context."
/// when there is none, as PocketBase answers.
pub fn collection(state: &AppState, id_or_name: &str) -> Result<Arc<Collection>, ApiError> {
    found(find_collection(state, id_or_name))
}

/// `collection`, for a lookup already made (`find_collection`).
pub fn found(c: Option<Arc<Collection>>) -> Result<Arc<Collection>, ApiError> {
    c.ok_or_else(|| RecordError::NoCollection.into())
}

/// The auth collection `id_or_name` names, if there is one (a base or
/// view collection is not one).
pub fn find_auth_collection(state: &AppState, id_or_name: &str) -> Option<Arc<Collection>> {
    find_collection(state, id_or_name).filter(|c| c.kind == CollectionKind::Auth)
}

/// The collection of a sign-in route (`auth-methods`, `auth-refresh`,
/// `impersonate`, `auth-with-password`, `auth-with-oauth2`): 404 "Missing
/// collection context." when the path names no auth collection.
pub fn auth_collection(state: &AppState, id_or_name: &str) -> Result<Arc<Collection>, ApiError> {
    find_auth_collection(state, id_or_name)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, messages::MISSING_COLLECTION))
}

/// The collection of an account flow by email (verification, password
/// reset, email change, OTP): the same 404, which PocketBase words
/// "Missing or invalid collection context." on these routes.
pub fn flow_collection(state: &AppState, id_or_name: &str) -> Result<Arc<Collection>, ApiError> {
    find_auth_collection(state, id_or_name)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "Missing or invalid collection context."))
}

/// The record id of a path; the router never gives an empty one, and no
/// record has one, so it is not found either way.
pub fn record_id(raw: &str) -> Result<RecordId, ApiError> {
    RecordId::parse(raw).ok_or_else(|| RecordError::NotFound.into())
}
