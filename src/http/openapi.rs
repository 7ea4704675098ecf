//! The live OpenAPI document at `/api/openapi.json` and its interactive
//! reference at `/api/docs`.
//!
//! The static part (every typed endpoint) comes from poem-openapi once at
//! start. The document is served through `document()` so that per-collection
//! schemas can be merged in on each request: the docs page loads the
//! document by URL rather than embedding a copy, so it is never stale.

use std::sync::Arc;

use poem::{
    IntoResponse, Response,
    http::{HeaderValue, header},
};
use serde_json::Value;

use crate::api::{self, Api};

pub struct Docs {
    base: Value,
    page: String,
}

impl Docs {
    pub fn new(service: &poem_openapi::OpenApiService<Api, ()>) -> Arc<Self> {
        let spec = service.spec();
        let base = serde_json::from_str(&spec).unwrap_or(Value::Null);
        // RapiDoc's page embeds the document text; point it at the live URL
        // instead, and drop its web-font link (no third-party requests).
        let page = service
            .rapidoc_html()
            .replacen(&spec, "\"/api/openapi.json\"", 1)
            .lines()
            .filter(|l| !l.contains("fonts.googleapis.com"))
            .collect::<Vec<_>>()
            .join("\n")
            .replacen("<title>RapiDoc</title>", "<title>Cairn API reference</title>", 1);
        Arc::new(Self { base, page })
    }

    /// The document as of now.
    pub fn document(&self) -> Value {
        self.base.clone()
    }

    pub fn json_response(&self) -> Response {
        let mut resp = poem::web::Json(self.document()).into_response();
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        resp
    }

    pub fn page_response(&self) -> Response {
        let mut resp = poem::web::Html(self.page.clone()).into_response();
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        resp
    }
}

/// Used by tests and tools that want the static document without a server.
pub fn static_document(state: Arc<crate::app::AppState>) -> Value {
    Docs::new(&api::service(state)).document()
}
