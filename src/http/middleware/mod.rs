//! The layers every request passes through, outermost first:
//! security headers → CORS → compression → request id → access log →
//! error envelope (panics and framework errors) → clean path → rate limit
//! → body limit → `fields` → routes. `http::edge` runs them in that order, in one
//! endpoint.

pub mod access_log;
pub mod body_limit;
pub mod clean_path;
pub mod compression;
pub mod cors;
pub mod fields;
pub mod rate_limit;
pub mod request_id;
pub mod security_headers;
