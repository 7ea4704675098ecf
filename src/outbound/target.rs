//! Where a request that leaves the server may go: the SSRF guard, for
//! webhooks and for the avatars OAuth2 providers name. Someone else names
//! the URL (a superuser, a provider, a user's profile at a provider), but
//! the request leaves from the server, inside whatever network it sits in;
//! unchecked, it is a way to reach the cloud's metadata service or an
//! admin port on localhost. So a target must be `http` or `https`, and
//! every address it resolves to must be a public one, unless the operator
//! allowed private targets (`--webhooks-allow-private`,
//! `--oauth2-avatars-allow-private`: tests, or a host on the same LAN).
//!
//! Checked twice: at save time for a literal address (the superuser hears
//! of it at once), and at every delivery, where the name is resolved once,
//! every address it gave is checked, and the addresses checked are the
//! only ones connected to (the caller pins the name to them), so a DNS
//! answer that changes between the check and the connection (rebinding)
//! cannot slip past.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

/// Why a target is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("the URL does not parse")]
    Unparsable,
    #[error("only http and https URLs are allowed")]
    Scheme,
    #[error("the URL has no host")]
    NoHost,
    #[error("the URL may not carry a user name or password")]
    Credentials,
    #[error("{0} is a private, loopback or otherwise non-public address")]
    Private(IpAddr),
    #[error("cannot resolve {host}: {error}")]
    Resolve { host: String, error: String },
    #[error("{0} resolves to no address")]
    NoAddress(String),
}

/// A target URL that passed the save-time checks.
pub fn parse(raw: &str, allow_private: bool) -> Result<Url, TargetError> {
    let url = Url::parse(raw.trim()).map_err(|_| TargetError::Unparsable)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TargetError::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetError::Credentials);
    }
    match url.host() {
        None => return Err(TargetError::NoHost),
        Some(url::Host::Domain("")) => return Err(TargetError::NoHost),
        Some(url::Host::Ipv4(ip)) => check(IpAddr::V4(ip), allow_private)?,
        Some(url::Host::Ipv6(ip)) => check(IpAddr::V6(ip), allow_private)?,
        Some(url::Host::Domain(_)) => {}
    }
    Ok(url)
}

/// The addresses to connect to for `url`, never empty: resolved once,
/// every answer checked. All of them, in the resolver's order, so a name
/// with an IPv6 and an IPv4 address still reaches a receiver listening on
/// one of them only.
pub async fn resolve(url: &Url, allow_private: bool) -> Result<Vec<SocketAddr>, TargetError> {
    let port = url.port_or_known_default().ok_or(TargetError::NoHost)?;
    let addrs: Vec<SocketAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Some(url::Host::Domain(host)) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| TargetError::Resolve {
                host: host.to_owned(),
                error: e.to_string(),
            })?
            .collect(),
        None => return Err(TargetError::NoHost),
    };
    // All of them, not just the one used: a name that points anywhere
    // private is not a public target.
    for a in &addrs {
        check(a.ip(), allow_private)?;
    }
    if addrs.is_empty() {
        return Err(TargetError::NoAddress(url.host_str().unwrap_or("").to_owned()));
    }
    Ok(addrs)
}

/// Refuses a non-public address unless private targets are allowed.
pub fn check(ip: IpAddr, allow_private: bool) -> Result<(), TargetError> {
    if allow_private || is_public(ip) {
        Ok(())
    } else {
        Err(TargetError::Private(ip))
    }
}

/// Whether `ip` is an ordinary public unicast address: not private,
/// loopback, link-local, unique-local, carrier-grade NAT, multicast,
/// broadcast, unspecified, reserved or documentation, nor an IPv6 form
/// that embeds such an IPv4 address (mapped, compatible, NAT64, 6to4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let private = a == 0 // "this network", unspecified
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 169 && b == 254) // link-local (cloud metadata)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224; // multicast, reserved, broadcast
    !private
}

fn public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return public_v4(v4);
    }
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    let private = ip.is_unspecified()
        || ip.is_loopback()
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] & 0xfe00) == 0xfc00 // unique-local
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        // IPv4-compatible (::a.b.c.d, deprecated) and IPv4-translated
        // (::ffff:0:a.b.c.d): never public targets.
        || s[..6].iter().all(|&x| x == 0)
        || (s[..4].iter().all(|&x| x == 0) && s[4] == 0xffff && s[5] == 0)
        // Local-use NAT64 (64:ff9b:1::/48), Teredo (2001::/32) and the
        // discard prefix (100::/64): routes to who knows where.
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1)
        || (s[0] == 0x2001 && s[1] == 0)
        || (s[0] == 0x100 && s[1..4].iter().all(|&x| x == 0))
        // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach an IPv4 address.
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2..6].iter().all(|&x| x == 0) && !public_v4(embedded_v4(s[6], s[7])))
        || (s[0] == 0x2002 && !public_v4(embedded_v4(s[1], s[2])));
    !private
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn refuses_every_non_public_range() {
        for s in [
            "0.0.0.0",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.8.9.10",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "192.0.0.8",
            "198.18.0.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "2001:db8::1",
            "::ffff:0:7f00:1",
            "64:ff9b:1::a00:1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "100::1",
        ] {
            assert!(!is_public(ip(s)), "{s} counted as public");
            assert!(check(ip(s), false).is_err(), "{s}");
            assert!(check(ip(s), true).is_ok(), "{s} with private allowed");
        }
    }

    #[test]
    fn lets_public_addresses_through() {
        for s in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.0.1",
            "172.32.0.1",
            "192.169.0.1",
            "93.184.216.34",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::",
        ] {
            assert!(is_public(ip(s)), "{s} counted as private");
        }
    }

    #[test]
    fn save_time_checks() {
        assert_eq!(parse("ftp://example.com/", false), Err(TargetError::Scheme));
        assert_eq!(parse("file:///etc/passwd", false), Err(TargetError::Scheme));
        assert_eq!(parse("not a url", false), Err(TargetError::Unparsable));
        assert_eq!(
            parse("https://u:p@example.com/", false),
            Err(TargetError::Credentials)
        );
        assert!(matches!(
            parse("http://10.0.0.1/x", false),
            Err(TargetError::Private(_))
        ));
        assert!(matches!(
            parse("http://[::1]:8080/", false),
            Err(TargetError::Private(_))
        ));
        assert!(matches!(
            parse("http://169.254.169.254/latest/meta-data", false),
            Err(TargetError::Private(_))
        ));
        // Decimal and hex spellings of loopback are the same address to the URL parser.
        assert!(matches!(
            parse("http://2130706433/", false),
            Err(TargetError::Private(_))
        ));
        assert!(matches!(
            parse("http://0x7f.1/", false),
            Err(TargetError::Private(_))
        ));
        assert!(parse("http://127.0.0.1:9/", true).is_ok());
        assert!(parse("https://hooks.example.com/in", false).is_ok());
        // A name is resolved at delivery, not at save time.
        assert!(parse("http://localhost:9/", false).is_ok());
    }

    #[tokio::test]
    async fn delivery_time_resolution_checks_the_answer() {
        let url = Url::parse("http://localhost:9/").unwrap();
        assert!(matches!(resolve(&url, false).await, Err(TargetError::Private(_))));
        let addrs = resolve(&url, true).await.unwrap();
        assert!(!addrs.is_empty());
        assert!(
            addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 9),
            "{addrs:?}"
        );
        let literal = Url::parse("http://[::1]:7/").unwrap();
        assert!(matches!(
            resolve(&literal, false).await,
            Err(TargetError::Private(_))
        ));
    }
}
