//! Security headers on every response, including errors and CORS
//! preflights (the edge adds them last, to whatever came back).

use poem::http::{HeaderMap, HeaderValue};

/// The admin UI is our own static code: nothing inline, nothing foreign.
const ADMIN_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
     frame-ancestors 'none'";
/// The API reference page inlines its renderer and loads the document.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'";
/// API responses are data, never documents to render.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// The headers one response gets, decided from its request.
pub struct SecurityHeaders {
    csp: &'static str,
    https: bool,
}

impl SecurityHeaders {
    pub fn for_request(path: &str, https: bool) -> Self {
        let csp = if path.starts_with("/_/") || path == "/_" {
            ADMIN_CSP
        } else if path == "/api/docs" {
            DOCS_CSP
        } else {
            API_CSP
        };
        Self { csp, https }
    }

    pub fn apply(&self, headers: &mut HeaderMap) {
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
            headers.insert("content-security-policy", HeaderValue::from_static(self.csp));
        }
        if self.https {
            headers.insert(
                "strict-transport-security",
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
    }
}
