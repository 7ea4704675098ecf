//! The command line, shaped like PocketBase's so habits and scripts carry
//! over. Every `serve` flag can also come from a `CAIRN_*` variable.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use clap::{Args, Parser, Subcommand};

use crate::{
    App,
    auth::superusers::{self, Credentials, SaveMode, SuperuserError},
    backups::{BackupName, Backups, ServeLock},
    config::{Config, ConnectionLimits, LogFormat, Origins},
    export::{self, ExportRequest},
    files::Storage,
    import::{self, ImportRequest},
    store::{Durability, Store},
};

#[derive(Debug, Parser)]
#[command(name = "cairn", version, about = "A production backend in one file.")]
pub struct Cli {
    /// The data folder (databases, uploaded files, backups).
    #[arg(long, global = true, env = "CAIRN_DIR", default_value = "./cairn_data")]
    pub dir: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the web server.
    Serve(ServeArgs),
    /// Manage superuser accounts (works whether or not the server runs).
    Superuser {
        #[command(subcommand)]
        action: SuperuserAction,
    },
    /// Apply or inspect the system migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Make a new data folder (--dir) from another server's data.
    Import {
        #[command(subcommand)]
        from: ImportFrom,
    },
    /// Make another server's data folder from this one (--dir), which is only read.
    Export {
        #[command(subcommand)]
        to: ExportTo,
    },
    /// Make, list and restore backups of the data folder.
    Backup {
        #[command(subcommand)]
        action: BackupAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportFrom {
    /// From a PocketBase (0.23 to 0.40) `pb_data` folder, which is only read.
    Pocketbase(PocketbaseArgs),
}

#[derive(Debug, Subcommand)]
pub enum ExportTo {
    /// Into a new PocketBase 0.40 `pb_data` folder; a Cairn server may keep running.
    Pocketbase(ExportPocketbaseArgs),
}

#[derive(Debug, Args)]
pub struct ExportPocketbaseArgs {
    /// The `pb_data` folder to make (new or empty).
    pub out_dir: PathBuf,
    /// Replace the folder if it is not empty.
    #[arg(long)]
    pub force: bool,
    /// Carry the request logs too.
    #[arg(long)]
    pub logs: bool,
}

#[derive(Debug, Args)]
pub struct PocketbaseArgs {
    /// The PocketBase data folder (`pb_data`).
    pub pb_data: PathBuf,
    /// Replace the data folder if it is not empty.
    #[arg(long)]
    pub force: bool,
    /// The key PocketBase encrypted its settings with (its `--encryptionEnv` value).
    #[arg(long, env = "PB_ENCRYPTION_KEY", hide_env_values = true)]
    pub encryption_key: Option<String>,
    /// Carry PocketBase's request logs too.
    #[arg(long)]
    pub logs: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CAIRN_HTTP", default_value = "127.0.0.1:8090")]
    pub http: SocketAddr,
    /// Allowed browser origins: `*`, or a comma-separated list (credentials allowed only then).
    #[arg(long, env = "CAIRN_ORIGINS", default_value = "*")]
    pub origins: String,
    /// Development mode: debug logs, emails printed to the console.
    #[arg(long, env = "CAIRN_DEV")]
    pub dev: bool,
    /// Log line format.
    #[arg(long, env = "CAIRN_LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,
    /// Seconds in-flight requests get to finish after SIGTERM/SIGINT.
    #[arg(long, env = "CAIRN_SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout: u64,
    /// Largest JSON (non-multipart) request body, in bytes.
    #[arg(long, env = "CAIRN_BODY_LIMIT", default_value_t = Config::DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,
    /// What an acknowledged write survives: `normal` (a crash of the
    /// process) or `full` (also a power loss; a disk sync per commit).
    #[arg(long, env = "CAIRN_DURABILITY", default_value = "normal", value_parser = ["normal", "full"])]
    pub durability: String,
    /// Most connections open at once (default: the open-file limit less a
    /// reserve); more wait in the kernel's backlog.
    #[arg(long, env = "CAIRN_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Seconds a client gets to send a request's headers (and an idle
    /// keep-alive connection to start its next request).
    #[arg(long, env = "CAIRN_HEADER_TIMEOUT", default_value_t = 30)]
    pub header_timeout: u64,
    /// Seconds a response write may wait on a client that does not read.
    #[arg(long, env = "CAIRN_WRITE_TIMEOUT", default_value_t = 60)]
    pub write_timeout: u64,
    /// Serve Prometheus metrics at http://ADDR/metrics, a listener apart
    /// from the API (keep it private: 127.0.0.1 or an internal address).
    #[arg(long, env = "CAIRN_METRICS")]
    pub metrics: Option<SocketAddr>,
    /// Milliseconds after which a list query counts as slow: its SQL and
    /// SQLite's plan go into the request's log entry.
    #[arg(long, env = "CAIRN_SLOW_QUERY", default_value_t = 250)]
    pub slow_query: u64,
    /// Seconds between writes of API keys' last-used times (they are kept
    /// in memory meanwhile, and written at shutdown too).
    #[arg(long, env = "CAIRN_KEY_USAGE_FLUSH", default_value_t = 60)]
    pub key_usage_flush: u64,
    /// Let webhooks send to private, loopback and link-local addresses
    /// (a receiver on this host or its LAN). Off: such targets are refused.
    #[arg(long, env = "CAIRN_WEBHOOKS_ALLOW_PRIVATE")]
    pub webhooks_allow_private: bool,
    /// Seconds a webhook may fail every delivery before it is disabled.
    #[arg(long, env = "CAIRN_WEBHOOKS_DISABLE_AFTER", default_value_t = crate::webhooks::WebhookOptions::default().disable_after.as_secs())]
    pub webhooks_disable_after: u64,
    /// Seconds one webhook delivery attempt may take, from the connection
    /// to the answer's last byte read; slower is a failed attempt, retried.
    /// At most 300: an attempt holds one of the queue's workers.
    #[arg(long, env = "CAIRN_WEBHOOKS_TIMEOUT",
          default_value_t = crate::webhooks::WebhookOptions::default().timeout.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub webhooks_timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum SuperuserAction {
    /// Create the superuser, or set its password if it exists.
    Upsert { email: String, password: String },
    /// Create a new superuser.
    Create { email: String, password: String },
    /// Set an existing superuser's password.
    Update { email: String, password: String },
    /// Delete a superuser.
    Delete { email: String },
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// List applied and pending migrations.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum BackupAction {
    /// Make a backup now, in the data folder's `backups/` (works whether
    /// or not the server runs).
    Create {
        /// `[a-z0-9_-]+.zip`; generated when left out.
        name: Option<String>,
    },
    /// List the backups, newest first.
    List,
    /// Replace the data with a backup's (the server must be stopped; a
    /// running one restores through `POST /api/backups/NAME/restore`).
    Restore { name: String },
}

impl ServeArgs {
    pub fn into_config(self, dir: PathBuf) -> Result<Config, String> {
        Ok(Config {
            http: self.http,
            data_dir: dir,
            origins: Origins::parse(&self.origins).map_err(|e| format!("--origins: {e}"))?,
            dev: self.dev,
            log_format: self.log_format,
            shutdown_timeout: Duration::from_secs(self.shutdown_timeout),
            body_limit: self.body_limit,
            realtime: crate::realtime::RealtimeLimits::default(),
            durability: match self.durability.as_str() {
                "full" => Durability::Full,
                _ => Durability::Normal,
            },
            connections: ConnectionLimits {
                header_timeout: Duration::from_secs(self.header_timeout.max(1)),
                write_timeout: Duration::from_secs(self.write_timeout.max(1)),
                max_connections: self
                    .max_connections
                    .unwrap_or_else(|| ConnectionLimits::default().max_connections)
                    .max(1),
            },
            metrics: self.metrics,
            slow_query: Duration::from_millis(self.slow_query),
            jobs: crate::jobs::Limits::default(),
            key_usage_flush: Duration::from_secs(self.key_usage_flush.max(1)),
            webhooks: crate::webhooks::WebhookOptions {
                allow_private: self.webhooks_allow_private,
                disable_after: Duration::from_secs(self.webhooks_disable_after),
                timeout: Duration::from_secs(self.webhooks_timeout),
            },
        })
    }
}

/// Runs a parsed command line; the process exit code comes back.
pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve(args, cli.dir).await,
            Command::Superuser { action } => superuser(action, &cli.dir).await,
            Command::Migrate { action } => migrate(action, &cli.dir).await,
            Command::Import {
                from: ImportFrom::Pocketbase(args),
            } => import_pocketbase(args, cli.dir).await,
            Command::Export {
                to: ExportTo::Pocketbase(args),
            } => export_pocketbase(args, cli.dir).await,
            Command::Backup { action } => backup(action, &cli.dir).await,
        }
    });
    // Blocking tasks (a hung client read, say) must not hold the exit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs, dir: PathBuf) -> Result<(), String> {
    let config = args.into_config(dir)?;
    crate::telemetry::init(config.log_format, config.dev);
    // Before anything is bound or announced: a supervisor (or a test) may
    // send TERM the moment it sees the banner, and until the handlers are
    // registered that signal kills the process instead of stopping it.
    let signals = StopSignals::install().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    let app = App::build(config).await.map_err(|e| e.to_string())?;
    let addr = app.local_addr();
    tracing::info!(%addr, dir = %app.state().config.data_dir.display(), "Cairn {} serving", env!("CARGO_PKG_VERSION"));
    println!("Server started at http://{addr}");
    println!("├─ REST API:  http://{addr}/api/");
    println!("├─ API docs:  http://{addr}/api/docs");
    if let Some(metrics) = app.metrics_addr() {
        println!("├─ Metrics:   http://{metrics}/metrics");
    }
    println!("└─ Admin UI:  http://{addr}/_/");
    let has_superuser = superusers::any_exists(&app.state().store.data)
        .await
        .map_err(|e| e.to_string())?;
    if !has_superuser {
        let host = if addr.ip().is_unspecified() {
            format!("127.0.0.1:{}", addr.port())
        } else {
            addr.to_string()
        };
        println!();
        println!("(!) No superuser yet. Open this link within 30 minutes to create the first one:");
        println!("    http://{host}/_/#/install/{}", app.state().installer.issue());
        println!("    (or run: cairn superuser upsert EMAIL PASSWORD)");
    }
    app.run(signals.stop()).await.map_err(|e| e.to_string())
}

