//! One delivery attempt: resolve the target once and check every address
//! it gave (`target::resolve`), connect only to the addresses checked
//! (the client is pinned to them), sign, POST, and read at most
//! `MAX_RESPONSE` of the answer. Redirects are never followed: a 3xx is a
//! failed attempt, since following one would send the payload wherever
//! the target points, a private address included. Proxies from the
//! environment are not used either, for the same reason.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use serde::Serialize;

use super::{WebhookOptions, model::Webhook, sign, target};

/// The job kind of a webhook delivery in the queue.
pub const KIND: &str = "webhook";

/// Most response bytes read; the rest is never read (the connection is
/// dropped), so a receiver answering with gigabytes costs nothing.
pub const MAX_RESPONSE: usize = 64 * 1024;
/// Response bytes kept in the deliveries log.
pub const KEPT_RESPONSE: usize = 1024;

/// What one attempt got, success or not: for the deliveries log.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Delivered {
    /// The response's status; absent when there was none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Milliseconds from the start of the attempt to the end of the answer.
    pub ms: u64,
    /// The first `KEPT_RESPONSE` bytes of the answer, as text.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub response: String,
    /// Why the attempt failed (empty when it went through).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
}

impl Delivered {
    pub fn ok(&self) -> bool {
        self.error.is_empty()
    }
}

/// Sends `body` to `hook`'s URL as message `msg_id`, signed with its
/// secret; `Delivered::error` says why it did not go through.
pub async fn attempt(hook: &Webhook, options: &WebhookOptions, msg_id: &str, body: &[u8]) -> Delivered {
    let started = Instant::now();
    let mut out = match send(hook, options, msg_id, body, started).await {
        Ok(out) => out,
        Err(error) => Delivered {
            error,
            ..Delivered::default()
        },
    };
    out.ms = started.elapsed().as_millis() as u64;
    out
}

async fn send(
    hook: &Webhook,
    options: &WebhookOptions,
    msg_id: &str,
    body: &[u8],
    started: Instant,
) -> Result<Delivered, String> {
    let url = target::parse(&hook.url, options.allow_private).map_err(|e| e.to_string())?;
    let addrs = target::resolve(&url, options.allow_private)
        .await
        .map_err(|e| e.to_string())?;
    let key = sign::key_of(&hook.secret).ok_or("the webhook's secret is not a whsec_ secret")?;
    let client = pinned_client(&url, &addrs, options.timeout)?;
    let timestamp = chrono::Utc::now().timestamp();
    let request = client
        .post(url)
        .header("content-type", "application/json")
        .header(
            "user-agent",
            concat!("Cairn-Webhooks/", env!("CARGO_PKG_VERSION")),
        )
        .header("webhook-id", msg_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header(
            "webhook-signature",
            sign::signature(&key, msg_id, timestamp, body),
        )
        .body(body.to_vec());
    let mut response = request.send().await.map_err(describe)?;
    let status = response.status();
    let mut kept = Vec::new();
    let mut read = 0usize;
    // Read up to the bound, within the attempt's time; past it, stop.
    while read < MAX_RESPONSE {
        let left = options.timeout.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, response.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                read += chunk.len();
                let room = KEPT_RESPONSE.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(Ok(None)) => break,
            // The status is what counts; a body cut short is kept as read.
            Ok(Err(_)) | Err(_) => break,
        }
    }
    drop(response);
    let mut out = Delivered {
        status: Some(status.as_u16()),
        ms: 0,
        response: String::from_utf8_lossy(&kept).into_owned(),
        error: String::new(),
    };
    if status.is_redirection() {
        out.error = format!("answered {status}: redirects are not followed");
    } else if !status.is_success() {
        out.error = format!("answered {status}");
    }
    Ok(out)
}

