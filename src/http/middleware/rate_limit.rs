//! Rate limiting from `settings.rateLimits`, read on every request so a
//! settings change applies to the very next one. Each rule is a fixed
//! window per (rule, client IP); over the limit answers 429 in the
//! envelope with `Retry-After`.
//!
//! Rules whose label is a path (`/api/x` exact, `/api/` prefix) or
//! `METHOD /path` are matched here; tag labels (`users:create`, `*:auth`)
//! need the route's collection and action, which the records and auth
//! layers report when they exist. Among the rules that match, the most
//! specific (longest label) decides, as PocketBase does.

use std::{
    net::IpAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use moka::sync::Cache;
use poem::{
    Endpoint, IntoResponse, Request, Response, Result,
    http::{HeaderValue, header},
};

use crate::{
    app::AppState,
    http::{client::ClientInfo, error::ApiError},
    settings::{RateLimitRule, RateLimits},
};

#[derive(Clone, Copy)]
struct Window {
    started: Instant,
    count: u64,
}

/// Request counts per (rule label, client IP), bounded in size; idle
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

/// Whether `rule`'s label covers this method and path (tags aside).
fn label_matches(label: &str, method: &str, path: &str) -> bool {
    let (rule_method, rule_path) = match label.split_once(' ') {
        Some((m, p)) => (Some(m), p.trim()),
        None => (None, label),
    };
    if rule_method.is_some_and(|m| !m.eq_ignore_ascii_case(method)) || !rule_path.starts_with('/') {
        return false;
    }
    if rule_path.ends_with('/') {
        path.starts_with(rule_path)
    } else {
        path == rule_path
    }
}

fn pick_rule<'a>(
    limits: &'a RateLimits,
    method: &str,
    path: &str,
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
        .filter(|r| label_matches(&r.label, method, path))
        .max_by_key(|r| r.label.len())
}

impl RateLimiter {
    /// Counts one request; `Err(retry_after)` if it is over the limit.
    fn hit(&self, rule: &RateLimitRule, ip: IpAddr) -> Result<(), Duration> {
        let window = Duration::from_secs(rule.duration.max(1));
        let now = Instant::now();
        let entry = self
            .windows
            .entry((rule.label.clone(), ip))
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

pub async fn handle<E: Endpoint>(ep: Arc<E>, req: Request, state: Arc<AppState>) -> Result<Response> {
    let settings = state.settings.get();
    let limits = &settings.rate_limits;
    if limits.enabled {
        let ip = req.extensions().get::<ClientInfo>().map(|c| c.ip);
        // Authentication arrives with the auth layer; until then every
        // caller is a guest.
        let authenticated = false;
        if let Some(ip) = ip.filter(|ip| !limits.excluded_ips.iter().any(|x| x == &ip.to_string()))
            && let Some(rule) = pick_rule(limits, req.method().as_str(), req.uri().path(), authenticated)
            && let Err(retry) = state.rate_limiter.hit(rule, ip)
        {
            let mut resp = ApiError::too_many_requests().to_response();
            let secs = retry.as_secs().max(1).to_string();
            if let Ok(v) = HeaderValue::from_str(&secs) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return Ok(resp);
        }
    }
    ep.call(req).await.map(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_match_paths_prefixes_and_methods() {
        assert!(label_matches("/api/health", "GET", "/api/health"));
        assert!(!label_matches("/api/health", "GET", "/api/healthz"));
        assert!(label_matches("/api/", "GET", "/api/anything/here"));
        assert!(label_matches("POST /api/batch", "POST", "/api/batch"));
        assert!(!label_matches("POST /api/batch", "GET", "/api/batch"));
        assert!(!label_matches(
            "*:auth",
            "POST",
            "/api/collections/users/auth-with-password"
        ));
    }

    #[test]
    fn most_specific_rule_wins_and_windows_reset() {
        let limits = RateLimits {
            rules: vec![
                RateLimitRule::new("/api/", 60, 100),
                RateLimitRule::new("/api/health", 60, 1),
            ],
            excluded_ips: vec![],
            enabled: true,
        };
        let rule = pick_rule(&limits, "GET", "/api/health", false).expect("a rule");
        assert_eq!(rule.label, "/api/health");
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
