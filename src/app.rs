//! The application: its shared state, and `App::build`, which assembles
//! exactly what production runs (tests call it with port 0 and a temp
//! data folder).

use std::{future::Future, io, net::SocketAddr, sync::Arc};

use poem::{
    Server,
    listener::{Acceptor, Listener, TcpAcceptor, TcpListener},
};
use tokio_util::sync::CancellationToken;

use crate::{
    auth::{
        backoff::Backoff, caller::AuthRecords, installer::Installer, password::Hasher, sessions::Sessions,
    },
    config::Config,
    files::Storage,
    http::{self, middleware::rate_limit::RateLimiter},
    realtime::Broker,
    records::list::ListCounts,
    schema::Schema,
    settings::SettingsStore,
    store::{Store, StoreError},
};

/// Everything a request handler may need, shared behind one `Arc`.
pub struct AppState {
    pub config: Config,
    pub store: Store,
    pub settings: SettingsStore,
    /// Collection definitions.
    pub schema: Schema,
    /// Auth records by token, cached.
    pub auth_records: AuthRecords,
    /// Refresh-token sessions, and their states cached.
    pub sessions: Sessions,
    /// Failed sign-ins per identity, for the per-account backoff.
    pub login_backoff: Backoff,
    pub hasher: Hasher,
    /// Uploaded files, under the data folder.
    pub storage: Storage,
    pub installer: Installer,
    pub rate_limiter: RateLimiter,
    /// Realtime clients and the dispatcher of record changes to them.
    pub realtime: Broker,
    /// Totals of recent list queries.
    pub list_counts: Arc<ListCounts>,
    /// Cancelled when the server begins to shut down; long-lived responses
    /// (event streams) end when they see it.
    pub shutdown: CancellationToken,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
}

pub struct App {
    state: Arc<AppState>,
    acceptor: TcpAcceptor,
    local_addr: SocketAddr,
}

impl App {
    /// Opens the data folder (applying migrations), loads the settings and
    /// binds the listener. Nothing is served until `run`.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let dir = config.data_dir.clone();
        let store = tokio::task::spawn_blocking(move || Store::open(&dir))
            .await
            .map_err(|_| StoreError::WorkerLost)??;
        let settings = SettingsStore::load(&store.data).await?;
        let schema = Schema::load(&store.data).await?;
        let acceptor = TcpListener::bind(config.http)
            .into_acceptor()
            .await
            .map_err(|source| StartupError::Bind {
                addr: config.http,
                source,
            })?;
        let local_addr = acceptor
            .local_addr()
            .into_iter()
            .find_map(|a| a.as_socket_addr().copied())
            .unwrap_or(config.http);
        let config_realtime = config.realtime.clone();
        let storage = Storage::new(&config.data_dir);
        let state = Arc::new(AppState {
            config,
            store,
            settings,
            schema,
            auth_records: AuthRecords::default(),
            sessions: Sessions::default(),
            login_backoff: Backoff::default(),
            hasher: Hasher::default(),
            storage,
            installer: Installer::new(),
            rate_limiter: RateLimiter::default(),
            realtime: Broker::new(config_realtime),
            list_counts: Arc::default(),
            shutdown: CancellationToken::new(),
        });
        Broker::start(&state);
        Ok(Self {
            state,
            acceptor,
            local_addr,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
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
        let routes = http::routes(state.clone());
        let token = state.shutdown.clone();
        let result = Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(
                routes,
                async move {
                    stop.await;
                    tracing::info!("shutting down: finishing in-flight requests");
                    token.cancel();
                },
                Some(state.config.shutdown_timeout),
            )
            .await;
        state.store.close().await;
        crate::telemetry::flush();
        tracing::info!("stopped");
        result
    }
}
