//! Request ids: an inbound `X-Request-Id` is kept when it is well formed
//! (so a proxy's or client's id correlates across systems), otherwise a
//! fresh one is made. The id is echoed on the response and named by every
//! log line of the request (`telemetry::in_request`).

use poem::{
    Request,
    http::{HeaderMap, HeaderName, HeaderValue},
};

/// Built at compile time, not parsed on every request.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");
const MAX_LEN: usize = 128;

/// Accepts only ids that are safe to echo and to write into logs.
pub fn accept_inbound(raw: &str) -> bool {
    !raw.is_empty()
        && raw.len() <= MAX_LEN
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

pub fn generate() -> String {
    crate::random::lower_alphanumeric(20)
}

/// The id of `req`: its own `X-Request-Id` when acceptable, else a new one.
pub fn for_request(req: &Request) -> String {
    req.headers()
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| accept_inbound(v))
        .map_or_else(generate, str::to_owned)
}

/// Puts `id` on the response.
pub fn echo(headers: &mut HeaderMap, id: &str) {
    if let Ok(value) = HeaderValue::from_str(id) {
        headers.insert(HEADER, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbound_ids_are_checked() {
        assert!(accept_inbound("3f2c9a1e-77b0-4c1e-9d7a-2b5d8c0e1f44"));
        assert!(accept_inbound("req_01:abc.def"));
        assert!(!accept_inbound(""));
        assert!(!accept_inbound(&"a".repeat(129)));
        assert!(!accept_inbound("bad id"));
        assert!(!accept_inbound("x\"}{injected"));
        assert!(accept_inbound(&generate()));
    }
}
