//! The application's shared state: the services wired together, opened
//! from the data folder, and the background work started once it is
//! shared (`start`): Cairn's scheduled jobs and the forwarding of its own
//! warnings to the request log. The HTTP server that serves it (`App`)
//! lives at the edge, in `http::server`.

use std::sync::{Arc, Weak};

use serde_json::{Map, Value};

use tokio_util::sync::CancellationToken;

use crate::{
    auth::{backoff::Backoff, caller::AuthRecords, deps::AuthDeps, installer::Installer, sessions::Sessions},
    backups::{BackupError, Backups, Progress, ServeLock},
    config::Config,
    files::Storage,
    identity::password::Hasher,
    jobs::Queue,
    keys::Keys,
    mail::Mailer,
    ops::{
        cron::{JobFn, Scheduler},
        logs::{self, Logs},
        metrics::Metrics,
    },
    realtime::Broker,
    records::{
        deps::{CommitListener, RecordsDeps, TxHook},
        events::RecordChange,
        list::ListCounts,
    },
    schema::{Schema, catalog::Catalog},
    settings::{Settings, SettingsStore},
    store::{Store, StoreError},
    webhooks::{Deliveries, WebhookError, Webhooks},
};

/// Everything a request handler may need, shared behind one `Arc`.
pub struct AppState {
    pub config: Config,
    pub store: Store,
    pub settings: SettingsStore,
    /// Collection definitions (shared with the realtime dispatcher).
    pub schema: Arc<Schema>,
    /// Auth records by token, cached.
    pub auth_records: AuthRecords,
    /// API keys, and their resolutions cached.
    pub keys: Arc<Keys>,
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
    /// The request log's write side.
    pub logs: Logs,
    /// Cairn's scheduled jobs (see `crons`); empty until `start`.
    pub crons: Arc<Scheduler>,
    /// The durable queue of work that follows a commit (mail, webhooks).
    pub jobs: Queue,
    /// Webhooks: the list the write path consults, and their deliveries.
    pub webhooks: Arc<Webhooks>,
    /// What record writes call inside their transaction: the webhooks'
    /// outbox (the same object as `webhooks`), then auth's deletion of
    /// what a deleted account leaves behind (`auth::remains`).
    pub tx_hook: Arc<dyn TxHook>,
    /// Request counts and latencies, for `/metrics`.
    pub metrics: Metrics,
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
    /// What the record services touch, borrowed for one call.
    pub fn records(&self) -> RecordsDeps<'_> {
        RecordsDeps {
            schema: &self.schema,
            db: &self.store.data,
            storage: &self.storage,
            hasher: &self.hasher,
            list_counts: &self.list_counts,
            listener: self,
            tx_hook: &self.tx_hook,
            slow_query: self.config.slow_query,
        }
    }

    /// What the sign-in and account-flow services touch, borrowed for one
    /// call.
    pub fn auth(&self) -> AuthDeps<'_> {
        AuthDeps {
            schema: &self.schema,
            db: &self.store.data,
            hasher: &self.hasher,
            backoff: &self.login_backoff,
            sessions: &self.sessions,
            mailer: self.mailer(),
            listener: self,
            tx_hook: &self.tx_hook,
            avatars_allow_private: self.config.oauth2_avatars_allow_private,
        }
    }

    /// Saves `next` as the runtime settings, and applies at once what
    /// must not wait for a schedule: a changed log retention removes the
    /// entries it no longer keeps now, as PocketBase does on save, rather
    /// than at the retention job's next run up to six hours later; with
    /// `maxDays` 0 (logging off) the log is emptied.
    pub async fn replace_settings(&self, next: Settings) -> Result<(), StoreError> {
        let days = (self.settings.get().logs.max_days, next.logs.max_days);
        self.settings.replace(&self.store.data, next).await?;
        if days.0 != days.1 {
            self.logs.retain(days.1).await;
        }
        Ok(())
    }

    /// Outgoing mail, per the live settings.
    pub fn mailer(&self) -> Mailer<'_> {
        Mailer {
            settings: &self.settings,
            db: &self.store.data,
            queue: &self.jobs,
            echo: self.config.dev,
        }
    }

    /// Opens the data folder (applying migrations) and loads the settings
    /// and the collections. Background work (the realtime dispatcher)
    /// starts once the state is shared: see `http::server::App::build`.
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
        let schema = Arc::new(
            Schema::load(
                &store.data,
                crate::query::collections::rule_problem,
                crate::auth::remains::ACCOUNT_HOOKS,
            )
            .await?,
        );
        let realtime = Arc::new(Broker::new(config.realtime.clone()));
        let storage = Storage::new(&config.data_dir);
        let logs = Logs::start(store.auxiliary.clone());
        let jobs = Queue::new(store.data.clone(), config.jobs);
        let webhooks = Arc::new(Webhooks::new(config.webhooks));
        let keys = Arc::new(Keys::default());
        webhooks.reload(&store.data).await.map_err(webhook_store_error)?;
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
            keys: keys.clone(),
            sessions: Sessions::default(),
            login_backoff: Backoff::default(),
            hasher: Hasher::default(),
            storage,
            installer: Installer::new(),
            realtime,
            list_counts: Arc::default(),
            logs,
            crons: Arc::default(),
            jobs,
            tx_hook: Arc::new(crate::records::deps::TxHooks(vec![
                webhooks.clone(),
                Arc::new(crate::auth::remains::Remains),
                keys,
            ])),
            webhooks,
            metrics: Metrics::default(),
            shutdown: CancellationToken::new(),
        })
    }

    /// Shares the state and starts its background work: the scheduled
    /// jobs (which hold the state weakly, so a dropped server's jobs end)
    /// and the forwarding of the server's warnings to its request log.
    pub fn start(self) -> Arc<Self> {
        let state = Arc::new_cyclic(|weak: &Weak<Self>| {
            let mut state = self;
            state.crons = Arc::new(crons(weak));
            state
        });
        state.crons.start(state.shutdown.clone());
        state
            .jobs
            .register(crate::mail::JOB_KIND, Arc::new(MailJobs(Arc::downgrade(&state))));
        state.jobs.register(
            crate::webhooks::KIND,
            Arc::new(Deliveries {
                webhooks: state.webhooks.clone(),
                db: state.store.data.clone(),
            }),
        );
        state.jobs.start();
        flush_key_usage(
            Arc::downgrade(&state),
            state.config.key_usage_flush,
            state.shutdown.clone(),
        );
        crate::telemetry::ensure_forwarding();
        crate::telemetry::add_sink(Arc::new(ServerLog(Arc::downgrade(&state))));
        state
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
        self.keys.forget_all();
        self.sessions.forget_all();
        self.list_counts.forget_all();
        self.realtime.disconnect_all();
        self.webhooks
            .reload(&self.store.data)
            .await
            .map_err(webhook_store_error)?;
        // The restored jobs are pending or finished: the queue finds them
        // at its next look.
        self.jobs.wake();
        Ok(())
    }
}

