//! One delivery attempt: resolve the target once and check every address
//! it gave (`target::resolve`), connect only to the addresses checked
//! (the client is pinned to them), sign, POST, and read at most
//! `MAX_RESPONSE` of the answer. Redirects are never followed: a 3xx is a
//! failed attempt, since following one would send the payload wherever
//! the target points, a private address included. Proxies from the
//! environment are not used either, for the same reason.
//!
//! Clients are kept between attempts (`Clients`), so a receiver keeps its
//! connection open from one delivery to the next instead of a new TCP
//! connection each time; a client is only ever pinned to the addresses
//! checked for the attempt that uses it.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use serde::Serialize;

use super::{WebhookOptions, model::Webhook, sign};
use crate::outbound::target;

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

/// The clients of earlier attempts, one per target origin and set of
/// checked addresses: an attempt whose resolution checked exactly these
/// addresses reuses the client and its idle connections (made to those
/// addresses), and one that resolved elsewhere gets a client of its own.
#[derive(Default)]
pub struct Clients(Mutex<HashMap<ClientKey, reqwest::Client>>);

/// The target's origin, the addresses checked (sorted), the timeout.
type ClientKey = (String, Vec<SocketAddr>, Duration);

/// Clients kept at most; past it they are all dropped and made again.
const MAX_CLIENTS: usize = 256;
/// Idle connections kept per receiver: as many as deliveries can run at
/// once with the queue's default workers.
const IDLE_PER_HOST: usize = 16;

impl Clients {
    fn get(
        &self,
        url: &reqwest::Url,
        addrs: &[SocketAddr],
        timeout: Duration,
    ) -> Result<reqwest::Client, String> {
        let mut sorted = addrs.to_vec();
        sorted.sort();
        let key = (url.origin().ascii_serialization(), sorted, timeout);
        let mut clients = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let client = pinned_client(url, addrs, timeout)?;
        if clients.len() >= MAX_CLIENTS {
            clients.clear();
        }
        clients.insert(key, client.clone());
        Ok(client)
    }
}

/// Sends `body` to `hook`'s URL as message `msg_id`, signed with its
/// secret; `Delivered::error` says why it did not go through.
pub async fn attempt(
    clients: &Clients,
    hook: &Webhook,
    options: &WebhookOptions,
    msg_id: &str,
    body: &[u8],
) -> Delivered {
    let started = Instant::now();
    let mut out = match send(clients, hook, options, msg_id, body, started).await {
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
    clients: &Clients,
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
    // The current secret, and while a rotation overlaps the one it replaced.
    let keys = hook
        .signing_secrets(chrono::Utc::now())
        .into_iter()
        .map(sign::key_of)
        .collect::<Option<Vec<_>>>()
        .ok_or("the webhook's secret is not a whsec_ secret")?;
    let client = clients.get(&url, &addrs, options.timeout)?;
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
            sign::signatures(&keys, msg_id, timestamp, body),
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
        .pool_max_idle_per_host(IDLE_PER_HOST)
        .pool_idle_timeout(Duration::from_secs(30));
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
            collection: "*".into(),
            url,
            secret: sign::generate_secret(),
            ..Webhook::new("hook".into(), String::new())
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
        let out = attempt(&Clients::default(), &refused, &options(false), "msg_1", b"{}").await;
        assert!(out.error.contains("private, loopback"), "{out:?}");
        assert_eq!(out.status, None);
        assert!(got.await.unwrap().is_none(), "refused before connecting");
        // The control: the same name where private targets are allowed.
        let (addr, got) = one_request().await;
        let allowed = hook(format!("http://localhost:{}/in", addr.port()));
        let out = attempt(&Clients::default(), &allowed, &options(true), "msg_2", b"{}").await;
        assert!(out.ok(), "{out:?}");
        assert_eq!(out.status, Some(200));
        let head = got.await.unwrap().unwrap();
        assert!(head.contains("webhook-id: msg_2"), "{head}");
    }

    /// A server on 127.0.0.1 that answers every request 200 and keeps
    /// connections open; the count is of the connections it accepted.
    async fn keep_alive_server() -> (SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        // One request: its head, then content-length bytes.
                        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                            continue;
                        };
                        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        while buf.len() < end + 4 + length {
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        buf.drain(..end + 4 + length);
                        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if socket.write_all(answer).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (addr, accepted)
    }

    #[tokio::test]
    async fn deliveries_to_one_receiver_share_a_connection() {
        use std::sync::atomic::Ordering;
        let options = WebhookOptions {
            allow_private: true,
            timeout: Duration::from_secs(5),
            ..WebhookOptions::default()
        };
        let (addr, accepted) = keep_alive_server().await;
        let target = hook(format!("http://127.0.0.1:{}/in", addr.port()));
        let clients = Clients::default();
        for n in 0..5 {
            let out = attempt(&clients, &target, &options, &format!("msg_{n}"), b"{}").await;
            assert!(out.ok(), "{out:?}");
        }
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "five deliveries, one connection"
        );
        // The control: without the kept clients, each attempt connects anew.
        let (addr, accepted) = keep_alive_server().await;
        let target = hook(format!("http://127.0.0.1:{}/in", addr.port()));
        for n in 0..3 {
            let out = attempt(&Clients::default(), &target, &options, &format!("msg_{n}"), b"{}").await;
            assert!(out.ok(), "{out:?}");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_client_is_kept_per_set_of_checked_addresses() {
        let clients = Clients::default();
        let url = reqwest::Url::parse("http://receiver.example:8080/in").unwrap();
        let a: SocketAddr = "203.0.113.5:8080".parse().unwrap();
        let b: SocketAddr = "203.0.113.6:8080".parse().unwrap();
        let t = Duration::from_secs(5);
        clients.get(&url, &[a], t).unwrap();
        clients.get(&url, &[a], t).unwrap();
        assert_eq!(
            clients.0.lock().unwrap().len(),
            1,
            "the same resolution reuses its client"
        );
        // A name that now resolves elsewhere never gets the old connections.
        clients.get(&url, &[b], t).unwrap();
        clients.get(&url, &[b, a], t).unwrap();
        clients.get(&url, &[a, b], t).unwrap();
        assert_eq!(clients.0.lock().unwrap().len(), 3);
    }
}
