//! The accept loop: each TCP connection served by hyper with the bounds a
//! server on the open internet needs, which poem's own `Server` does not
//! set (it gives hyper no timer, so hyper's header timeout never runs):
//!
//! - **Headers within `header_timeout`** (30 s by default, what hyper and
//!   Go servers use): a slowloris client trickling its headers, or an idle
//!   keep-alive connection waiting for a next request that never comes, is
//!   closed once it is up. (hyper starts the clock when it begins waiting
//!   for a request head, so idle keep-alive time counts.)
//! - **Writes make progress within `write_timeout`** (60 s): a client that
//!   stops reading its response (or its event stream) is dropped, rather
//!   than holding a task and its buffers for ever.
//! - **At most `max_connections` at once**, derived from the process's
//!   open-file limit with room left for the databases and stored files:
//!   past it, new connections wait in the kernel's backlog instead of
//!   `accept` failing with "too many open files" for everyone, the
//!   database included.
//!
//! - **Request targets are read as PocketBase reads them**: the bytes
//!   hyper refuses in a target (`"`, `<`, `>`, `` ` ``) and Go's server
//!   takes are percent-encoded first (`targets`).
//!
//! - **Bodies arrive at a minimum rate**: a request body has
//!   `header_timeout` to start, and each byte received buys
//!   1/`MIN_BODY_RATE` of a second more (Apache's `mod_reqtimeout` idea).
//!   A client trickling a body to hold the connection is cut off soon
//!   after the allowance runs out; a large upload over a slow but real
//!   link (anything above 500 bytes a second on average) is never cut, as
//!   a whole-request deadline would cut it.

use std::{
    convert::Infallible,
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use futures_util::Stream;

use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
};
use poem::{Addr, Endpoint, Response, http::uri::Scheme, web::LocalAddr, web::RemoteAddr};
use tokio::{
    net::TcpListener,
    sync::Semaphore,
    time::{Instant, Sleep},
};
use tokio_io_timeout::TimeoutStream;

use super::targets::EncodedTargets;
use crate::config::ConnectionLimits;

/// Serves `ep` on `listener` until `stop` completes; then stops accepting
/// (the listener is closed), lets the open connections finish their
/// requests for up to `grace`, and returns.
pub async fn serve<E>(
    listener: TcpListener,
    ep: E,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()>,
    grace: Duration,
) where
    E: Endpoint<Output = Response> + 'static,
{
    let ep = Arc::new(ep);
    let local = LocalAddr(
        listener
            .local_addr()
            .map_or(Addr::Custom("tcp", "".into()), Addr::SocketAddr),
    );
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break, // never closed; said for completeness
            },
            () = &mut stop => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors or memory for a moment: wait a
                    // little rather than spin on the error.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let mut stream = TimeoutStream::new(stream);
        stream.set_write_timeout(Some(limits.write_timeout));
        let grace_to_start = limits.header_timeout;
        let service = {
            let (ep, local) = (ep.clone(), local.clone());
            let remote = RemoteAddr(Addr::SocketAddr(remote));
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let (ep, local, remote) = (ep.clone(), local.clone(), remote.clone());
                async move {
                    let mut req = poem::Request::from((req, local, remote, Scheme::HTTP));
                    if has_body(&req) {
                        let body = req.take_body().into_bytes_stream();
                        req.set_body(poem::Body::from_bytes_stream(MinRate::new(body, grace_to_start)));
                    }
                    // Boxed: hyper keeps the service's future and moves it
                    // once a request; the edge's own future is large (every
                    // layer's state), and moving a pointer costs less.
                    let served = Box::pin(ep.get_response(req));
                    Ok::<_, Infallible>(hyper::Response::from(served.await))
                }
            })
        };
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(EncodedTargets::new(Box::pin(stream))), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // A connection's end (a client gone, a timeout) is routine.
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::warn!(
            seconds = grace.as_secs(),
            "in-flight requests did not finish in time; stopping anyway"
        );
    }
}

/// The address a listener is on, for the start banner.
pub fn local_addr(listener: &TcpListener, asked: SocketAddr) -> SocketAddr {
    listener.local_addr().unwrap_or(asked)
}

/// Bytes a second a request body must average, after its first allowance.
pub const MIN_BODY_RATE: u64 = 500;

/// Whether the request says a body follows (a length above zero, or
/// chunks): only those are watched, so a GET pays nothing.
fn has_body(req: &poem::Request) -> bool {
    let headers = req.headers();
    headers.contains_key(poem::http::header::TRANSFER_ENCODING)
        || headers
            .get(poem::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

/// A body that fails with `TimedOut` once it falls behind: it has
/// `allowance` to start, and every byte adds 1/`MIN_BODY_RATE` s.
struct MinRate<S> {
    inner: S,
    deadline: Pin<Box<Sleep>>,
}

impl<S> MinRate<S> {
    fn new(inner: S, allowance: Duration) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep(allowance)),
        }
    }
}

impl<S> Stream for MinRate<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let earned = Duration::from_micros(chunk.len() as u64 * 1_000_000 / MIN_BODY_RATE);
                let next: Instant = self.deadline.deadline() + earned;
                self.deadline.as_mut().reset(next);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the request body arrived too slowly",
                )))),
                Poll::Pending => Poll::Pending,
            },
            other => other,
        }
    }
}