/// Writes API keys' last uses every `every` while the state lives (the
/// server writes the rest at shutdown, before the databases close).
fn flush_key_usage(state: Weak<AppState>, every: std::time::Duration, shutdown: CancellationToken) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = shutdown.cancelled() => return,
            }
            let Some(state) = state.upgrade() else { return };
            if let Err(err) = state.keys.flush_usage(&state.store.data).await {
                tracing::warn!(error = %err, "cannot record API keys' last use");
            }
        }
    });
}

/// The server's warnings and errors, into its request log.
struct ServerLog(Weak<AppState>);

impl crate::telemetry::EventSink for ServerLog {
    fn event(&self, level: tracing::Level, message: String, data: Map<String, Value>) {
        if let Some(state) = self.0.upgrade() {
            let level = if level == tracing::Level::ERROR {
                logs::level::ERROR
            } else {
                logs::level::WARN
            };
            state
                .logs
                .server(&state.settings.get().logs, level, message, data);
        }
    }
}

/// Sends queued mail with the live settings.
struct MailJobs(Weak<AppState>);

impl crate::jobs::Handler for MailJobs {
    fn run<'a>(
        &'a self,
        job: &'a crate::jobs::Job,
    ) -> futures_util::future::BoxFuture<'a, Result<crate::jobs::Done, crate::jobs::Failure>> {
        Box::pin(async move {
            let Some(state) = self.0.upgrade() else {
                return Err(crate::jobs::Failure::retry("the server is stopping"));
            };
            crate::mail::deliver_job(&state.settings.get(), &state.store.data, job).await
        })
    }

    fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(90)
    }
}

