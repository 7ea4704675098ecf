//! `/api/realtime`: PocketBase's server-sent events. `GET` opens a stream
//! (first event `PB_CONNECT` with the client id); `POST` sets that
//! client's topics with the caller's auth. Plain poem handlers: an event
//! stream is not a JSON operation.

use std::sync::Arc;

use poem::{
    Body, Request, Response, Result, Route, get, handler,
    http::{StatusCode, header},
    web::Data,
};
use serde_json::Value;

use super::{body::Fields, guard};
use crate::{
    app::AppState,
    http::error::{ApiError, ErrorTree, FieldError, messages},
    realtime::{
        self, ClientStream, RealtimeError,
        topic::{self, MAX_TOPICS},
    },
};

#[handler]
fn connect(Data(state): Data<&Arc<AppState>>) -> Response {
    let (client, rx) = state.realtime.connect();
    let stream = ClientStream::new(state.realtime.clone(), state.shutdown.clone(), client, rx);
    Response::builder()
        .content_type("text/event-stream")
        .header(header::CACHE_CONTROL, "no-store")
        // Proxies (nginx) must pass events through as they come.
        .header("X-Accel-Buffering", "no")
        .body(Body::from_bytes_stream(stream))
}

impl From<RealtimeError> for ApiError {
    fn from(err: RealtimeError) -> Self {
        match err {
            RealtimeError::NoClient | RealtimeError::Gone | RealtimeError::NotSubscribed(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "Missing or invalid client id.")
            }
            RealtimeError::AuthMismatch => ApiError::new(
                StatusCode::FORBIDDEN,
                "The current and the previous request authorization don't match.",
            ),
            RealtimeError::OutOfScope(_) => ApiError::new(StatusCode::FORBIDDEN, messages::OUT_OF_SCOPE),
        }
    }
}

#[handler]
async fn subscribe(req: &Request, body: Fields, Data(state): Data<&Arc<AppState>>) -> Result<StatusCode> {
    let input = body.values;
    let mut errors = ErrorTree::new();
    let client_id = input.get("clientId").and_then(Value::as_str).unwrap_or("");
    if client_id.is_empty() {
        errors.add(&["clientId"], FieldError::required());
    }
    let raw: Vec<&str> = match input.get("subscriptions") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(|v| v.as_str().unwrap_or("")).collect(),
        // One topic sent as form text.
        Some(Value::String(one)) if body.from_form => vec![one.as_str()],
        Some(_) => {
            errors.add(
                &["subscriptions"],
                FieldError::new("validation_invalid_value", "Must be a list of topics."),
            );
            Vec::new()
        }
    };
    let mut subscriptions = Vec::with_capacity(raw.len());
    if raw.len() > MAX_TOPICS {
        errors.add(
            &["subscriptions"],
            FieldError::new(
                "validation_length_too_long",
                format!("The length must be no more than {MAX_TOPICS}."),
            )
            .with_params(serde_json::json!({"max": MAX_TOPICS, "min": 0})),
        );
    } else {
        let catalog = state.schema.catalog();
        for (i, key) in raw.iter().enumerate() {
            match topic::parse_in(key, &catalog) {
                Ok(sub) => subscriptions.push(sub),
                Err(e) => errors.add(&["subscriptions", &i.to_string()], e),
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation_with(messages::INTERNAL, errors).into());
    }
    if state.realtime.client(client_id).is_none() {
        return Err(ApiError::from(RealtimeError::NoClient).into());
    }
    let caller = guard::identify(state, req).await?;
    realtime::check_scopes(&caller, &subscriptions, &state.schema.catalog()).map_err(ApiError::from)?;
    state
        .realtime
        .set_subscriptions(client_id, caller, subscriptions)
        .map_err(ApiError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The realtime routes, to be mounted at the root of the route tree.
pub fn routes(route: Route) -> Route {
    route.at("/api/realtime", get(connect).post(subscribe))
}
