//! Start-up configuration: what the operator passes as flags or `CAIRN_*`
//! environment variables. Runtime settings (rate limits, SMTP, …) are not
//! here: they live in the database (`settings.rs`) and change without a
//! restart.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// Which browser origins may call the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origins {
    /// Any origin, without credentials (`Access-Control-Allow-Origin: *`).
    Any,
    /// Only these origins, echoed back, with credentials allowed.
    List(Vec<String>),
}

impl Origins {
    /// `*` (or nothing) means any; otherwise a comma-separated allowlist.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let items: Vec<String> = raw
            .split(',')
            .map(|s| s.trim().trim_end_matches('/').to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        if items.is_empty() || items.iter().any(|s| s == "*") {
            if items.len() > 1 {
                return Err("`*` cannot be combined with other origins".into());
            }
            return Ok(Self::Any);
        }
        for item in &items {
            let rest = item
                .strip_prefix("https://")
                .or_else(|| item.strip_prefix("http://"))
                .ok_or_else(|| format!("origin {item:?} must start with http:// or https://"))?;
            if rest.is_empty() || rest.contains('/') {
                return Err(format!(
                    "origin {item:?} must be scheme://host[:port] with no path"
                ));
            }
        }
        Ok(Self::List(items))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free one (tests).
    pub http: SocketAddr,
    pub data_dir: PathBuf,
    pub origins: Origins,
    /// Development mode: verbose logs, mail printed to the console.
    pub dev: bool,
    pub log_format: LogFormat,
    /// How long in-flight requests may take to finish after a stop signal.
    pub shutdown_timeout: Duration,
    /// Largest request body accepted for non-multipart requests.
    pub body_limit: usize,
    /// Bounds on realtime (SSE) connections.
    pub realtime: crate::realtime::RealtimeLimits,
    /// What an acknowledged write survives (`store::Durability`).
    pub durability: crate::store::Durability,
    /// Timeouts and the cap on open connections.
    pub connections: ConnectionLimits,
    /// Where Prometheus metrics are served (`GET /metrics`), apart from
    /// the API; `None` (the default) serves none.
    pub metrics: Option<SocketAddr>,
    /// A list query slower than this is kept in its request's log entry
    /// with SQLite's plan (and the index that would help).
    pub slow_query: Duration,
    /// The job queue's workers and retry spacing (not a flag: tests
    /// shorten the waits).
    pub jobs: crate::jobs::Limits,
    /// How often API keys' last-used times are written (`keys::usage`);
    /// tests shorten it.
    pub key_usage_flush: Duration,
    /// Where webhooks may send, how long an attempt may take, and when a
    /// failing one is disabled.
    pub webhooks: crate::webhooks::WebhookOptions,
    /// Whether an OAuth2 sign-up may fetch the provider's avatar from a
    /// private, loopback or link-local address (tests; a provider on the
    /// LAN). Off: such avatars are skipped.
    pub oauth2_avatars_allow_private: bool,
    /// The folder served at `/` (a site or an app beside the API), if any;
    /// `http::public` says how.
    pub public_dir: Option<PathBuf>,
    /// Whether a path the public folder lacks gets its `index.html` (an
    /// app that routes in the browser) rather than a 404.
    pub index_fallback: bool,
}

impl Config {
    pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
    pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
    pub const DEFAULT_SLOW_QUERY: Duration = Duration::from_millis(250);
    pub const DEFAULT_KEY_USAGE_FLUSH: Duration = Duration::from_secs(60);

    /// The configuration tests use: a free port on loopback and the given
    /// data folder, everything else as in production.
    pub fn for_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            http: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.into(),
            origins: Origins::Any,
            dev: false,
            log_format: LogFormat::Pretty,
            shutdown_timeout: Self::DEFAULT_SHUTDOWN_TIMEOUT,
            body_limit: Self::DEFAULT_BODY_LIMIT,
            realtime: crate::realtime::RealtimeLimits::default(),
            durability: crate::store::Durability::default(),
            connections: ConnectionLimits::default(),
            metrics: None,
            slow_query: Self::DEFAULT_SLOW_QUERY,
            jobs: crate::jobs::Limits::default(),
            key_usage_flush: Self::DEFAULT_KEY_USAGE_FLUSH,
            webhooks: crate::webhooks::WebhookOptions::default(),
            oauth2_avatars_allow_private: false,
            public_dir: None,
            index_fallback: true,
        }
    }

    pub fn data_db(&self) -> PathBuf {
        self.data_dir.join("data.db")
    }

    pub fn auxiliary_db(&self) -> PathBuf {
        self.data_dir.join("auxiliary.db")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse() {
        assert_eq!(Origins::parse("*"), Ok(Origins::Any));
        assert_eq!(Origins::parse(""), Ok(Origins::Any));
        assert_eq!(
            Origins::parse("https://a.example, http://localhost:5173/"),
            Ok(Origins::List(vec![
                "https://a.example".into(),
                "http://localhost:5173".into()
            ]))
        );
        assert!(Origins::parse("*,https://a.example").is_err());
        assert!(Origins::parse("a.example").is_err());
        assert!(Origins::parse("https://a.example/path").is_err());
    }
}

/// The bounds on each HTTP connection (see `http::connections`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    pub write_timeout: Duration,
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(60),
            max_connections: default_max_connections(),
        }
    }
}

/// Files this process may open, less a reserve for the databases (their
/// WAL and shared memory, the reader pool) and files being served or
/// stored; read from /proc so no unsafe `getrlimit` is needed.
fn default_max_connections() -> usize {
    const RESERVE: usize = 256;
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse::<usize>().ok()
        });
    match soft {
        Some(limit) => limit.saturating_sub(RESERVE).max(64),
        // Unlimited or unknown (not Linux): a bound that is still finite.
        None => 16_384,
    }
}
