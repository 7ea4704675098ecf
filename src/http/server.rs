//! The server: `App::build` opens the state and binds the listener,
//! exactly as production runs it (tests call it with port 0 and a temp
//! data folder); `run` serves the routes until told to stop.

use std::{future::Future, io, net::SocketAddr, sync::Arc};

use tokio::net::TcpListener;

use crate::{app::AppState, config::Config, files, store::StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
}

pub struct App {
    state: Arc<AppState>,
    listener: TcpListener,
    local_addr: SocketAddr,
    /// The metrics listener, when `--metrics` asks for one.
    metrics: Option<(TcpListener, SocketAddr)>,
}

impl App {
    /// Opens the data folder (applying migrations), loads the settings and
    /// binds the listener. Nothing is served until `run`.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let state = AppState::open(config).await?;
        let addr = state.config.http;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Bind { addr, source })?;
        let local_addr = super::connections::local_addr(&listener, addr);
        let metrics = match state.config.metrics {
            Some(addr) => {
                let listener = TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartupError::Bind { addr, source })?;
                let local = super::connections::local_addr(&listener, addr);
                Some((listener, local))
            }
            None => None,
        };
        let state = state.start();
        // Ends by itself once the state (and with it the broker) is dropped.
        let _dispatcher = state.realtime.start(&state.store.data, &state.schema);
        // Files a crash left unnamed, swept once the server is up: only
        // those older than this process (see `files::sweep`).
        let started = std::time::SystemTime::now();
        let sweeper = state.clone();
        tokio::spawn(async move {
            let catalog = sweeper.schema.catalog();
            files::sweep::sweep(&sweeper.storage, &catalog, &sweeper.store.data, started).await;
        });
        Ok(Self {
            state,
            listener,
            local_addr,
            metrics,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Where metrics are served, if they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(_, a)| *a)
    }

    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Serves until `stop` completes, then shuts down gracefully: no new
    /// connections, in-flight requests get `shutdown_timeout` to finish,
    /// event streams are told to end, and the databases are checkpointed
    /// and closed.
    pub async fn run(self, stop: impl Future<Output = ()> + Send) -> io::Result<()> {
        let state = self.state;
        let routes = super::routes(state.clone());
        let token = state.shutdown.clone();
        if let Some((listener, _)) = self.metrics {
            let (routes, stop) = (super::metrics::routes(state.clone()), token.clone());
            let limits = state.config.connections;
            tokio::spawn(super::connections::serve(
                listener,
                routes,
                limits,
                async move { stop.cancelled().await },
                std::time::Duration::from_secs(1),
            ));
        }
        super::connections::serve(
            self.listener,
            routes,
            state.config.connections,
            async move {
                stop.await;
                tracing::info!("shutting down: finishing in-flight requests");
                token.cancel();
            },
            state.config.shutdown_timeout,
        )
        .await;
        // Jobs in flight get a moment to finish and be recorded; any still
        // running run again after the next start.
        state.jobs.stop(std::time::Duration::from_secs(5)).await;
        // What the last requests logged, before the databases close.
        state.logs.flush(std::time::Duration::from_secs(5)).await;
        if let Err(err) = state.keys.flush_usage(&state.store.data).await {
            tracing::warn!(error = %err, "cannot record API keys' last use");
        }
        state.store.close().await;
        crate::telemetry::flush();
        tracing::info!("stopped");
        Ok(())
    }
}