/// A client that connects to `addrs` (the checked ones) whatever `url`'s
/// name resolves to now, within `timeout`, follows no redirect and uses no
/// proxy. An address literal needs no pin: it is what `addrs` holds.
fn pinned_client(
    url: &reqwest::Url,
    addrs: &[SocketAddr],
    timeout: Duration,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout)
        .pool_max_idle_per_host(0);
    if let Some(url::Host::Domain(host)) = url.host() {
        builder = builder.resolve_to_addrs(host, addrs);
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// An error of reqwest, with its causes (reqwest's own message alone
/// says little: "error sending request").
fn describe(err: reqwest::Error) -> String {
    let mut out = if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpListener,
    };

    use super::*;

    /// A server on 127.0.0.1 that answers one request 200; the request's
    /// head comes back from the task, or `None` if no one connected
    /// within two seconds.
    async fn one_request() -> (SocketAddr, tokio::task::JoinHandle<Option<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let accepted = tokio::time::timeout(Duration::from_secs(2), listener.accept()).await;
            let (mut socket, _) = accepted.ok()?.ok()?;
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buf).await.ok()?;
                if n == 0 {
                    break;
                }
                head.extend_from_slice(&buf[..n]);
            }
            let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
            socket.write_all(answer).await.ok()?;
            Some(String::from_utf8_lossy(&head).into_owned())
        });
        (addr, task)
    }

    fn hook(url: String) -> Webhook {
        Webhook {
            id: "hook".into(),
            name: String::new(),
            collection: "*".into(),
            events: Vec::new(),
            filter: String::new(),
            url,
            secret: sign::generate_secret(),
            enabled: true,
            include_hidden: false,
            failing_since: String::new(),
            disabled_reason: String::new(),
            created: String::new(),
            updated: String::new(),
        }
    }

    #[tokio::test]
    async fn the_client_dials_the_checked_addresses_never_the_name() {
        // `.invalid` never resolves (RFC 6761): a request that reaches the
        // server went to the pinned address, not wherever DNS says now.
        for host in ["rebind.invalid", "rebind.invalid."] {
            let (addr, got) = one_request().await;
            let url = reqwest::Url::parse(&format!("http://{host}:{}/in", addr.port())).unwrap();
            let client = pinned_client(&url, &[addr], Duration::from_secs(5)).unwrap();
            let resp = client.post(url).body("{}").send().await.unwrap();
            assert_eq!(resp.status(), 200, "{host}");
            let head = got.await.unwrap().unwrap();
            assert!(
                head.to_lowercase()
                    .contains(&format!("host: {host}:{}", addr.port())),
                "the name stays in the request: {head}"
            );
        }
        // The control: without the pin the name goes to DNS, and fails.
        let (addr, got) = one_request().await;
        let url = format!("http://rebind.invalid:{}/in", addr.port());
        let plain = reqwest::Client::builder().no_proxy().build().unwrap();
        let err = plain.post(url).send().await.unwrap_err();
        assert!(err.is_connect(), "{err:?}");
        assert!(got.await.unwrap().is_none(), "nothing reached the server");
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_before_any_connection() {
        let options = |allow_private| WebhookOptions {
            allow_private,
            timeout: Duration::from_secs(5),
            ..WebhookOptions::default()
        };
        let (addr, got) = one_request().await;
        let refused = hook(format!("http://localhost:{}/in", addr.port()));
        let out = attempt(&refused, &options(false), "msg_1", b"{}").await;
        assert!(out.error.contains("private, loopback"), "{out:?}");
        assert_eq!(out.status, None);
        assert!(got.await.unwrap().is_none(), "refused before connecting");
        // The control: the same name where private targets are allowed.
        let (addr, got) = one_request().await;
        let allowed = hook(format!("http://localhost:{}/in", addr.port()));
        let out = attempt(&allowed, &options(true), "msg_2", b"{}").await;
        assert!(out.ok(), "{out:?}");
        assert_eq!(out.status, Some(200));
        let head = got.await.unwrap().unwrap();
        assert!(head.contains("webhook-id: msg_2"), "{head}");
    }
}