/// A job that runs `f` on the state while the state lives.
fn job<F, Fut>(state: &Weak<AppState>, f: F) -> JobFn
where
    F: Fn(Arc<AppState>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let state = state.clone();
    let f = Arc::new(f);
    Arc::new(move || {
        let (state, f) = (state.upgrade(), f.clone());
        Box::pin(async move {
            match state {
                Some(state) => f(state).await,
                None => Ok(()),
            }
        })
    })
}

/// Cairn's scheduled jobs, with their ids (PocketBase's own jobs are
/// `__pb…__`; these are Cairn's, doing the same kinds of work).
fn crons(state: &Weak<AppState>) -> Scheduler {
    let list: [(&str, &str, JobFn); 7] = [
        (
            "__cairnLogsCleanup__",
            "0 */6 * * *",
            job(state, |s| async move {
                let days = s.settings.get().logs.max_days;
                logs::delete_older_than(&s.store.auxiliary, days)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }),
        ),
        (
            "__cairnOTPCleanup__",
            "0 * * * *",
            job(state, |s| async move {
                crate::auth::otp::purge_expired(&s.store.data)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }),
        ),
        (
            "__cairnMFACleanup__",
            "0 * * * *",
            job(state, |s| async move {
                crate::auth::mfa::purge_expired(&s.store.data)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }),
        ),
        (
            "__cairnSessionsCleanup__",
            "30 * * * *",
            job(state, |s| async move {
                crate::auth::sessions::purge_ended(&s.store.data)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }),
        ),
        (
            "__cairnJobsCleanup__",
            "45 * * * *",
            job(state, |s| async move {
                crate::jobs::prune(&s.store.data, crate::jobs::KEEP_FINISHED_DAYS)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }),
        ),
        (
            "__cairnFilesSweep__",
            "15 3 * * *",
            job(state, |s| async move {
                let catalog = s.schema.catalog();
                crate::files::sweep::sweep_settled(&s.storage, &catalog, &s.store.data).await;
                Ok(())
            }),
        ),
        (
            "__cairnDBOptimize__",
            "0 0 * * *",
            job(state, |s| async move {
                for db in [&s.store.data, &*s.store.auxiliary] {
                    db.optimize().await.map_err(|e| e.to_string())?;
                }
                Ok(())
            }),
        ),
    ];
    let mut scheduler = Scheduler::default();
    // Scheduled backups, on `settings.backups.cron` as it stands each minute.
    let settings = state.clone();
    scheduler.add_from_settings(
        "__cairnAutoBackup__",
        Arc::new(move || Some(settings.upgrade()?.settings.get().backups.cron.clone())),
        job(state, |s| async move {
            let keep = s.settings.get().backups.cron_max_keep;
            s.backups
                .create_scheduled(&s.store, &s.storage, keep)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }),
    );
    for (id, expression, run) in list {
        // The expressions above are constants; one that does not parse is
        // caught by the test below, not at a user's start-up.
        if let Err(err) = scheduler.add(id, expression, run) {
            tracing::error!(job = id, error = %err, "a built-in job's schedule does not parse");
        }
    }
    scheduler
}

/// After a record commit: cached auth records are dropped, and the
/// changes go to the realtime broker.
impl CommitListener for AppState {
    fn auth_record_changed(&self, collection_id: &str, record_id: &str) {
        self.auth_records.invalidate(collection_id, record_id);
    }

    fn committed(&self, changes: Vec<RecordChange>) {
        // Deliveries enqueued in the transaction start now, not at the
        // queue's next look.
        self.hooked_commit();
        self.realtime.publish(changes);
    }

    fn hooked_commit(&self) {
        if self.webhooks.take_enqueued() {
            self.jobs.wake();
        }
    }
}

/// The webhooks' reading failed: a store error, whatever it says.
fn webhook_store_error(err: WebhookError) -> StoreError {
    match err {
        WebhookError::Store(err) => err,
        other => StoreError::Corrupt(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_job_is_scheduled() {
        let ids: Vec<String> = crons(&Weak::new()).list().into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids.len(), 7, "{ids:?}");
        assert!(
            ids.iter()
                .all(|id| id.starts_with("__cairn") && id.ends_with("__"))
        );
    }
}
