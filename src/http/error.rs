//! The one error type of the HTTP edge, and its PocketBase envelope:
//! `{"status":N,"message":"…","data":{…}}` with `data` always an object.
//!
//! Modules keep their own error enums and convert into `ApiError` here,
//! in `answers`: one place for every domain error's status and wording.
//! A 5xx keeps its cause for the log (with the request id) and shows the
//! client only a fixed message; the cause never reaches the response body.

use std::{borrow::Cow, fmt};

use poem::{
    Response,
    error::ResponseError,
    http::{StatusCode, header},
};
use serde_json::{Map, Value, json};

pub use crate::validation::{ErrorTree, FieldError, FieldErrors};
use crate::{store::StoreError, telemetry};

/// PocketBase's wording for the common statuses, so SDK users see the
/// messages they know.
pub mod messages {
    pub const BAD_REQUEST_BODY: &str = "An error occurred while loading the submitted data.";
    pub const VALIDATION: &str = "An error occurred while validating the submitted data.";
    pub const NOT_FOUND: &str = "The requested resource wasn't found.";
    pub const UNAUTHORIZED: &str = "The request requires valid record authorization token.";
    pub const FORBIDDEN: &str = "You are not allowed to perform this request.";
    /// A 404 for a collection a route needs and cannot find (or that is
    /// not of the kind the route serves).
    pub const MISSING_COLLECTION: &str = "Missing collection context.";
    /// A 403 for an API key whose scopes do not reach the action.
    pub const OUT_OF_SCOPE: &str = "This API key's scopes do not allow this action.";
    /// A 400 for a body, or a part of one, of the wrong shape, where
    /// PocketBase words it so (records, collections, batch requests).
    pub const UNREADABLE_DATA: &str = "Failed to load the submitted data due to invalid formatting.";
    pub const TOO_LARGE: &str = "Request entity too large.";
    pub const TOO_MANY: &str = "Too Many Requests.";
    pub const INTERNAL: &str = "Something went wrong while processing your request.";
    pub const DISK_FULL: &str = "The server's disk is full, so nothing was saved. Try again later.";
}

pub struct ApiError {
    status: StatusCode,
    message: Cow<'static, str>,
    data: Map<String, Value>,
    /// The cause of a server-side failure; logged, never sent.
    cause: Option<anyhow::Error>,
    /// Seconds for a `Retry-After` header (429s and 503s).
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            message: message.into(),
            data: Map::new(),
            cause: None,
            retry_after: None,
        }
    }

    /// Tells the client when to try again (`Retry-After`, at least 1 s).
    pub fn retry_after(mut self, wait: std::time::Duration) -> Self {
        self.retry_after = Some(wait.as_secs().max(1));
        self
    }

    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// A 400 listing what is wrong with each field.
    pub fn validation(errors: impl Into<ErrorTree>) -> Self {
        Self::validation_with(messages::VALIDATION, errors)
    }

    /// A 400 with per-field errors and the operation's own message
    /// ("Failed to create collection.").
    pub fn validation_with(message: impl Into<Cow<'static, str>>, errors: impl Into<ErrorTree>) -> Self {
        Self {
            data: errors.into().into_map(),
            ..Self::bad_request(message)
        }
    }

    /// Replaces `data` with a shape of the caller's own (a batch names the
    /// request that failed and nests its whole error there).
    pub fn with_data(mut self, data: Map<String, Value>) -> Self {
        self.data = data;
        self
    }

    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, messages::FORBIDDEN)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, messages::NOT_FOUND)
    }

    pub fn payload_too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, messages::TOO_LARGE)
    }

    pub fn too_many_requests() -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, messages::TOO_MANY)
    }

    /// A failure that is ours, not the client's: a 500 whose cause is
    /// logged; or, when the cause is a full disk, a 507 that says so
    /// (whichever service the write went through: they all end here).
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        let cause = cause.into();
        let (status, message) = match disk_full(&cause) {
            true => (StatusCode::INSUFFICIENT_STORAGE, messages::DISK_FULL),
            false => (StatusCode::INTERNAL_SERVER_ERROR, messages::INTERNAL),
        };
        Self {
            cause: Some(cause),
            ..Self::new(status, message)
        }
    }

    pub fn unavailable(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn data(&self) -> &Map<String, Value> {
        &self.data
    }

    /// The envelope as bytes; also used where a response is built by hand
    /// (middleware that answers before any handler runs).
    pub fn to_response(&self) -> Response {
        telemetry::note_error(&self.message, || match &self.cause {
            _ if !self.data.is_empty() => Value::Object(self.data.clone()).to_string(),
            Some(cause) => format!("{cause:#}"),
            None => String::new(),
        });
        if self.status.is_server_error() {
            match &self.cause {
                Some(cause) => {
                    tracing::error!(status = self.status.as_u16(), error = ?cause, "request failed")
                }
                None => {
                    tracing::warn!(status = self.status.as_u16(), message = %self.message, "request failed")
                }
            }
        }
        let body = json!({
            "status": self.status.as_u16(),
            "message": self.message,
            "data": self.data,
        });
        let mut resp = Response::builder()
            .status(self.status)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(secs) = self.retry_after {
            resp = resp.header(header::RETRY_AFTER, secs);
        }
        resp.body(body.to_string())
    }
}

