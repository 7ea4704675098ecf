//! What a route's path names, resolved once per request: the collection
//! (by id or name, from the catalog as it is now) and the record id. The
//! handlers call these after identifying the caller, so a caller refused
//! for who they are hears that before whether the collection exists
//! (but for the routes where PocketBase answers a missing collection
//! first: `route_collection`).
//! The services then take the resolved `Arc<Collection>`, never a name.

use std::sync::Arc;

use poem::http::StatusCode;

use crate::{
    app::AppState,
    http::error::ApiError,
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

/// PocketBase's 404 on an auth route whose path names no collection.
const NO_COLLECTION: &str = "Missing or invalid collection context.";
/// Its 404 where the path names a base or view collection.
const NO_AUTH_COLLECTION: &str = "Missing or invalid auth collection context.";

/// The collection of an auth route (`auth-methods`, the sign-ins,
/// `auth-refresh`, the account flows, OTP): a 404 when the path names no
/// collection, worded apart from the one for a collection that is not an
/// auth collection, as PocketBase words them.
pub fn auth_collection(state: &AppState, id_or_name: &str) -> Result<Arc<Collection>, ApiError> {
    auth_kind(route_collection(state, id_or_name)?)
}

/// The first half of `auth_collection`, for the routes that require a
/// signed-in record of the path's collection (`auth-refresh`,
/// `request-email-change`): PocketBase answers a path naming no collection
/// before it asks who the caller is, and whether the collection is an auth
/// collection only after (so a record of another collection hears the 403
/// that names its own). `auth_kind` is the second half.
pub fn route_collection(state: &AppState, id_or_name: &str) -> Result<Arc<Collection>, ApiError> {
    find_collection(state, id_or_name).ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, NO_COLLECTION))
}

/// `c`, if it is an auth collection.
pub fn auth_kind(c: Arc<Collection>) -> Result<Arc<Collection>, ApiError> {
    if c.kind == CollectionKind::Auth {
        Ok(c)
    } else {
        Err(ApiError::new(StatusCode::NOT_FOUND, NO_AUTH_COLLECTION))
    }
}

/// The collection of `impersonate`, which PocketBase answers with the
/// auth wording whether the path names no collection or one that is not
/// an auth collection.
pub fn impersonated_collection(state: &AppState, id_or_name: &str) -> Result<Arc<Collection>, ApiError> {
    find_auth_collection(state, id_or_name)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, NO_AUTH_COLLECTION))
}

/// The record id of a path; the router never gives an empty one, and no
/// record has one, so it is not found either way.
pub fn record_id(raw: &str) -> Result<RecordId, ApiError> {
    RecordId::parse(raw).ok_or_else(|| RecordError::NotFound.into())
}
