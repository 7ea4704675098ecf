//! Rate limiting from `settings.rateLimits`, read on every request so a
//! settings change applies to the very next one. Each rule is a fixed
//! window per (rule, client IP); over the limit answers 429 in the
//! envelope with `Retry-After`. Superusers are never limited.
//!
//! Labels follow PocketBase: a tag (`users:create`, `*:auth`), `METHOD
//! /path`, `METHOD /prefix/`, `/path` or `/prefix/`. Of the rules whose
//! label covers a request and whose audience (`@guest`, `@auth` or anyone)
//! fits the caller, the first in that order decides: exact collection tags,
//! then wildcard tags, then method and path, then path alone; a longer
//! prefix before a shorter one. Tags are read off the path here (see
//! `request_tags`), so a limited client is refused before its body is read.

use std::{
    net::IpAddr,
    time::{Duration, Instant},
};

use moka::sync::Cache;
use poem::{Request, Response};

use crate::{
    api::guard,
    app::AppState,
    auth::caller::Caller,
    http::error::ApiError,
    schema::Catalog,
    settings::{RateLimitRule, RateLimits},
};

#[derive(Clone, Copy)]
struct Window {
    started: Instant,
    count: u64,
}

/// Request counts per (rule, client IP), bounded in size; idle
/// entries expire after the longest sensible window.
pub struct RateLimiter {
    windows: Cache<(String, IpAddr), Window>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self {
            windows: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(3600))
                .build(),
        }
    }
}

/// The collection (by name) a request acts on and its action tags, most
/// specific first. Also change this table when an endpoint is added under
/// `/api/collections/{c}/` or `/api/files/`.
fn request_tags<'a>(
    catalog: &'a Catalog,
    method: &str,
    path: &str,
) -> Option<(&'a str, &'static [&'static str])> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let (collection, rest) = match segments.as_slice() {
        ["", "api", "collections", c, rest @ ..] if !rest.is_empty() => (*c, rest),
        ["", "api", "files", c, _, _] => (*c, &["file"][..]),
        _ => return None,
    };
    let name = catalog.get(collection)?.name.as_str();
    let tags: &'static [&'static str] = match (method, rest) {
        (_, ["file"]) => &["file"],
        ("GET", ["records"]) => &["list"],
        ("POST", ["records"]) => &["create"],
        ("GET", ["records", _]) => &["view"],
        ("PATCH", ["records", _]) => &["update"],
        ("DELETE", ["records", _]) => &["delete"],
        ("GET", ["auth-methods"]) => &["listAuthMethods"],
        ("POST", ["auth-refresh"]) => &["authRefresh"],
        ("POST", ["auth-with-password"]) => &["authWithPassword", "auth"],
        ("POST", ["auth-with-oauth2"]) => &["authWithOAuth2", "auth"],
        ("POST", ["auth-with-otp"]) => &["authWithOTP", "auth"],
        ("POST", ["request-otp"]) => &["requestOTP"],
        ("POST", ["request-password-reset"]) => &["requestPasswordReset"],
        ("POST", ["confirm-password-reset"]) => &["confirmPasswordReset"],
        ("POST", ["request-verification"]) => &["requestVerification"],
        ("POST", ["confirm-verification"]) => &["confirmVerification"],
        ("POST", ["request-email-change"]) => &["requestEmailChange"],
        ("POST", ["confirm-email-change"]) => &["confirmEmailChange"],
        _ => return None,
    };
    Some((name, tags))
}

/// Where `label` ranks for this request (lower decides first), or `None`
/// if it does not cover it.
fn rank(label: &str, method: &str, path: &str, tags: Option<(&str, &[&str])>) -> Option<(u8, usize)> {
    if let Some((scope, action)) = label.split_once(':') {
        let (collection, actions) = tags?;
        let at = actions.iter().position(|a| *a == action)?;
        return match scope {
            "*" => Some((1, at)),
            s if s == collection => Some((0, at)),
            _ => None,
        };
    }
    let (rule_method, rule_path) = match label.split_once(' ') {
        Some((m, p)) => (Some(m), p.trim()),
        None => (None, label),
    };
    if rule_method.is_some_and(|m| !m.eq_ignore_ascii_case(method)) || !rule_path.starts_with('/') {
        return None;
    }
    let class = if rule_method.is_some() { 2 } else { 4 };
    if let Some(prefix) = rule_path.strip_suffix('/') {
        // `/a/b/` covers `/a/b` itself and everything under it.
        let covers = prefix.is_empty() || path == prefix || path.starts_with(rule_path);
        // Longer prefixes first.
        covers.then_some((class + 1, usize::MAX - rule_path.len()))
    } else {
        (path == rule_path).then_some((class, 0))
    }
}

/// The rule that decides for this request, if any.
fn pick_rule<'a>(
    limits: &'a RateLimits,
    method: &str,
    path: &str,
    tags: Option<(&str, &[&str])>,
    authenticated: bool,
) -> Option<&'a RateLimitRule> {
    limits
        .rules
        .iter()
        .filter(|r| match r.audience.as_str() {
            "@guest" => !authenticated,
            "@auth" => authenticated,
            _ => true,
        })
        .filter_map(|r| Some((rank(&r.label, method, path, tags)?, r)))
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, r)| r)
}

