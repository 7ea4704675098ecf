//! `/api/realtime`: PocketBase's server-sent events. `GET` opens a stream
//! (first event `PB_CONNECT` with the client id); `POST` sets that
//! client's topics with the caller's auth. Plain poem handlers: an event
//! stream is not a JSON operation.

use std::sync::Arc;

use poem::{
    Body, FromRequest, Request, RequestBody, Response, Result, Route, get, handler,
    http::{StatusCode, header},
    web::Data,
};
use serde_json::Value;

use super::{
    body::{BodyError, Fields},
    guard,
};
use crate::{
    app::AppState,
    http::error::{ApiError, ErrorTree, FieldError, messages},
    realtime::{
        self, ClientStream, MAX_CLIENT_ID, RealtimeError,
        topic::{self, MAX_TOPICS},
    },
};

#[handler]
fn connect(Data(state): Data<&Arc<AppState>>) -> Response {
    let (client, rx) = state.realtime.connect();
    let stream = ClientStream::new(state.realtime.clone(), state.shutdown.clone(), client, rx);
    // An opened stream has no request log entry, as in PocketBase.
    crate::telemetry::log_only_failure();
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

/// A body PocketBase could not bind to its form (`{clientId: string,
/// subscriptions: string[]}`): not JSON or a form, or a value of another
/// type. It answers these with its generic 400 and no field errors.
fn unbindable() -> ApiError {
    ApiError::bad_request(messages::INTERNAL)
}

/// The client id and the raw topics of a subscribe request, as PocketBase
/// binds them: `null` is the zero value (no id, no topic), any other
/// value of the wrong type refuses the whole body. An empty topic is no
/// subscription at all (PocketBase skips it), though it counts toward
/// the limit on how many are sent.
fn bind(body: &Fields) -> Result<Bound<'_>, ApiError> {
    let client_id = match body.values.get("clientId") {
        None | Some(Value::Null) => "",
        Some(Value::String(id)) => id,
        Some(_) => return Err(unbindable()),
    };
    let (topics, sent) = match body.values.get("subscriptions") {
        None | Some(Value::Null) => (Vec::new(), 0),
        Some(Value::Array(items)) => {
            let mut topics = Vec::with_capacity(items.len());
            for (place, item) in items.iter().enumerate() {
                match item {
                    Value::Null => {}
                    Value::String(topic) if topic.is_empty() => {}
                    Value::String(topic) => topics.push((place, topic.as_str())),
                    _ => return Err(unbindable()),
                }
            }
            (topics, items.len())
        }
        // One topic sent as form text.
        Some(Value::String(one)) if body.from_form => match one.is_empty() {
            true => (Vec::new(), 1),
            false => (vec![(0, one.as_str())], 1),
        },
        Some(_) => return Err(unbindable()),
    };
    Ok(Bound {
        client_id,
        topics,
        sent,
    })
}

/// A subscribe request as bound, before validation.
struct Bound<'a> {
    client_id: &'a str,
    /// Each topic with its place in the list as sent, which its field
    /// error names.
    topics: Vec<(usize, &'a str)>,
    /// How many topics were sent, empty ones included.
    sent: usize,
}

/// A subscribe request's body, read as any other (JSON or a form), and
/// refused, when unreadable, with PocketBase's wording for this endpoint.
struct SubscribeBody(Fields);

impl<'a> FromRequest<'a> for SubscribeBody {
    async fn from_request(req: &'a Request, body: &mut RequestBody) -> Result<Self> {
        Fields::read(req, body).await.map(Self).map_err(|err| match err {
            BodyError::Transport(err) => err,
            BodyError::Unreadable(_) | BodyError::Unsupported => unbindable().into(),
        })
    }
}

#[handler]
async fn subscribe(
    req: &Request,
    SubscribeBody(body): SubscribeBody,
    Data(state): Data<&Arc<AppState>>,
) -> Result<StatusCode> {
    let Bound {
        client_id,
        topics,
        sent,
    } = bind(&body)?;
    let mut errors = ErrorTree::new();
    if client_id.is_empty() {
        errors.add(&["clientId"], FieldError::required());
    } else if client_id.chars().count() > MAX_CLIENT_ID {
        errors.add(
            &["clientId"],
            FieldError::new(
                "validation_length_out_of_range",
                format!("The length must be between 1 and {MAX_CLIENT_ID}."),
            )
            .with_params(serde_json::json!({"max": MAX_CLIENT_ID, "min": 1})),
        );
    }
    let mut subscriptions = Vec::with_capacity(topics.len());
    if sent > MAX_TOPICS {
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
        for (place, key) in topics {
            match topic::parse_in(key, &catalog) {
                Ok(sub) => subscriptions.push(sub),
                Err(e) => errors.add(&["subscriptions", &place.to_string()], e),
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
