//! Runtime settings: PocketBase's `settings` JSON shape and defaults, kept
//! in `_params` under the key `settings`, loaded once at start and swapped
//! whole when changed, so a reader always sees one consistent version.
//!
//! Defaults differ from PocketBase in two places on purpose: rate limiting
//! is on out of the box, and a reverse proxy on the same host is believed
//! (see `TrustedProxy`).

use std::{
    net::IpAddr,
    sync::{Arc, RwLock},
};

use ipnet::IpNet;
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use crate::store::{Database, StoreError};

pub mod checks;

const PARAMS_KEY: &str = "settings";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    pub meta: Meta,
    pub smtp: Smtp,
    pub backups: Backups,
    pub s3: S3,
    pub rate_limits: RateLimits,
    pub trusted_proxy: TrustedProxy,
    pub batch: Batch,
    pub logs: Logs,
    /// When not empty, the only client addresses (or CIDR networks) a
    /// superuser may act from, as in PocketBase. Kept as text so a value
    /// stored before it was checked still loads; one that does not parse
    /// matches nothing, and a change is refused if any does not
    /// (`checks::problems`).
    #[serde(rename = "superuserIPs")]
    pub superuser_ips: Vec<String>,
}

impl Settings {
    /// Whether a superuser may act from client address `ip`.
    pub fn superuser_ip_allowed(&self, ip: IpAddr) -> bool {
        self.superuser_ips.is_empty()
            || self
                .superuser_ips
                .iter()
                .filter_map(|s| s.parse::<Network>().ok())
                .any(|n| n.contains(ip))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Meta {
    pub app_name: String,
    #[serde(rename = "appURL")]
    pub app_url: String,
    pub sender_name: String,
    pub sender_address: String,
    pub hide_controls: bool,
    pub accent_color: String,
}

impl Default for Meta {
    fn default() -> Self {
        Self {
            app_name: "Acme".into(),
            app_url: "http://localhost:8090".into(),
            sender_name: "Support".into(),
            sender_address: "support@example.com".into(),
            hide_controls: false,
            accent_color: "#1055c9".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Smtp {
    pub enabled: bool,
    pub port: u16,
    pub host: String,
    pub username: String,
    /// Stored as given; the settings API redacts it before answering.
    pub password: String,
    pub auth_method: String,
    pub tls: bool,
    pub local_name: String,
}

impl Default for Smtp {
    fn default() -> Self {
        Self {
            enabled: false,
            port: 587,
            host: "smtp.example.com".into(),
            username: String::new(),
            password: String::new(),
            auth_method: String::new(),
            tls: false,
            local_name: String::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct S3 {
    pub enabled: bool,
    pub bucket: String,
    pub region: String,
    pub endpoint: String,
    pub access_key: String,
    pub secret: String,
    pub force_path_style: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Backups {
    pub cron: String,
    pub cron_max_keep: u32,
    pub s3: S3,
}

impl Default for Backups {
    fn default() -> Self {
        Self {
            cron: String::new(),
            cron_max_keep: 3,
            s3: S3::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RateLimits {
    pub rules: Vec<RateLimitRule>,
    #[serde(rename = "excludedIPs")]
    pub excluded_ips: Vec<String>,
    pub enabled: bool,
}

impl RateLimits {
    /// Whether client address `ip` is in `excludedIPs` (addresses or CIDR
    /// networks, as in PocketBase; one that does not parse matches
    /// nothing, and a change is refused if any does not).
    pub fn excludes(&self, ip: IpAddr) -> bool {
        self.excluded_ips
            .iter()
            .filter_map(|s| s.parse::<Network>().ok())
            .any(|n| n.contains(ip))
    }
}

impl Default for RateLimits {
    /// PocketBase's rules for sign-in, creation (sign-up included) and
    /// batches, plus Cairn's for the endpoints that send mail or take a
    /// one-time secret, all enabled. PocketBase's catch-all `/api/` rule
    /// is left out: a blanket per-IP cap hurts apps behind a shared NAT
    /// more than it protects them.
    fn default() -> Self {
        Self {
            rules: vec![
                RateLimitRule::new("*:auth", 3, 2),
                RateLimitRule::new("*:create", 5, 20),
                RateLimitRule::new("/api/batch", 1, 3),
                RateLimitRule::new("*:requestOTP", 60, 5),
                RateLimitRule::new("*:requestPasswordReset", 60, 5),
                RateLimitRule::new("*:confirmPasswordReset", 60, 10),
                RateLimitRule::new("*:requestVerification", 60, 5),
                RateLimitRule::new("*:confirmVerification", 60, 10),
                RateLimitRule::new("*:requestEmailChange", 60, 5),
                RateLimitRule::new("*:confirmEmailChange", 60, 10),
            ],
            excluded_ips: Vec::new(),
            enabled: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RateLimitRule {
    /// What the rule covers: `/exact/path`, `/prefix/`, `METHOD /path`, or a
    /// tag such as `users:create` or `*:auth`.
    pub label: String,
    /// `""` everyone, `@guest` or `@auth`.
    pub audience: String,
    /// Window length in seconds.
    pub duration: u64,
    pub max_requests: u64,
}

/// A part left out of a rule is 0, which `checks::problems` refuses as
/// PocketBase does ("Cannot be blank"), rather than a silent 1.
impl Default for RateLimitRule {
    fn default() -> Self {
        Self::new("", 0, 0)
    }
}

impl RateLimitRule {
    pub fn new(label: &str, duration: u64, max_requests: u64) -> Self {
        Self {
            label: label.into(),
            audience: String::new(),
            duration,
            max_requests,
        }
    }
}

/// Who may say where a request came from. A forwarding header is believed
/// only from a peer in `networks`, which holds the loopback addresses by
/// default: a reverse proxy on the same host (Caddy, nginx) works with no
/// setting, and no remote client can be a loopback peer. PocketBase reads
/// `headers` from any peer once set; Cairn asks for the proxy's network as
/// well, so naming a header never lets every client pick its own address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrustedProxy {
    /// Headers that carry the client IP, the first present one read.
    /// Empty means `X-Forwarded-For`, `X-Real-IP`, `Forwarded`.
    pub headers: Vec<String>,
    /// Take the left-most address of a list rather than the right-most
    /// one not in `networks`. The left-most is whatever the client sent.
    #[serde(rename = "useLeftmostIP")]
    pub use_leftmost_ip: bool,
    /// Cairn's addition: the peers (addresses or CIDR networks) whose
    /// forwarding headers are believed; `[]` believes none.
    pub networks: Vec<Network>,
}

impl Default for TrustedProxy {
    fn default() -> Self {
        Self {
            headers: Vec::new(),
            use_leftmost_ip: false,
            networks: ["127.0.0.0/8", "::1/128"]
                .into_iter()
                .filter_map(|n| n.parse().ok())
                .collect(),
        }
    }
}

impl TrustedProxy {
    /// Whether `ip` is a proxy whose headers are believed.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|n| n.contains(ip))
    }
}

/// An IP network in CIDR form; a bare address is a network of one.
/// Parsed when the settings are read, so a bad one is refused on save.
/// Also the form of an API key's address allowlist (`keys::input`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Network(IpNet);

impl Network {
    /// Whether client address `ip` is in the network (an IPv4-mapped IPv6
    /// address as the IPv4 address it is).
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }

    /// As a person writes it: an address alone (`127.0.0.1`), a network
    /// as `10.0.0.0/8`.
    pub fn compact(&self) -> String {
        if self.0.prefix_len() == self.0.max_prefix_len() {
            self.0.addr().to_string()
        } else {
            self.0.to_string()
        }
    }
}

impl std::str::FromStr for Network {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        s.parse::<IpNet>()
            .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
            .map(|n| Self(n.trunc()))
            .map_err(|_| format!("{s:?} is not an IP address or CIDR network"))
    }
}

impl Serialize for Network {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Network {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Batch {
    pub enabled: bool,
    pub max_requests: u32,
    pub timeout: u64,
    pub max_body_size: u64,
}

impl Default for Batch {
    fn default() -> Self {
        Self {
            enabled: true,
            max_requests: 50,
            timeout: 3,
            max_body_size: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Logs {
    pub max_days: u32,
    pub min_level: i32,
    #[serde(rename = "logIP")]
    pub log_ip: bool,
    pub log_auth_id: bool,
    pub max_data_size: u64,
}

impl Default for Logs {
    fn default() -> Self {
        Self {
            max_days: 5,
            min_level: 0,
            log_ip: true,
            log_auth_id: false,
            max_data_size: 0,
        }
    }
}

/// The live settings: one `Arc` swapped whole on every change.
pub struct SettingsStore {
    current: RwLock<Arc<Settings>>,
}

impl SettingsStore {
    /// Loads the stored settings, writing the defaults on first start.
    pub async fn load(db: &Database) -> Result<Self, StoreError> {
        let stored: Option<String> = db
            .read(|conn| {
                conn.query_row("SELECT value FROM _params WHERE id = ?1", [PARAMS_KEY], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(StoreError::from)
            })
            .await?;
        let settings = match stored {
            Some(json) => serde_json::from_str(&json).map_err(|err| {
                StoreError::Migration(format!(
                    "the stored settings (_params.settings) are not valid: {err}"
                ))
            })?,
            None => {
                let defaults = Settings::default();
                save(db, &defaults).await?;
                defaults
            }
        };
        Ok(Self {
            current: RwLock::new(Arc::new(settings)),
        })
    }

    pub fn get(&self) -> Arc<Settings> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            // A writer panicked mid-swap; the value is still a whole Arc.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reads the stored settings again (the database was replaced by a
    /// restore).
    pub async fn reload(&self, db: &Database) -> Result<(), StoreError> {
        let fresh = Self::load(db).await?.get();
        match self.current.write() {
            Ok(mut guard) => *guard = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(())
    }

    /// Persists `settings`, then makes them the live version.
    pub async fn replace(&self, db: &Database, settings: Settings) -> Result<(), StoreError> {
        save(db, &settings).await?;
        let fresh = Arc::new(settings);
        match self.current.write() {
            Ok(mut guard) => *guard = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(())
    }
}

async fn save(db: &Database, settings: &Settings) -> Result<(), StoreError> {
    let json = serde_json::to_string(settings).map_err(|e| StoreError::Migration(e.to_string()))?;
    db.write(move |tx| {
        tx.execute(
            "INSERT INTO _params (id, value, created, updated) VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT (id) DO UPDATE SET value = excluded.value, updated = excluded.updated",
            rusqlite::params![PARAMS_KEY, json, crate::datetime::now()],
        )?;
        Ok::<_, StoreError>(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_have_pocketbase_shape() {
        let v = serde_json::to_value(Settings::default()).expect("json");
        for key in [
            "meta",
            "smtp",
            "backups",
            "s3",
            "rateLimits",
            "trustedProxy",
            "batch",
            "logs",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["meta"]["appURL"], "http://localhost:8090");
        assert_eq!(v["rateLimits"]["enabled"], true);
        assert_eq!(v["logs"]["logIP"], true);
    }

    #[test]
    fn partial_json_fills_in_defaults() {
        let s: Settings = serde_json::from_str(r#"{"meta":{"appName":"Mine"}}"#).expect("parse");
        assert_eq!(s.meta.app_name, "Mine");
        assert_eq!(s.meta.sender_name, "Support");
        assert_eq!(s.batch.max_requests, 50);
        // Stored before `networks` existed: loopback proxies are trusted.
        let s: Settings =
            serde_json::from_str(r#"{"trustedProxy":{"headers":[],"useLeftmostIP":false}}"#).expect("parse");
        assert!(s.trusted_proxy.trusts("127.0.0.1".parse().expect("ip")));
        assert!(s.trusted_proxy.trusts("::ffff:127.0.0.2".parse().expect("ip")));
        assert!(!s.trusted_proxy.trusts("10.0.0.1".parse().expect("ip")));
    }

    #[test]
    fn proxy_networks_parse_or_are_refused() {
        let p: TrustedProxy =
            serde_json::from_str(r#"{"networks":["10.1.0.0/16"," 192.0.2.7 ","fd00::/8"]}"#).expect("parse");
        assert!(p.trusts("10.1.200.3".parse().expect("ip")));
        assert!(p.trusts("192.0.2.7".parse().expect("ip")));
        assert!(!p.trusts("192.0.2.8".parse().expect("ip")));
        assert!(p.trusts("fd12::1".parse().expect("ip")));
        assert!(
            !p.trusts("127.0.0.1".parse().expect("ip")),
            "replaces the default"
        );
        assert_eq!(
            serde_json::to_value(&p).expect("json")["networks"][1],
            "192.0.2.7/32"
        );
        for bad in [r#"["10.0.0.0/33"]"#, r#"["proxy.local"]"#, r#"[5]"#] {
            let json = format!(r#"{{"networks":{bad}}}"#);
            assert!(serde_json::from_str::<TrustedProxy>(&json).is_err(), "{bad}");
        }
    }
}