impl RateLimiter {
    /// Counts one request; `Err(retry_after)` if it is over the limit.
    fn hit(&self, rule: &RateLimitRule, ip: IpAddr) -> Result<(), Duration> {
        let window = Duration::from_secs(rule.duration.max(1));
        let now = Instant::now();
        let entry = self
            .windows
            // Rules of one label for different audiences count apart.
            .entry((format!("{} {}", rule.audience, rule.label), ip))
            .and_upsert_with(|old| match old.map(|e| e.into_value()) {
                Some(w) if now.duration_since(w.started) < window => Window {
                    count: w.count + 1,
                    ..w
                },
                _ => Window {
                    started: now,
                    count: 1,
                },
            })
            .into_value();
        if entry.count > rule.max_requests {
            Err(window.saturating_sub(now.duration_since(entry.started)))
        } else {
            Ok(())
        }
    }
}

/// Counts `req` against its rule; the 429 to send if it is over the limit.
/// The caller, when it had to be identified, is left in `req` for the
/// handler.
pub async fn check(
    req: &mut Request,
    ip: IpAddr,
    limits: &RateLimits,
    state: &AppState,
) -> Result<Option<Response>, ApiError> {
    if !limits.enabled {
        return Ok(None);
    }
    if !limits.excluded_ips.is_empty() {
        let ip = ip.to_string();
        if limits.excluded_ips.contains(&ip) {
            return Ok(None);
        }
    }
    let catalog = state.schema.catalog();
    let (method, path) = (req.method().as_str(), req.uri().path());
    let tags = request_tags(&catalog, method, path);
    let covered = limits
        .rules
        .iter()
        .any(|r| rank(&r.label, method, path, tags).is_some());
    if !covered {
        return Ok(None);
    }
    // Only now is the caller worth identifying; the handler reuses the
    // answer.
    let caller = guard::identify(state, req).await?;
    let exempt = caller.is_superuser();
    let authenticated = matches!(caller, Caller::Record(..));
    let rule = (!exempt)
        .then(|| pick_rule(limits, method, path, tags, authenticated))
        .flatten();
    let verdict = rule.map(|rule| state.rate_limiter.hit(rule, ip));
    req.extensions_mut().insert(caller);
    Ok(match verdict {
        Some(Err(retry)) => Some(ApiError::too_many_requests().retry_after(retry).to_response()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTH: Option<(&str, &[&str])> = Some(("users", &["authWithPassword", "auth"]));

    #[test]
    fn labels_cover_paths_prefixes_methods_and_tags() {
        let covers = |label: &str, method: &str, path: &str| rank(label, method, path, None).is_some();
        assert!(covers("/api/health", "GET", "/api/health"));
        assert!(!covers("/api/health", "GET", "/api/healthz"));
        assert!(covers("/api/", "GET", "/api/anything/here"));
        assert!(covers("/api/", "GET", "/api"), "a prefix covers itself");
        assert!(covers("POST /api/batch", "POST", "/api/batch"));
        assert!(!covers("POST /api/batch", "GET", "/api/batch"));
        assert!(!covers(
            "*:auth",
            "POST",
            "/api/collections/users/auth-with-password"
        ));
        let p = "/api/collections/users/auth-with-password";
        assert!(rank("*:auth", "POST", p, AUTH).is_some());
        assert!(rank("users:authWithPassword", "POST", p, AUTH).is_some());
        assert!(rank("posts:auth", "POST", p, AUTH).is_none());
        assert!(rank("*:create", "POST", p, AUTH).is_none());
    }

    fn limits(rules: Vec<RateLimitRule>) -> RateLimits {
        RateLimits {
            rules,
            excluded_ips: vec![],
            enabled: true,
        }
    }

    #[test]
    fn pocketbase_order_decides() {
        let p = "/api/collections/users/auth-with-password";
        let all = limits(vec![
            RateLimitRule::new("/api/", 60, 100),
            RateLimitRule::new("/api/collections/", 60, 100),
            RateLimitRule::new(p, 60, 100),
            RateLimitRule::new("POST /api/", 60, 100),
            RateLimitRule::new("*:auth", 60, 100),
            RateLimitRule::new("users:auth", 60, 100),
            RateLimitRule::new("users:authWithPassword", 60, 100),
        ]);
        let order = [
            "users:authWithPassword",
            "users:auth",
            "*:auth",
            "POST /api/",
            p,
            "/api/collections/",
            "/api/",
        ];
        let mut rules = all.rules.clone();
        for expected in order {
            let current = limits(rules.clone());
            let picked = pick_rule(&current, "POST", p, AUTH, false).expect("a rule");
            assert_eq!(picked.label, expected);
            rules.retain(|r| r.label != expected);
        }
    }

    #[test]
    fn audiences_pick_their_rule_and_windows_reset() {
        let mut guests = RateLimitRule::new("/api/health", 60, 1);
        guests.audience = "@guest".into();
        let mut members = RateLimitRule::new("/api/health", 60, 5);
        members.audience = "@auth".into();
        let l = limits(vec![guests, members]);
        assert_eq!(
            pick_rule(&l, "GET", "/api/health", None, false).map(|r| r.max_requests),
            Some(1)
        );
        assert_eq!(
            pick_rule(&l, "GET", "/api/health", None, true).map(|r| r.max_requests),
            Some(5)
        );
        let rule = pick_rule(&l, "GET", "/api/health", None, false).expect("a rule");
        let limiter = RateLimiter::default();
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        assert!(limiter.hit(rule, ip).is_ok());
        assert!(limiter.hit(rule, ip).is_err());
        assert!(
            limiter.hit(rule, "10.0.0.2".parse().expect("ip")).is_ok(),
            "per IP"
        );
    }
}
