//! The command line, shaped like PocketBase's so habits and scripts carry
//! over. Every `serve` flag can also come from a `CAIRN_*` variable.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, parser::ValueSource};

mod commands;
mod from_pocketbase;

use commands::{backup, export_pocketbase, import_pocketbase, migrate, superuser};
pub use from_pocketbase::PocketbaseOnly;
use from_pocketbase::refuse_beside_pocketbase;

use crate::{
    App,
    auth::superusers,
    config::{Config, ConnectionLimits, LogFormat, Origins},
    store::Durability,
};

#[derive(Debug, Parser)]
#[command(name = "cairn", version, about = "A production backend in one file.")]
pub struct Cli {
    /// The data folder (databases, uploaded files, backups).
    #[arg(long, global = true, env = "CAIRN_DIR", default_value = "./cairn_data")]
    pub dir: PathBuf,

    #[command(subcommand)]
    pub command: Command,

    /// Whether `--dir` (or `CAIRN_DIR`) was given, rather than defaulted.
    #[arg(skip)]
    pub dir_given: bool,
}

impl Cli {
    /// The process's command line, parsed (or exits with clap's message).
    pub fn from_env() -> Self {
        let matches = Self::command().get_matches();
        let mut cli = Self::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        cli.dir_given = matches.value_source("dir") != Some(ValueSource::DefaultValue);
        cli
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the web server.
    Serve(Box<ServeArgs>),
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
    /// Let an OAuth2 sign-up fetch the provider's avatar (into a mapped
    /// file field) from private, loopback and link-local addresses. Off:
    /// such avatars are skipped.
    #[arg(long, env = "CAIRN_OAUTH2_AVATARS_ALLOW_PRIVATE")]
    pub oauth2_avatars_allow_private: bool,
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
    /// Static files to serve at `/` (a site, or an app that uses the API).
    /// By default `pb_public` beside the data folder, where PocketBase
    /// keeps it; served only if it exists. Dotfiles are never served.
    #[arg(long, env = "CAIRN_PUBLIC_DIR", alias = "publicDir")]
    pub public_dir: Option<PathBuf>,
    /// Answer a path the public folder lacks with its `index.html` (for an
    /// app that routes in the browser); `false` answers 404.
    #[arg(long, env = "CAIRN_INDEX_FALLBACK", alias = "indexFallback", default_value_t = true,
          num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub index_fallback: bool,
    #[command(flatten)]
    pub pocketbase_only: PocketbaseOnly,
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
        let public_dir = self.public_dir.unwrap_or_else(|| {
            dir.parent()
                .unwrap_or_else(|| std::path::Path::new(""))
                .join("pb_public")
        });
        Ok(Config {
            public_dir: Some(public_dir),
            index_fallback: self.index_fallback,
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
            oauth2_avatars_allow_private: self.oauth2_avatars_allow_private,
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
            Command::Serve(args) => serve(*args, cli.dir, cli.dir_given).await,
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

async fn serve(args: ServeArgs, dir: PathBuf, dir_given: bool) -> Result<(), String> {
    let ignored = args.pocketbase_only.check()?;
    if !dir_given {
        refuse_beside_pocketbase(&dir)?;
    }
    let config = args.into_config(dir)?;
    crate::telemetry::init(config.log_format, config.dev);
    for warning in ignored {
        tracing::warn!("{warning}");
    }
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
