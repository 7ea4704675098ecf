//! Rate limiting from `settings.rateLimits`, read on every request so a
//! settings change applies to the very next one. Each rule is a fixed
//! window per (rule, client IP); over the limit answers 429 in the
//! envelope with `Retry-After`. Superusers are never limited (their API
//! keys are).
//!
//! A request made with an API key counts in a bucket of that key rather
//! than of its address (a key that does not work counts in its address's,
//! as a guest's request): a key is a better name for a client than an IP
//! (many services may share one NAT address; one key may run from many
//! machines), and a leaked key cannot escape its limits by spreading its
//! requests across addresses.
//!
//! Labels follow PocketBase: a tag (`users:create`, `*:auth`), `METHOD
//! /path`, `METHOD /prefix/`, `/path` or `/prefix/`. Of the rules whose
//! label covers a request and whose audience (`@guest`, `@auth` or anyone)
//! fits the caller, the first in that order decides: exact collection tags,
//! then wildcard tags, then method and path, then path alone; a longer
//! prefix before a shorter one. Tags are read off the path here (see
//! `Target`), from the table the routes declare (`api::tags`), so a
//! limited client is refused before its body is read; the path is read as
//! the router reads it, so that no other spelling of a limited endpoint
//! (percent-encoded, another case, the collection's id) escapes its rule. The requests inside a batch are counted here too
//! (`Inner`), each as if sent alone.

use std::{
    borrow::Cow,
    net::IpAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use moka::sync::Cache;
use percent_encoding::percent_decode_str;
use poem::{Request, Response};

use crate::{
    api::{guard, tags},
    app::AppState,
    http::error::ApiError,
    identity::Caller,
    schema::Catalog,
    settings::{RateLimitRule, RateLimits, Settings},
};

#[derive(Clone, Copy)]
struct Window {
    started: Instant,
    count: u64,
}

/// Whose requests a window counts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Bucket {
    Ip(IpAddr),
    /// An API key, by id.
    Key(String),
}

impl Bucket {
    fn of(caller: &Caller, ip: IpAddr) -> Self {
        match caller.key() {
            Some(key) => Self::Key(key.id.clone()),
            None => Self::Ip(ip),
        }
    }
}

