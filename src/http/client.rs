//! Who is calling: the client IP and whether the request arrived over
//! HTTPS, decided once per request at the outermost layer; rate limits,
//! logs, sessions and the new-location alert all use this one answer.
//!
//! Forwarding headers are believed only from a peer in
//! `settings.trustedProxy.networks` (loopback by default, so a proxy on
//! the same host needs no setting); from any other peer anyone could claim
//! any address and dodge rate limits. Of a list of addresses
//! (`X-Forwarded-For: a, b, c`) the right-most one that is not itself a
//! trusted proxy is the client: each proxy appends the peer it saw, so
//! everything left of that was written by the client and proves nothing.

use std::{
    net::{IpAddr, Ipv4Addr},
    sync::atomic::{AtomicBool, Ordering},
};

use poem::{
    Request,
    http::{HeaderMap, HeaderName, uri::Scheme},
};

use crate::{http::error::ApiError, settings::TrustedProxy};

/// Read when `trustedProxy.headers` is empty, the first present one wins.
/// X-Forwarded-For comes first: Caddy always sets it and nginx appends to
/// it, so when the proxy manages it the others are never consulted (a
/// proxy passes them through from the client unchanged).
const DEFAULT_HEADERS: [&str; 3] = ["x-forwarded-for", "x-real-ip", "forwarded"];

/// Headers that suggest a proxy in front, for the warning and the
/// superuser's health answer.
const PROXY_HINTS: [&str; 5] = [
    "X-Forwarded-For",
    "X-Real-IP",
    "Forwarded",
    "CF-Connecting-IP",
    "Fly-Client-IP",
];

/// `PROXY_HINTS` as header names, and `X-Forwarded-Proto`: most requests
/// carry none of them, so one pass over the request's header names
/// replaces a parsed lookup per name (measured: about 1,500 instructions
/// of every request).
static HINT_NAMES: [HeaderName; 5] = [
    HeaderName::from_static("x-forwarded-for"),
    HeaderName::from_static("x-real-ip"),
    HeaderName::from_static("forwarded"),
    HeaderName::from_static("cf-connecting-ip"),
    HeaderName::from_static("fly-client-ip"),
];
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

static WARNED: AtomicBool = AtomicBool::new(false);

#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub ip: IpAddr,
    pub https: bool,
    /// A forwarding header the request carried but that was not believed
    /// (the peer is not a trusted proxy, or the header is not one read):
    /// a hint that `trustedProxy` needs setting.
    pub possible_proxy_header: Option<&'static str>,
}

impl ClientInfo {
    pub fn resolve(req: &Request, proxy: &TrustedProxy) -> Self {
        let peer = req
            .remote_addr()
            .as_socket_addr()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
        Self::of(peer, req.headers(), *req.scheme() == Scheme::HTTPS, proxy)
    }

    /// The client address of `req`: the edge's answer when it gave one
    /// (every request it serves), else resolved here the same way.
    pub fn ip_of(req: &Request, proxy: &TrustedProxy) -> IpAddr {
        match req.extensions().get::<ClientInfo>() {
            Some(client) => client.ip,
            None => Self::resolve(req, proxy).ip,
        }
    }

    /// For a request from `peer` with these headers, over TLS or not.
    fn of(peer: IpAddr, headers: &HeaderMap, tls: bool, proxy: &TrustedProxy) -> Self {
        let peer = peer.to_canonical();
        let (mut hint, mut proto) = (None::<usize>, false);
        for name in headers.keys() {
            if let Some(i) = HINT_NAMES.iter().position(|h| h == name) {
                hint = Some(hint.map_or(i, |h| h.min(i)));
            } else if *name == X_FORWARDED_PROTO {
                proto = true;
            }
        }
        let trusted = (hint.is_some() || proto || !proxy.headers.is_empty()) && proxy.trusts(peer);
        // The default headers are all hints; configured ones may not be.
        let forwarded = (trusted && (hint.is_some() || !proxy.headers.is_empty()))
            .then(|| forwarded_ip(headers, proxy))
            .flatten();
        let forwarded_https = trusted
            && proto
            && headers
                .get(&X_FORWARDED_PROTO)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
        let possible_proxy_header = match forwarded {
            Some(_) => None,
            None => hint.map(|i| PROXY_HINTS[i]),
        };
        if let Some(header) = possible_proxy_header
            && !trusted
            && !WARNED.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                %peer,
                header,
                "a request carries a forwarding header from a peer that is not a trusted proxy; \
                 the header is ignored (warned once). If the peer is your reverse proxy, add it to \
                 settings.trustedProxy.networks"
            );
        }
        Self {
            ip: forwarded.unwrap_or(peer),
            https: tls || forwarded_https,
            possible_proxy_header,
        }
    }
}

