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
//! A request body sent slowly is bounded by the connection cap and the
//! body size limits, not by a deadline: a large upload over a slow link is
//! legitimate, and a whole-request deadline would cut it.

use std::{convert::Infallible, future::Future, net::SocketAddr, sync::Arc, time::Duration};

use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
};
use poem::{Addr, Endpoint, Response, http::uri::Scheme, web::LocalAddr, web::RemoteAddr};
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_io_timeout::TimeoutStream;

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
        let service = {
            let (ep, local) = (ep.clone(), local.clone());
            let remote = RemoteAddr(Addr::SocketAddr(remote));
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let (ep, local, remote) = (ep.clone(), local.clone(), remote.clone());
                async move {
                    let req = poem::Request::from((req, local, remote, Scheme::HTTP));
                    Ok::<_, Infallible>(hyper::Response::from(ep.get_response(req).await))
                }
            })
        };
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(Box::pin(stream)), service)
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