/// Request counts per (rule, bucket), bounded in size; idle
/// entries expire after the longest sensible window. Clones share the
/// counts: the edge counts requests, and a batch counts its inner ones.
#[derive(Clone)]
pub struct RateLimiter {
    windows: Cache<(String, Bucket), Window>,
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

/// A request as the router resolves it: the path with each segment
/// percent-decoded and the collection segment replaced by the
/// collection's name (the router takes a name in any case, an id, or
/// either percent-encoded), and the collection's action tags, most
/// specific first. Rules are matched against this, never the raw path,
/// so no spelling of one endpoint escapes a rule that covers another.
struct Target<'a> {
    path: Cow<'a, str>,
    tags: Option<(&'a str, &'static [&'static str])>,
}

impl<'a> Target<'a> {
    fn resolve(catalog: &'a Catalog, method: &str, raw: &'a str) -> Self {
        let segments: Vec<&str> = raw.split('/').collect();
        // Where the router takes a collection: `/api/collections/{c}/…`
        // and `/api/files/{c}/…`. The other segments are matched raw by
        // the router (`/api/%62atch` is a 404), so only this one is
        // decoded to find the collection.
        let at = match segments.as_slice() {
            ["", "api", "collections" | "files", _, ..] => Some(3),
            _ => None,
        };
        let collection = at.and_then(|i| {
            let decoded = percent_decode_str(segments[i]).decode_utf8().ok()?;
            catalog.get(&decoded)
        });
        let tags = collection.and_then(|c| Some((c.name.as_str(), tags::lookup(method, &segments)?)));
        let plain = collection.is_none_or(|c| at.is_some_and(|i| segments[i] == c.name));
        let path = if plain && !raw.contains('%') {
            Cow::Borrowed(raw)
        } else {
            // Decoding every segment may over-cover a path the router
            // answers 404 to, which costs an attacker a request, never
            // the other way round.
            let joined: Vec<Cow<str>> = segments
                .iter()
                .enumerate()
                .map(|(i, s)| match collection {
                    Some(c) if Some(i) == at => Cow::Borrowed(c.name.as_str()),
                    _ => percent_decode_str(s).decode_utf8_lossy(),
                })
                .collect();
            Cow::Owned(joined.join("/"))
        };
        Self { path, tags }
    }
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
    fn hit(&self, rule: &RateLimitRule, bucket: Bucket) -> Result<(), Duration> {
        let window = Duration::from_secs(rule.duration.max(1));
        let now = Instant::now();
        let entry = self
            .windows
            // Rules of one label for different audiences count apart.
            .entry((format!("{} {}", rule.audience, rule.label), bucket))
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

/// Whether any rule may count a request from `ip`.
fn active(limits: &RateLimits, ip: IpAddr) -> bool {
    limits.enabled && (limits.excluded_ips.is_empty() || !limits.excludes(ip))
}

/// Whether `caller` is exempt from every limit: superusers are, signed in
/// in person; a superuser's API key is not (a key is a program, and a
/// runaway one is what limits are for).
fn exempt(caller: &Caller) -> bool {
    caller.is_superuser() && caller.key().is_none()
}

/// Counts a request on `target` by `caller` against the rule that decides
/// for it, if any; the 429 if it is over the limit. Superusers are never
/// limited.
fn count(
    limiter: &RateLimiter,
    limits: &RateLimits,
    ip: IpAddr,
    caller: &Caller,
    method: &str,
    target: &Target,
) -> Result<(), ApiError> {
    if exempt(caller) {
        return Ok(());
    }
    let authenticated = matches!(caller, Caller::Record(..));
    match pick_rule(limits, method, &target.path, target.tags, authenticated) {
        Some(rule) => limiter
            .hit(rule, Bucket::of(caller, ip))
            .map_err(|retry| ApiError::too_many_requests().retry_after(retry)),
        None => Ok(()),
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
    limiter: &RateLimiter,
) -> Result<Option<Response>, ApiError> {
    if !active(limits, ip) {
        return Ok(None);
    }
    let catalog = state.schema.catalog();
    let method = req.method().as_str();
    let target = Target::resolve(&catalog, method, req.uri().path());
    let covered = limits
        .rules
        .iter()
        .any(|r| rank(&r.label, method, &target.path, target.tags).is_some());
    if !covered {
        return Ok(None);
    }
    // Only now is the caller worth identifying; the handler reuses the
    // answer.
    let caller = match guard::identify(state, req).await {
        Ok(caller) => caller,
        // A credential that does not work (an unknown, revoked or expired
        // API key) is refused, but first counted as the guest's request it
        // is, in its address's bucket: a flood of bad keys is limited like
        // any other, and the limited answer hides whether a key was good.
        Err(refused) => {
            return match count(limiter, limits, ip, &Caller::Guest, method, &target) {
                Err(limited) => Ok(Some(limited.to_response())),
                Ok(()) => Err(refused),
            };
        }
    };
    let verdict = count(limiter, limits, ip, &caller, method, &target);
    req.extensions_mut().insert(caller);
    Ok(verdict.err().map(|limited| limited.to_response()))
}

/// The limits on the requests inside one batch: each is counted as the
/// same request sent alone by the batch's caller, in the same buckets, so
/// a batch stretches no rule. (PocketBase 0.40.6 limits them too, but
/// counts them apart from requests sent alone; one bucket is the safer
/// reading.)
pub struct Inner<'a> {
    state: &'a AppState,
    limiter: &'a RateLimiter,
    settings: Arc<Settings>,
    ip: IpAddr,
    caller: &'a Caller,
}

impl<'a> Inner<'a> {
    /// `None` when nothing can limit this caller's requests.
    pub fn for_caller(
        state: &'a AppState,
        limiter: &'a RateLimiter,
        ip: IpAddr,
        caller: &'a Caller,
    ) -> Option<Self> {
        let settings = state.settings.get();
        (active(&settings.rate_limits, ip) && !exempt(caller)).then_some(Self {
            state,
            limiter,
            settings,
            ip,
            caller,
        })
    }

    /// Counts `method path` (`path` as a client would send it alone); the
    /// 429 if it is over the limit.
    pub fn check(&self, method: &str, path: &str) -> Result<(), ApiError> {
        let catalog = self.state.schema.catalog();
        let target = Target::resolve(&catalog, method, path);
        count(
            self.limiter,
            &self.settings.rate_limits,
            self.ip,
            self.caller,
            method,
            &target,
        )
    }
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

    #[test]
    fn targets_read_the_path_as_the_router_does() {
        let catalog = Catalog::from_collections(vec![crate::schema::defaults::users()]);
        let target = |method: &str, path: &'static str| {
            let t = Target::resolve(&catalog, method, path);
            (t.path.into_owned(), t.tags.map(|(c, tags)| (c.to_owned(), tags)))
        };
        let signin = "/api/collections/users/auth-with-password";
        let auth: Option<(String, &[&str])> = Some(("users".into(), &["authWithPassword", "auth"]));
        for form in [
            signin,
            "/api/collections/%75sers/auth-with-password",
            "/api/collections/USERS/auth-with-password",
            "/api/collections/_pb_users_auth_/auth-with-password",
            "/api/collections/%5fpb_users_auth_/auth-with-password",
        ] {
            assert_eq!(target("POST", form), (signin.to_owned(), auth.clone()), "{form}");
        }
        // Shapes the router does not resolve (404) carry no tag.
        for path in [
            "/api/collections/users/auth-with-password/",
            "/api//collections/users/auth-with-password",
            "/api/collections/users//auth-with-password",
            "/api/collections/users/records/../auth-with-password",
            "/api/collections/nope/auth-with-password",
            "/api/collections/%ff/auth-with-password",
        ] {
            assert_eq!(target("POST", path).1, None, "{path}");
        }
        assert_eq!(
            target("GET", "/api/files/%75sers/r1/a.png").0,
            "/api/files/users/r1/a.png"
        );
        assert_eq!(
            target("GET", "/api/files/%75sers/r1/a.png").1.map(|t| t.1),
            Some(&["file"][..])
        );
        assert_eq!(
            target("GET", "/api/collections/users/records/%61b").0,
            "/api/collections/users/records/ab"
        );
        assert_eq!(
            target("PATCH", "/api/collections/%55SERS").0,
            "/api/collections/users"
        );
        // A plain path is not copied.
        let t = Target::resolve(&catalog, "POST", "/api/batch");
        assert!(matches!(t.path, Cow::Borrowed("/api/batch")) && t.tags.is_none());
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
        assert!(limiter.hit(rule, Bucket::Ip(ip)).is_ok());
        assert!(limiter.hit(rule, Bucket::Ip(ip)).is_err());
        assert!(
            limiter
                .hit(rule, Bucket::Ip("10.0.0.2".parse().expect("ip")))
                .is_ok(),
            "per IP"
        );
        assert!(limiter.hit(rule, Bucket::Key("k1".into())).is_ok(), "per key");
        assert!(limiter.hit(rule, Bucket::Key("k1".into())).is_err());
        assert!(limiter.hit(rule, Bucket::Key("k2".into())).is_ok());
    }
}
