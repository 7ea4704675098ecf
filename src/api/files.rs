//! `/api/files`: downloads of stored files (with thumbnails, ranges and
//! revalidation) and file tokens for protected fields. Plain poem handlers:
//! a download is bytes and headers, not a JSON operation.

use std::sync::Arc;

use poem::{
    Request, Response, Result, handler,
    http::header,
    web::{Data, Json, Path},
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{guard, path, tags::tagged_routes};
use crate::{
    app::AppState,
    auth::token::file_token_for,
    files::sniff,
    http::{
        FirstQuery, client,
        error::{ApiError, messages},
        file_response,
    },
    identity::Caller,
    keys,
    records::{RecordId, downloads},
};

/// Uploaded files are never documents of this origin: even a file that a
/// browser renders runs sandboxed, with nothing to load.
const FILE_CSP: &str = "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox";

#[derive(Deserialize)]
struct DownloadParams {
    thumb: Option<String>,
    download: Option<String>,
    token: Option<String>,
}

#[handler]
async fn download(
    req: &Request,
    Path((collection, record_id, filename)): Path<(String, String, String)>,
    FirstQuery(params): FirstQuery<DownloadParams>,
    Data(state): Data<&Arc<AppState>>,
) -> Result<Response> {
    // Anything missing is the same 404, so a guess learns nothing.
    let c = path::find_collection(state, &collection).ok_or_else(ApiError::not_found)?;
    let id = RecordId::parse(&record_id).ok_or_else(ApiError::not_found)?;
    let file_token = params.token.as_deref().filter(|t| !t.is_empty());
    // An API key (which mints no file tokens) may send itself instead:
    // the protected file is then read as its record, within its scopes.
    let presents_key = keys::presented(
        req.headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    )
    .is_some();
    let key_holder = match (file_token, presents_key) {
        (None, true) => Some(guard::identify(state, req).await?),
        _ => None,
    };
    // Set when the holder is a superuser outside `superuserIPs`. The
    // holder is only asked for (and this only set) for a protected file.
    let mut refused = None;
    let holder = async {
        match key_holder {
            Some(caller) => Ok(caller),
            None => {
                let caller = state
                    .auth_records
                    .identify_file(&state.schema, &state.store.data, &state.sessions, file_token)
                    .await?;
                // A superuser's file token is a superuser's credential:
                // `superuserIPs` applies to it as to a key (which
                // `guard::identify` checks). PocketBase 0.40.6 serves the
                // file; refusing keeps a token minted from an allowed
                // address from working anywhere for its lifetime.
                if caller.is_superuser()
                    && let Err(err) = client::superuser_may_call(req, &state.settings.get())
                {
                    refused = Some(err);
                    return Ok(Caller::Guest);
                }
                Ok(caller)
            }
        }
    };
    let found = downloads::find(
        &state.records(),
        c,
        &id,
        &filename,
        holder,
        params.thumb.as_deref().filter(|t| !t.is_empty()),
    )
    .await;
    if let Some(err) = refused {
        return Err(err.into());
    }
    let found = found.map_err(ApiError::from)?;
    let attachment = matches!(
        params.download.as_deref(),
        Some("1" | "t" | "true" | "TRUE" | "True")
    ) || !sniff::is_inline(found.mime);
    let resp = Response::builder()
        .header(header::CONTENT_SECURITY_POLICY, FILE_CSP)
        .header(
            header::CACHE_CONTROL,
            if found.protected {
                "private, no-cache"
            } else {
                "max-age=2592000, stale-while-revalidate=86400"
            },
        )
        .content_type(sniff::content_type(found.mime))
        .header(
            header::CONTENT_DISPOSITION,
            format!(
                "{}; filename=\"{}\"",
                if attachment { "attachment" } else { "inline" },
                found.name
            ),
        );
    // Stored names are never reused, so size and time identify the bytes;
    // streamed whatever their size (a file is already compressed or not
    // worth it).
    Ok(file_response::respond(req, &found.path, resp, 0).await?)
}

#[handler]
async fn token(req: &Request, Data(state): Data<&Arc<AppState>>) -> Result<Json<Value>> {
    // A file token would carry the record's rights without the key's
    // scopes, and outlive a revocation; a key downloads with itself.
    guard::refuse_api_key(req)?;
    let caller = guard::identify(state, req).await?;
    let token = file_token_for(&caller)
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::unauthorized(messages::UNAUTHORIZED))?;
    Ok(Json(json!({ "token": token })))
}

// The routes and their rate-limit tags (`api::tags`).
tagged_routes! {
    "/api/files/token" => { POST token },
    "/api/files/:collection/:record/:filename" => { GET download => "file", HEAD download => "file" },
}
