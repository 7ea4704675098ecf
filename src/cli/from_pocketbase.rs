//! PocketBase's command line carried over to `cairn serve`: its spellings
//! of Cairn's flags are taken, its flags that change nothing here are
//! taken with a warning, and those asking for what Cairn does not do are
//! refused with what to do instead. Also the one place where PocketBase's
//! habits would make an empty server look like lost data.

use clap::Args;

/// Refuses to make a new, empty data folder at the default place when
/// PocketBase's `pb_data` is beside it: that is PocketBase's binary
/// swapped for Cairn's, and an empty server would look like lost data.
pub(super) fn refuse_beside_pocketbase(dir: &std::path::Path) -> Result<(), String> {
    let pb_data = dir.with_file_name("pb_data");
    if dir.join("data.db").exists() || !pb_data.join("data.db").is_file() {
        return Ok(());
    }
    let (pb, cairn) = (pb_data.display(), dir.display());
    Err(format!(
        "{pb} is PocketBase's data folder, and Cairn's ({cairn}) has no data yet. Bring PocketBase's \
         data in first: `cairn import pocketbase {pb}{force}` makes {cairn} from it (PocketBase may keep \
         running meanwhile); then `cairn serve`. To start an empty Cairn here instead, give --dir.",
        force = if dir.exists() { " --force" } else { "" },
    ))
}

/// PocketBase's `serve` flags that Cairn has no counterpart for, taken in
/// PocketBase's spelling so that a command line carried over gets an
/// answer that says what to do, not "unexpected argument". One asking for
/// something Cairn will not do (run hooks or migrations, encrypt the
/// settings, serve TLS) is refused; one that changes nothing here is
/// taken with a warning. (Its `--publicDir` and `--indexFallback` are
/// aliases of Cairn's own flags.)
#[derive(Debug, Default, Args)]
pub struct PocketbaseOnly {
    #[arg(long = "hooksDir", hide = true)]
    hooks_dir: Option<String>,
    #[arg(long = "migrationsDir", hide = true)]
    migrations_dir: Option<String>,
    #[arg(long = "encryptionEnv", hide = true)]
    encryption_env: Option<String>,
    #[arg(long = "https", hide = true)]
    https: Option<String>,
    /// PocketBase's `serve DOMAIN...`, which gets certificates for them.
    #[arg(hide = true)]
    domains: Vec<String>,
    #[arg(long = "hooksWatch", hide = true, num_args = 0..=1, default_missing_value = "true")]
    hooks_watch: Option<String>,
    #[arg(long = "hooksPool", hide = true)]
    hooks_pool: Option<String>,
    #[arg(long = "automigrate", hide = true, num_args = 0..=1, default_missing_value = "true")]
    automigrate: Option<String>,
    #[arg(long = "queryTimeout", hide = true)]
    query_timeout: Option<String>,
}

impl PocketbaseOnly {
    /// A refusal for the first flag Cairn will not honour, else the
    /// warnings for those it takes and does nothing with.
    pub fn check(&self) -> Result<Vec<String>, String> {
        const TLS: &str = "Cairn serves plain HTTP and gets no certificates itself: run it behind a TLS \
            proxy such as Caddy or nginx (README: \"Deploying behind a reverse proxy\") and give --http \
            the address the proxy forwards to.";
        let refused = |flag: &str, why: &str| Err(format!("{flag} is PocketBase's: {why}"));
        if self.hooks_dir.is_some() {
            return refused(
                "--hooksDir",
                "Cairn does not run PocketBase's JavaScript hooks (pb_hooks). Webhooks carry record \
                 changes to code of your own (README: \"Webhooks\"). Remove the flag.",
            );
        }
        if self.migrations_dir.is_some() {
            return refused(
                "--migrationsDir",
                "Cairn does not run PocketBase's JS migrations. The collections they made move with \
                 `cairn import pocketbase`. Remove the flag.",
            );
        }
        if self.encryption_env.is_some() {
            return refused(
                "--encryptionEnv",
                "Cairn keeps its settings (the SMTP password, OAuth2 client secrets) in data.db \
                 unencrypted, so keep the data folder readable by Cairn's user only. To import a \
                 PocketBase that encrypted them, give its key to `cairn import pocketbase --encryption-key`. \
                 Remove the flag.",
            );
        }
        if self.https.is_some() {
            return refused("--https", TLS);
        }
        if let Some(domain) = self.domains.first() {
            if !domain.contains('.') {
                return Err(format!("unexpected argument '{domain}'"));
            }
            return Err(format!(
                "`serve {domain}` is PocketBase's way to get a certificate for {domain}. {TLS}"
            ));
        }
        let ignored = [
            (
                self.hooks_watch.is_some(),
                "--hooksWatch",
                "Cairn runs no JavaScript hooks",
            ),
            (
                self.hooks_pool.is_some(),
                "--hooksPool",
                "Cairn runs no JavaScript hooks",
            ),
            (
                self.automigrate.is_some(),
                "--automigrate",
                "Cairn writes no migration files",
            ),
            (
                self.query_timeout.is_some(),
                "--queryTimeout",
                "Cairn has no timeout for SELECT queries",
            ),
        ];
        Ok(ignored
            .into_iter()
            .filter(|(given, ..)| *given)
            .map(|(_, flag, why)| format!("{flag} is PocketBase's and is ignored: {why}"))
            .collect())
    }
}
