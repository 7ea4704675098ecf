//! Security headers on every response, including errors and CORS
//! preflights (this is the outermost layer). Also resolves the caller's
//! `ClientInfo` once, for the layers below.

use std::sync::Arc;

use poem::{Endpoint, IntoResponse, Request, Response, Result, http::HeaderValue};

use crate::{app::AppState, http::client::ClientInfo};

/// The admin UI is our own static code: nothing inline, nothing foreign.
const ADMIN_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
     frame-ancestors 'none'";
/// The API reference page inlines its renderer and loads the document.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'";
/// API responses are data, never documents to render.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

pub async fn handle<E: Endpoint>(ep: Arc<E>, mut req: Request, state: Arc<AppState>) -> Result<Response> {
    let client = ClientInfo::resolve(&req, &state.settings.get().trusted_proxy);
    let https = client.https;
    let csp = if req.uri().path().starts_with("/_/") || req.uri().path() == "/_" {
        ADMIN_CSP
    } else if req.uri().path() == "/api/docs" {
        DOCS_CSP
    } else {
        API_CSP
    };
    req.extensions_mut().insert(client);
    let mut resp = match ep.call(req).await {
        Ok(resp) => resp.into_response(),
        Err(err) => crate::http::error::envelope_for(err),
    };
    let headers = resp.headers_mut();
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        "referrer-policy",
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key("content-security-policy") {
        headers.insert("content-security-policy", HeaderValue::from_static(csp));
    }
    if https {
        headers.insert(
            "strict-transport-security",
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    Ok(resp)
}