/// The client address a trusted proxy reports, from the first configured
/// header present; `None` if none is present or usable.
fn forwarded_ip(headers: &HeaderMap, proxy: &TrustedProxy) -> Option<IpAddr> {
    let configured = proxy.headers.iter().map(String::as_str);
    let names: Box<dyn Iterator<Item = &str>> = if proxy.headers.is_empty() {
        Box::new(DEFAULT_HEADERS.into_iter())
    } else {
        Box::new(configured)
    };
    for name in names {
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if values.is_empty() {
            continue;
        }
        let is_forwarded = name.eq_ignore_ascii_case("forwarded");
        // Repeated headers are one list, in order.
        let hops: Vec<&str> = values
            .iter()
            .flat_map(|v| v.split(','))
            .filter_map(|hop| {
                if is_forwarded {
                    forwarded_for(hop)
                } else {
                    Some(hop)
                }
            })
            .collect();
        return pick(&hops, proxy);
    }
    None
}

/// The `for=` value of one element of a `Forwarded` header (RFC 7239).
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim().eq_ignore_ascii_case("for").then_some(value)
    })
}

/// The client among the hops, left (first) to right (nearest).
fn pick(hops: &[&str], proxy: &TrustedProxy) -> Option<IpAddr> {
    if proxy.use_leftmost_ip {
        return hops.iter().find_map(|h| parse_hop(h));
    }
    let mut last_trusted = None;
    for hop in hops.iter().rev() {
        // A hop a trusted proxy wrote that is not an address: nothing to
        // its left can be believed, and the proxy itself is the answer.
        let ip = parse_hop(hop)?;
        if !proxy.trusts(ip) {
            return Some(ip);
        }
        last_trusted = Some(ip);
    }
    // Every hop is a trusted proxy (a local client through a local proxy).
    last_trusted
}

/// `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]:80`, optionally quoted.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim().trim_matches('"');
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.rsplit_once(':')?.0.parse::<Ipv4Addr>().ok().map(IpAddr::V4))
        .map(|ip| ip.to_canonical())
}

