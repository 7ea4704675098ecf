//! Response compression (brotli or gzip, by the client's preference) for
//! bodies of a known size of at least 1 KiB and a compressible type.
//! Event streams are never compressed: a compressor buffers, and an event
//! must reach the client when it is sent. Small bodies are not worth the
//! CPU, and already-compressed media would only grow.

use http_body::Body as _;
use poem::{
    Body, IntoResponse, Request, Response,
    http::{HeaderValue, Method, StatusCode, header},
    web::{Compress, CompressionAlgo},
};

pub const MIN_SIZE: u64 = 1024;

/// Whether a response of this type and exact size is worth compressing.
pub fn worth_compressing(content_type: &str, size: Option<u64>) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let compressible = mime.starts_with("text/") && mime != "text/event-stream"
        || matches!(
            mime.as_str(),
            "application/json"
                | "application/javascript"
                | "application/xml"
                | "image/svg+xml"
                | "application/wasm"
        );
    compressible && size.is_some_and(|n| n >= MIN_SIZE)
}

/// The client's preferred coding among those we offer; `q=0` excludes one.
fn negotiate(req: &Request) -> Option<CompressionAlgo> {
    let accept = req.headers().get(header::ACCEPT_ENCODING)?.to_str().ok()?;
    let mut best: Option<(CompressionAlgo, f32, u8)> = None;
    for part in accept.split(',') {
        let mut pieces = part.split(';');
        let name = pieces.next()?.trim();
        // Compared in place: lowercasing a copy of each name cost most of
        // this function's 600 instructions on every request.
        let (algo, rank) = if name.eq_ignore_ascii_case("br") {
            (CompressionAlgo::BR, 2)
        } else if name.eq_ignore_ascii_case("gzip") {
            (CompressionAlgo::GZIP, 1)
        } else {
            continue;
        };
        let q = pieces
            .find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.parse::<f32>().ok()))
            .unwrap_or(1.0);
        if q > 0.0 && best.is_none_or(|(_, bq, br)| q > bq || (q == bq && rank > br)) {
            best = Some((algo, q, rank));
        }
    }
    best.map(|(algo, _, _)| algo)
}

/// The coding to compress this request's response with, if any.
pub fn for_request(req: &Request) -> Option<CompressionAlgo> {
    if req.method() == Method::HEAD {
        None
    } else {
        negotiate(req)
    }
}

/// `resp`, compressed with `algo` when it is worth it.
pub fn apply(mut resp: Response, algo: Option<CompressionAlgo>) -> Response {
    let Some(algo) = algo else { return resp };
    if resp.status() == StatusCode::PARTIAL_CONTENT
        || resp.status() == StatusCode::NO_CONTENT
        || resp.status() == StatusCode::NOT_MODIFIED
        || resp.headers().contains_key(header::CONTENT_ENCODING)
    {
        return resp;
    }
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body: http_body_util::combinators::BoxBody<bytes::Bytes, std::io::Error> = resp.take_body().into();
    let size = body.size_hint().exact();
    resp.set_body(Body::from(body));
    if !worth_compressing(&content_type, size) {
        return resp;
    }
    resp.headers_mut()
        .append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    Compress::new(resp, algo).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decides_what_to_compress() {
        assert!(worth_compressing("application/json", Some(4096)));
        assert!(worth_compressing("text/html; charset=utf-8", Some(1024)));
        assert!(!worth_compressing("application/json", Some(1023)), "too small");
        assert!(
            !worth_compressing("application/json", None),
            "unknown size: a stream"
        );
        assert!(
            !worth_compressing("text/event-stream", Some(100_000)),
            "never SSE"
        );
        assert!(
            !worth_compressing("image/png", Some(100_000)),
            "already compressed"
        );
    }

    #[test]
    fn negotiates_by_quality_then_strength() {
        let req = |v: &str| Request::builder().header(header::ACCEPT_ENCODING, v).finish();
        assert_eq!(negotiate(&req("gzip, deflate, br")), Some(CompressionAlgo::BR));
        assert_eq!(
            negotiate(&req("gzip;q=1.0, br;q=0.3")),
            Some(CompressionAlgo::GZIP)
        );
        assert_eq!(negotiate(&req("br;q=0, gzip")), Some(CompressionAlgo::GZIP));
        assert_eq!(negotiate(&req("identity")), None);
        assert_eq!(negotiate(&Request::builder().finish()), None);
    }
}