/// SIGINT and SIGTERM, registered when `install` returns: from then on
/// neither kills the process; each is queued until `stop` reads it.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }

    /// Resolves on the first signal. A second one ends the process at
    /// once, for an operator who does not want to wait for the drain.
    async fn stop(mut self) {
        self.next().await;
        tokio::spawn(async move {
            self.next().await;
            eprintln!("second stop signal: exiting now");
            std::process::exit(130);
        });
    }
}

async fn superuser(action: SuperuserAction, dir: &std::path::Path) -> Result<(), String> {
    let store = open_store(dir).await?;
    let hasher = crate::identity::password::Hasher::default();
    let (email, password, mode) = match action {
        SuperuserAction::Upsert { email, password } => (email, password, SaveMode::Upsert),
        SuperuserAction::Create { email, password } => (email, password, SaveMode::Create),
        SuperuserAction::Update { email, password } => (email, password, SaveMode::Update),
        SuperuserAction::Delete { email } => {
            let result = match superusers::address(&email) {
                Ok(address) => superusers::delete(&store.data, &address).await,
                Err(err) => Err(err),
            };
            store.close().await;
            return match result {
                Ok(true) => {
                    println!("Deleted superuser {email:?}.");
                    Ok(())
                }
                Ok(false) => {
                    println!("Superuser {email:?} does not exist (nothing to delete).");
                    Ok(())
                }
                Err(err) => Err(describe(err)),
            };
        }
    };
    let outcome = match Credentials::parse(&email, &password) {
        Ok(credentials) => superusers::save(&store.data, &hasher, credentials, mode).await,
        Err(err) => Err(err),
    };
    store.close().await;
    let saved = outcome.map_err(describe)?;
    println!("Saved superuser {:?} (id {}).", saved.email, saved.id);
    Ok(())
}

