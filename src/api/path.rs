//! What a route's path names, resolved once per request: the collection
//! (by id or name, from the catalog as it is now) and the record id. The
//! handlers call these after identifying the caller, so a caller refused
//! for who they are hears that before whether the collection exists.

use std::sync::Arc;

use crate::{
    app::AppState,
    http::error::ApiError,
    records::{RecordId, service::RecordError},
    schema::Collection,
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

/// The record id of a path; the router never gives an empty one, and no
/// record has one, so it is not found either way.
pub fn record_id(raw: &str) -> Result<RecordId, ApiError> {
    RecordId::parse(raw).ok_or_else(|| RecordError::NotFound.into())
}