/// `settings.superuserIPs`: a superuser request from any other client
/// address (the resolved one) is refused, as PocketBase refuses it.
/// Called once the caller is known to be a superuser, so no one else pays.
pub fn superuser_may_call(req: &Request, settings: &crate::settings::Settings) -> Result<(), ApiError> {
    if settings.superuser_ips.is_empty() {
        return Ok(());
    }
    if settings.superuser_ip_allowed(ClientInfo::ip_of(req, &settings.trusted_proxy)) {
        Ok(())
    } else {
        Err(ApiError::new(
            poem::http::StatusCode::FORBIDDEN,
            crate::http::error::messages::FORBIDDEN,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(peer: &str, headers: &[(&str, &str)], proxy: &TrustedProxy) -> ClientInfo {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            let name = poem::http::HeaderName::from_bytes(k.as_bytes()).expect("header name");
            map.append(name, v.parse().expect("header value"));
        }
        let peer: std::net::SocketAddr = peer.parse().expect("addr");
        ClientInfo::of(peer.ip(), &map, false, proxy)
    }

    fn ip(peer: &str, headers: &[(&str, &str)], proxy: &TrustedProxy) -> String {
        resolve(peer, headers, proxy).ip.to_string()
    }

    const LOCAL: &str = "127.0.0.1:5000";
    const REMOTE: &str = "198.51.100.7:5000";

    #[test]
    fn loopback_proxies_are_believed_by_default_and_no_one_else() {
        let p = TrustedProxy::default();
        let xff = [("x-forwarded-for", "203.0.113.9"), ("x-forwarded-proto", "https")];
        let via_proxy = resolve(LOCAL, &xff, &p);
        assert_eq!(via_proxy.ip.to_string(), "203.0.113.9");
        assert!(via_proxy.https);
        assert_eq!(via_proxy.possible_proxy_header, None);
        assert_eq!(ip("[::1]:5000", &xff, &p), "203.0.113.9");
        assert_eq!(ip("[::ffff:127.0.0.1]:5000", &xff, &p), "203.0.113.9");

        let direct = resolve(REMOTE, &xff, &p);
        assert_eq!(
            direct.ip.to_string(),
            "198.51.100.7",
            "a direct client keeps its address"
        );
        assert!(!direct.https);
        assert_eq!(direct.possible_proxy_header, Some("X-Forwarded-For"));
        // No header: the peer, and nothing to hint at.
        let plain = resolve(LOCAL, &[], &p);
        assert_eq!(plain.ip.to_string(), "127.0.0.1");
        assert_eq!(plain.possible_proxy_header, None);
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let mut p = TrustedProxy::default();
        // nginx appends the peer it saw to what the client sent.
        let spoofed = [("x-forwarded-for", "1.1.1.1, 203.0.113.9")];
        assert_eq!(ip(LOCAL, &spoofed, &p), "203.0.113.9");
        // Two trusted hops: a front proxy on 10.0.0.0/8, then the local one.
        p.networks.push("10.0.0.0/8".parse().expect("net"));
        let chain = [("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.5")];
        assert_eq!(ip(LOCAL, &chain, &p), "203.0.113.9");
        // All hops trusted: the farthest.
        assert_eq!(
            ip(LOCAL, &[("x-forwarded-for", "10.0.0.5, 127.0.0.1")], &p),
            "10.0.0.5"
        );
        // Junk written by a trusted hop: nothing left of it counts.
        assert_eq!(
            ip(LOCAL, &[("x-forwarded-for", "1.1.1.1, junk")], &p),
            "127.0.0.1"
        );
        // Repeated headers are one list.
        let repeated = [("x-forwarded-for", "1.1.1.1"), ("x-forwarded-for", "203.0.113.9")];
        assert_eq!(ip(LOCAL, &repeated, &p), "203.0.113.9");
        // PocketBase's useLeftmostIP: the client's own claim, by choice.
        p.use_leftmost_ip = true;
        assert_eq!(ip(LOCAL, &spoofed, &p), "1.1.1.1");
    }

    #[test]
    fn other_headers_and_forms() {
        let p = TrustedProxy::default();
        assert_eq!(ip(LOCAL, &[("x-real-ip", "203.0.113.9")], &p), "203.0.113.9");
        assert_eq!(
            ip(
                LOCAL,
                &[(
                    "forwarded",
                    r#"for=1.1.1.1, For="[2001:db8::1]:4711";proto=https"#
                )],
                &p
            ),
            "2001:db8::1"
        );
        assert_eq!(
            ip(LOCAL, &[("x-forwarded-for", "203.0.113.9:443")], &p),
            "203.0.113.9"
        );
        // X-Forwarded-For wins over a client's X-Real-IP passed through.
        let both = [("x-real-ip", "1.1.1.1"), ("x-forwarded-for", "203.0.113.9")];
        assert_eq!(ip(LOCAL, &both, &p), "203.0.113.9");
        // Configured headers replace the defaults.
        let only_real = TrustedProxy {
            headers: vec!["X-Real-IP".into()],
            ..TrustedProxy::default()
        };
        assert_eq!(ip(LOCAL, &both, &only_real), "1.1.1.1");
        let resolved = resolve(LOCAL, &[("x-forwarded-for", "1.1.1.1")], &only_real);
        assert_eq!(resolved.ip.to_string(), "127.0.0.1");
        assert_eq!(resolved.possible_proxy_header, Some("X-Forwarded-For"));
        // Trusting nobody.
        let nobody = TrustedProxy {
            networks: vec![],
            ..TrustedProxy::default()
        };
        assert_eq!(ip(LOCAL, &both, &nobody), "127.0.0.1");
    }
}