fn describe(err: SuperuserError) -> String {
    match err {
        SuperuserError::Invalid(fields) => fields
            .iter()
            .map(|(field, e)| format!("{field}: {}", e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

async fn migrate(action: MigrateAction, dir: &std::path::Path) -> Result<(), String> {
    // Opening the store applies what is pending; `up` reports it, `status`
    // lists everything.
    let before = dir.join("data.db").exists();
    let store = open_store(dir).await?;
    for (name, db) in [("data", &*store.data), ("auxiliary", &*store.auxiliary)] {
        let status = db.migration_status().await.map_err(|e| e.to_string())?;
        for m in status {
            match (&action, &m.applied) {
                (MigrateAction::Status, Some(at)) => println!("applied  {name}/{}  ({at})", m.file),
                (MigrateAction::Status, None) => println!("pending  {name}/{}", m.file),
                (MigrateAction::Up, _) => {}
            }
        }
    }
    if matches!(action, MigrateAction::Up) {
        println!(
            "{}: every migration is applied.",
            if before {
                "Up to date"
            } else {
                "Created the data folder"
            }
        );
    }
    store.close().await;
    Ok(())
}

async fn import_pocketbase(args: PocketbaseArgs, dir: PathBuf) -> Result<(), String> {
    let request = ImportRequest {
        source: args.pb_data,
        target: dir,
        force: args.force,
        encryption_key: args.encryption_key.filter(|k| !k.is_empty()),
        logs: args.logs,
    };
    let s = import::run(request, |line| eprintln!("{line}"))
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "Imported {} collections, {} records ({} accounts, {} of them superusers; {} OAuth2 links), {} files ({} bytes) in {:.1} s.",
        s.collections,
        s.records,
        s.accounts,
        s.superusers,
        s.oauth2_links,
        s.files,
        s.file_bytes,
        s.elapsed.as_secs_f64()
    );
    if s.logs > 0 {
        println!("Carried {} request log entries.", s.logs);
    }
    print_not_carried(&s.not_carried);
    Ok(())
}

async fn export_pocketbase(args: ExportPocketbaseArgs, dir: PathBuf) -> Result<(), String> {
    let request = ExportRequest {
        source: dir,
        target: args.out_dir,
        force: args.force,
        logs: args.logs,
    };
    let s = export::run(request, |line| eprintln!("{line}"))
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "Exported {} collections, {} records ({} accounts, {} of them superusers; {} OAuth2 links), {} files ({} bytes), {} request logs in {:.1} s.",
        s.collections,
        s.records,
        s.accounts,
        s.superusers,
        s.oauth2_links,
        s.files,
        s.file_bytes,
        s.logs,
        s.elapsed.as_secs_f64()
    );
    if s.must_reset.is_empty() {
        println!("Every password carries: PocketBase checks them as they are.");
    } else {
        println!(
            "{} accounts must reset their password on PocketBase (Cairn holds it as argon2id, which PocketBase cannot check; their other data carried):",
            s.must_reset.len()
        );
        for who in &s.must_reset {
            println!("  - {who}");
        }
    }
    print_not_carried(&s.not_carried);
    Ok(())
}

/// The end of an import's or export's summary: what stayed behind.
fn print_not_carried(notes: &[String]) {
    if notes.is_empty() {
        println!("Nothing was left behind.");
    } else {
        println!("Not carried:");
        for note in notes {
            println!("  - {note}");
        }
    }
}

fn print_progress(step: &str) {
    eprintln!("  {step}");
}

async fn backup(action: BackupAction, dir: &std::path::Path) -> Result<(), String> {
    let backups = Backups::new(dir);
    match action {
        BackupAction::List => {
            let list = backups.list().await.map_err(|e| e.to_string())?;
            if list.is_empty() {
                println!("No backups in {}.", dir.join("backups").display());
            }
            for b in list {
                println!("{}  {:>12} bytes  {}", b.modified, b.size, b.key);
            }
            Ok(())
        }
        BackupAction::Create { name } => {
            let name = match name {
                None => BackupName::generated(false),
                Some(n) => {
                    BackupName::parse(&n).map_err(|e| format!("invalid backup name {n:?}: {}", e.message))?
                }
            };
            let store = open_store(dir).await?;
            eprintln!("Backing up {} to backups/{name}:", dir.display());
            let made = backups
                .create(&store, &Storage::new(dir), &name, &print_progress)
                .await;
            store.close().await;
            made.map_err(|e| e.to_string())?;
            println!("Created backups/{name}.");
            Ok(())
        }
        BackupAction::Restore { name } => {
            // Held until the restore is done, so no server starts meanwhile
            // on data half replaced.
            let _lock = match ServeLock::take(dir) {
                Ok(Some(lock)) => lock,
                Ok(None) => {
                    return Err(format!(
                        "a Cairn server is running on {}: stop it first, or restore through it \
                         (POST /api/backups/{name}/restore)",
                        dir.display()
                    ));
                }
                Err(e) => return Err(format!("cannot lock {}: {e}", dir.display())),
            };
            let store = open_store(dir).await?;
            eprintln!("Restoring backups/{name} into {}:", dir.display());
            let restored = backups.restore(&store, &name, &print_progress).await;
            store.close().await;
            restored.map_err(|e| e.to_string())?;
            println!(
                "Restored backups/{name}; the data it replaced is in {}.",
                dir.join(".restore_rollback").display()
            );
            Ok(())
        }
    }
}

async fn open_store(dir: &std::path::Path) -> Result<Store, String> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || Store::open(&dir))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}