/// Whether a failure comes from a full disk: SQLite's `SQLITE_FULL`
/// (through the store, or raw) or the OS's `ENOSPC` (an upload's file).
fn disk_full(cause: &anyhow::Error) -> bool {
    cause.chain().any(|e| {
        if let Some(store) = e.downcast_ref::<StoreError>() {
            store.is_disk_full()
        } else if let Some(sqlite) = e.downcast_ref::<rusqlite::Error>() {
            sqlite.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
        } else if let Some(io) = e.downcast_ref::<std::io::Error>() {
            io.kind() == std::io::ErrorKind::StorageFull
        } else {
            false
        }
    })
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("status", &self.status)
            .field("message", &self.message)
            .field("data", &self.data)
            .field("cause", &self.cause)
            .finish()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn as_response(&self) -> Response {
        self.to_response()
    }
}

/// Turns any error raised inside the route tree into the envelope. Our own
/// `ApiError` renders itself; framework errors (bad JSON, wrong content type,
/// unknown route, bad path parameter) keep their status and get PocketBase's
/// generic message for it, so no framework wording or internal detail leaks.
pub fn envelope_for(err: poem::Error) -> Response {
    if let Some(api) = err.downcast_ref::<ApiError>() {
        return api.to_response();
    }
    // A handler that built its own error response (an envelope with an
    // extra header, say) gets it sent as is.
    if err.is_from_response() {
        return err.into_response();
    }
    let status = err.status();
    let message: Cow<'static, str> = match status {
        StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE | StatusCode::UNPROCESSABLE_ENTITY => {
            messages::BAD_REQUEST_BODY.into()
        }
        StatusCode::NOT_FOUND => messages::NOT_FOUND.into(),
        StatusCode::UNAUTHORIZED => messages::UNAUTHORIZED.into(),
        StatusCode::FORBIDDEN => messages::FORBIDDEN.into(),
        StatusCode::PAYLOAD_TOO_LARGE => messages::TOO_LARGE.into(),
        StatusCode::TOO_MANY_REQUESTS => messages::TOO_MANY.into(),
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed.".into(),
        s if s.is_server_error() => messages::INTERNAL.into(),
        s => s
            .canonical_reason()
            .unwrap_or("Request failed.")
            .to_owned()
            .into(),
    };
    // Framework errors carry their detail in Display; keep it for the log.
    let mut api = ApiError::new(status, message);
    if status.is_server_error() {
        api.cause = Some(anyhow::anyhow!("{err}"));
    } else {
        tracing::debug!(status = status.as_u16(), error = %err, "request rejected");
    }
    // A 400 from the framework (e.g. a missing body) still answers in the
    // shape a client expects; 415 is reported as a 400 like PocketBase does.
    if status == StatusCode::UNSUPPORTED_MEDIA_TYPE || status == StatusCode::UNPROCESSABLE_ENTITY {
        api.status = StatusCode::BAD_REQUEST;
    }
    api.to_response()
}

mod answers;

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_json(resp: Response) -> serde_json::Value {
        let bytes = resp.into_body().into_bytes().await.expect("body");
        serde_json::from_slice(&bytes).expect("json")
    }

    #[tokio::test]
    async fn validation_envelope_names_each_field() {
        let mut data = FieldErrors::new();
        data.insert(
            "email".into(),
            FieldError::new("validation_invalid_email", "Must be a valid email address."),
        );
        let resp = ApiError::validation(data).to_response();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let body = body_json(resp).await;
        assert_eq!(body["status"], 400);
        assert_eq!(body["data"]["email"]["code"], "validation_invalid_email");
    }

    #[tokio::test]
    async fn internal_error_hides_its_cause() {
        let resp = ApiError::internal(anyhow::anyhow!("disk /secret/path exploded")).to_response();
        let body = body_json(resp).await;
        assert_eq!(body["status"], 500);
        assert_eq!(body["message"], messages::INTERNAL);
        assert_eq!(body["data"], json!({}));
        assert!(!body.to_string().contains("secret"));
    }

    #[tokio::test]
    async fn framework_errors_become_envelopes() {
        let err = poem::Error::from_string("expected value at line 1", StatusCode::BAD_REQUEST);
        let body = body_json(envelope_for(err)).await;
        assert_eq!(body["status"], 400);
        assert_eq!(body["message"], messages::BAD_REQUEST_BODY);
        let err = poem::Error::from_string("sqlite said no", StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_json(envelope_for(err)).await;
        assert_eq!(body["message"], messages::INTERNAL);
    }
}
