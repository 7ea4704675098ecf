//! The application's shared state: the services wired together, opened
//! from the data folder. The HTTP server that serves it (`App`) lives at
//! the edge, in `http::server`.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::{
    auth::{backoff::Backoff, caller::AuthRecords, installer::Installer, sessions::Sessions},
    backups::{BackupError, Backups, Progress, ServeLock},
    config::Config,
    files::Storage,
    identity::password::Hasher,
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
    /// Realtime clients and the dispatcher of record changes to them.
    pub realtime: Broker,
    /// Totals of recent list queries.
    pub list_counts: Arc<ListCounts>,
    /// Backups of the data folder, and restores from them.
    pub backups: Backups,
    /// Tells the offline `cairn backup restore` that this process serves
    /// the data folder (`None` if another process already does).
    _serve_lock: Option<ServeLock>,
    /// Cancelled when the server begins to shut down; long-lived responses
    /// (event streams) end when they see it.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// Opens the data folder (applying migrations) and loads the settings
    /// and the collections. Background work (the realtime dispatcher)
    /// starts once the state is shared: see `realtime::Broker::start`.
    pub async fn open(config: Config) -> Result<Self, StoreError> {
        let dir = config.data_dir.clone();
        let store = tokio::task::spawn_blocking(move || Store::open(&dir))
            .await
            .map_err(|_| StoreError::WorkerLost)??;
        let settings = SettingsStore::load(&store.data).await?;
        let schema = Schema::load(&store.data, crate::query::collections::rule_problem).await?;
        let realtime = Broker::new(config.realtime.clone());
        let storage = Storage::new(&config.data_dir);
        let serve_lock = ServeLock::take(&config.data_dir).unwrap_or_else(|err| {
            tracing::warn!(error = %err, "cannot take the data folder's lock");
            None
        });
        if serve_lock.is_none() {
            tracing::warn!("another process is serving this data folder");
        }
        Ok(Self {
            backups: Backups::new(&config.data_dir),
            _serve_lock: serve_lock,
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
            realtime,
            list_counts: Arc::default(),
            shutdown: CancellationToken::new(),
        })
    }

    /// Restores the backup `key` over the live data and reloads everything
    /// derived from it: settings, collections, cached auth records and
    /// sessions, list counts; realtime clients are disconnected (what they
    /// followed, and who they were, may be gone).
    pub async fn restore_backup(&self, key: &str, progress: Progress<'static>) -> Result<(), BackupError> {
        self.backups.restore(&self.store, key, progress).await?;
        self.reload().await?;
        Ok(())
    }

    async fn reload(&self) -> Result<(), StoreError> {
        self.settings.reload(&self.store.data).await?;
        self.schema.reload(&self.store.data).await?;
        self.auth_records.forget_all();
        self.sessions.forget_all();
        self.list_counts.forget_all();
        self.realtime.disconnect_all();
        Ok(())
    }
}
