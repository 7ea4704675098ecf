//! The application's shared state: the services wired together, opened
//! from the data folder. The HTTP server that serves it (`App`) lives at
//! the edge, in `http::server`.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::{
    auth::{backoff::Backoff, caller::AuthRecords, installer::Installer, sessions::Sessions},
    config::Config,
    files::Storage,
    identity::password::Hasher,
    realtime::Broker,
    records::{
        deps::{CommitListener, RecordsDeps},
        events::RecordChange,
        list::ListCounts,
    },
    schema::{Schema, catalog::Catalog},
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
    pub realtime: Arc<Broker>,
    /// Totals of recent list queries.
    pub list_counts: Arc<ListCounts>,
    /// Cancelled when the server begins to shut down; long-lived responses
    /// (event streams) end when they see it.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// What the record services touch, borrowed for one call.
    pub fn records(&self) -> RecordsDeps<'_> {
        RecordsDeps {
            schema: &self.schema,
            db: &self.store.data,
            storage: &self.storage,
            hasher: &self.hasher,
            list_counts: &self.list_counts,
            listener: self,
        }
    }

    /// Opens the data folder (applying migrations) and loads the settings
    /// and the collections. Background work (the realtime dispatcher)
    /// starts once the state is shared: see `realtime::Broker::start`.
    pub async fn open(config: Config) -> Result<Self, StoreError> {
        let dir = config.data_dir.clone();
        let durability = config.durability;
        let store = tokio::task::spawn_blocking(move || {
            Store::open_with(&dir, durability, |dir, existing| match existing {
                Some(conn) => Storage::new(dir).check_present(&Catalog::load(conn, 0)?, conn),
                None => Ok(()),
            })
        })
        .await
        .map_err(|_| StoreError::WorkerLost)??;
        let settings = SettingsStore::load(&store.data).await?;
        let schema = Schema::load(&store.data, crate::query::collections::rule_problem).await?;
        let realtime = Arc::new(Broker::new(config.realtime.clone()));
        let storage = Storage::new(&config.data_dir);
        Ok(Self {
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
}

/// After a record commit: cached auth records are dropped, and the
/// changes go to the realtime broker.
impl CommitListener for AppState {
    fn auth_record_changed(&self, collection_id: &str, record_id: &str) {
        self.auth_records.invalidate(collection_id, record_id);
    }

    fn committed(&self, changes: Vec<RecordChange>) {
        self.realtime.publish(changes);
    }
}
