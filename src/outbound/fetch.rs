//! A small download from a URL someone else named (an OAuth2 avatar): a
//! `GET` bounded in time and size, where each hop's address is checked by
//! `target` and pinned, and a redirect is followed only a few times, each
//! new URL checked as the first was.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::{Url, header};

use super::target::{self, TargetError};

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("the request failed: {0}")]
    Request(String),
    #[error("answered {0}")]
    Status(u16),
    #[error("more than {0} bytes")]
    TooLarge(usize),
    #[error("more than {MAX_REDIRECTS} redirects")]
    Redirects,
}

pub struct Fetched {
    pub bytes: Bytes,
    /// The last URL asked, after redirects.
    pub url: Url,
}

/// `GET`s `raw` within `timeout` (all hops together), reading at most
/// `max_bytes`.
pub async fn fetch(
    raw: &str,
    allow_private: bool,
    timeout: Duration,
    max_bytes: usize,
) -> Result<Fetched, FetchError> {
    tokio::time::timeout(timeout, fetch_hops(raw, allow_private, timeout, max_bytes))
        .await
        .unwrap_or_else(|_| {
            Err(FetchError::Request(format!(
                "no answer within {}s",
                timeout.as_secs()
            )))
        })
}

async fn fetch_hops(
    raw: &str,
    allow_private: bool,
    timeout: Duration,
    max_bytes: usize,
) -> Result<Fetched, FetchError> {
    let mut url = target::parse(raw, allow_private)?;
    for _ in 0..=MAX_REDIRECTS {
        let addrs = target::resolve(&url, allow_private).await?;
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("cairn/", env!("CARGO_PKG_VERSION")));
        if let Some(host) = url.host_str() {
            // Only the addresses checked are connected to.
            builder = builder.resolve_to_addrs(host, &addrs);
        }
        let client = builder.build().map_err(|e| FetchError::Request(e.to_string()))?;
        let mut resp = client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| FetchError::Request(e.without_url().to_string()))?;
        let status = resp.status();
        if status.is_redirection() {
            let next = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .ok_or(FetchError::Status(status.as_u16()))?;
            url = target::parse(next.as_str(), allow_private)?;
            continue;
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        if resp.content_length().is_some_and(|n| n > max_bytes as u64) {
            return Err(FetchError::TooLarge(max_bytes));
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| FetchError::Request(e.without_url().to_string()))?
        {
            if body.len() + chunk.len() > max_bytes {
                return Err(FetchError::TooLarge(max_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        return Ok(Fetched {
            bytes: body.freeze(),
            url,
        });
    }
    Err(FetchError::Redirects)
}
