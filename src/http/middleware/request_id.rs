//! Request ids: an inbound `X-Request-Id` is kept when it is well formed
//! (so a proxy's or client's id correlates across systems), otherwise a
//! fresh one is made. The id is echoed on the response and named by every
//! log line of the request (`telemetry::in_request`).

use std::sync::{
    LazyLock,
    atomic::{AtomicU64, Ordering},
};

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

/// A fresh id: 20 characters of lowercase base32. Ids only need to be
/// distinct (a client may choose its own, so they are no secret): a
/// counter, mixed so that neighbours look unrelated, plus a random
/// per-process part so that ids of two runs do not meet. Drawing 20
/// characters from the operating system's generator cost about 800
/// instructions a request; this costs about 150.
pub fn generate() -> String {
    static PROCESS: LazyLock<(u64, u64)> = LazyLock::new(|| (rand::random(), rand::random()));
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let (offset, process) = *PROCESS;
    // splitmix64's finaliser is a bijection: distinct counts, distinct ids.
    let mut z = COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_add(offset);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    // 13 characters carry all 64 bits of the mixed count, 7 the process's.
    let mut id = [0u8; 20];
    let (count, own) = id.split_at_mut(13);
    for (i, c) in count.iter_mut().enumerate() {
        *c = BASE32[((z >> (5 * i)) & 31) as usize];
    }
    for (i, c) in own.iter_mut().enumerate() {
        *c = BASE32[((process >> (5 * i)) & 31) as usize];
    }
    std::str::from_utf8(&id).map_or_else(|_| String::new(), str::to_owned)
}

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

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

    #[test]
    fn fresh_ids_are_distinct() {
        let ids: std::collections::HashSet<String> = (0..100_000).map(|_| generate()).collect();
        assert_eq!(ids.len(), 100_000);
        assert!(ids.iter().all(|id| id.len() == 20 && accept_inbound(id)));
        // Neighbours share no long run: the count is mixed, not printed.
        let (a, b) = (generate(), generate());
        assert_ne!(a[..10], b[..10]);
    }
}
