//! Who is calling: the client IP and whether the request arrived over
//! HTTPS, decided once per request at the outermost layer. Forwarding
//! headers are believed only when `settings.trustedProxy` names them;
//! otherwise anyone could claim any address and dodge rate limits.

use std::net::{IpAddr, Ipv4Addr};

use poem::{Request, http::uri::Scheme};

use crate::settings::TrustedProxy;

#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub ip: IpAddr,
    pub https: bool,
}

impl ClientInfo {
    pub fn resolve(req: &Request, proxy: &TrustedProxy) -> Self {
        let socket_ip = req
            .remote_addr()
            .as_socket_addr()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
        let forwarded_ip = proxy.headers.iter().find_map(|name| {
            let value = req.headers().get(name.as_str())?.to_str().ok()?;
            let mut parts = value.split(',').map(str::trim).filter(|s| !s.is_empty());
            let pick = if proxy.use_leftmost_ip {
                parts.next()
            } else {
                parts.next_back()
            };
            pick?.parse::<IpAddr>().ok()
        });
        let forwarded_https = !proxy.headers.is_empty()
            && req
                .headers()
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
        Self {
            ip: forwarded_ip.unwrap_or(socket_ip),
            https: *req.scheme() == Scheme::HTTPS || forwarded_https,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut b = Request::builder();
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.finish()
    }

    #[test]
    fn forwarding_headers_count_only_when_trusted() {
        let req = request(&[
            ("x-forwarded-for", "1.2.3.4, 5.6.7.8"),
            ("x-forwarded-proto", "https"),
        ]);
        let untrusted = ClientInfo::resolve(&req, &TrustedProxy::default());
        assert_ne!(untrusted.ip.to_string(), "5.6.7.8");
        assert!(!untrusted.https);

        let mut proxy = TrustedProxy {
            headers: vec!["X-Forwarded-For".into()],
            use_leftmost_ip: false,
        };
        let trusted = ClientInfo::resolve(&req, &proxy);
        assert_eq!(trusted.ip.to_string(), "5.6.7.8");
        assert!(trusted.https);
        proxy.use_leftmost_ip = true;
        assert_eq!(ClientInfo::resolve(&req, &proxy).ip.to_string(), "1.2.3.4");
    }
}
