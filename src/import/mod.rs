//! `cairn import pocketbase`: a PocketBase 0.23–0.40 `pb_data` folder
//! into a new Cairn data folder: collections (same ids, fields, indexes,
//! rules and options, token secrets included), every record as stored
//! (ids, timestamps, password hashes, token keys), OAuth2 links, the
//! settings and the uploaded files.
//!
//! Tokens PocketBase issued stay valid: both sign HS256 with the record's
//! `tokenKey` joined to the collection's `authToken.secret`, and both are
//! carried unchanged. bcrypt password hashes verify in Cairn and become
//! argon2id at the next sign-in (`identity::password`).
//!
//! The source is only read (`source`). The target is built in a hidden
//! folder beside `--dir` and renamed into place at the very end, so a
//! failure at any step leaves no half-made data folder, and the old
//! contents of a `--force`d folder stay until the new one is complete.
//! Collections are made through the schema module (Cairn's validation,
//! tables and indexes); what cannot be carried is listed in the summary,
//! never dropped in silence.

mod files;
mod records;
mod settings;
mod source;
mod target;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use serde_json::Value;
use tokio::runtime::Handle;

use crate::{
    auth::remains::ACCOUNT_HOOKS,
    query::collections::rule_problem,
    schema::{CollectionKind, Schema, SchemaError},
    settings::SettingsStore,
    store::{Store, StoreError},
};
pub(crate) use records::file_names;
use source::{Source, SourceCollection};
use target::check_target;
pub use target::{Staging, absolute};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path} is not a PocketBase data folder: {why}")]
    NotPocketBase { path: PathBuf, why: String },
    #[error(
        "this pb_data was written by PocketBase older than 0.23; open it once with PocketBase 0.23 or newer (which upgrades it), then import"
    )]
    TooOld,
    #[error("this pb_data was written by a PocketBase newer than this import knows (0.23 to 0.40): {0}")]
    UnknownLayout(String),
    #[error(
        "{0} is locked by another process (a PocketBase write that does not finish?); try again, or stop PocketBase first"
    )]
    Locked(PathBuf),
    #[error("{path} is damaged or not a SQLite database: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error("reading {path}: {source}")]
    Source { path: PathBuf, source: rusqlite::Error },
    #[error(
        "the PocketBase settings are encrypted: give the key PocketBase ran with (--encryption-key KEY, or the PB_ENCRYPTION_KEY environment variable)"
    )]
    EncryptedSettings,
    #[error("--encryption-key: {0}")]
    BadKey(String),
    #[error("the PocketBase settings cannot be read: {0}")]
    Settings(String),
    #[error(
        "the file {file:?} of record {record:?} in {collection:?} is missing from storage ({path}); restore it (or clear the field in PocketBase) and import again"
    )]
    MissingFile {
        collection: String,
        record: String,
        file: String,
        path: String,
    },
    #[error("{0} is not empty; choose an empty or new folder, or pass --force to replace it")]
    TargetNotEmpty(PathBuf),
    #[error(
        "the Cairn data folder {target} and the PocketBase folder {pb_data} overlap; choose another --dir"
    )]
    Overlap { pb_data: PathBuf, target: PathBuf },
    #[error("Cairn refused the collections: {0}")]
    Schema(String),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("the new data folder: {0}")]
    Store(#[from] StoreError),
}

impl ImportError {
    fn io(what: &str, source: std::io::Error) -> Self {
        Self::Io {
            what: what.to_owned(),
            source,
        }
    }
}

impl From<SchemaError> for ImportError {
    fn from(err: SchemaError) -> Self {
        match err {
            SchemaError::Store(e) => Self::Store(e),
            SchemaError::Invalid { message, errors } => {
                Self::Schema(format!("{message} {}", Value::Object(errors.into_map())))
            }
            other => Self::Schema(other.to_string()),
        }
    }
}

/// The system migrations PocketBase 0.23 to 0.40 records for itself, in
/// order (an export writes them all, so PocketBase runs none of them).
pub fn source_system_migrations() -> &'static [&'static str] {
    source::SYSTEM_MIGRATIONS
}

/// What to import, and where.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The `pb_data` folder.
    pub source: PathBuf,
    /// The Cairn data folder to make.
    pub target: PathBuf,
    /// Replace a non-empty target.
    pub force: bool,
    /// PocketBase's settings encryption key, if it ran with one.
    pub encryption_key: Option<String>,
    /// Carry the request logs too (`auxiliary.db`'s `_logs`).
    pub logs: bool,
}

/// What was carried, and what was not.
#[derive(Debug, Default)]
pub struct Summary {
    pub collections: u64,
    pub records: u64,
    /// Records of auth collections, superusers included.
    pub accounts: u64,
    pub superusers: u64,
    pub oauth2_links: u64,
    pub files: u64,
    pub file_bytes: u64,
    /// Request log entries carried (with `--logs`).
    pub logs: u64,
    pub not_carried: Vec<String>,
    pub elapsed: Duration,
}

/// Runs the import; `progress` hears how it goes, a line at a time.
pub async fn run(
    request: ImportRequest,
    progress: impl FnMut(String) + Send + 'static,
) -> Result<Summary, ImportError> {
    let rt = Handle::current();
    let mut progress = progress;
    tokio::task::spawn_blocking(move || run_blocking(&rt, &request, &mut progress))
        .await
        .map_err(|_| ImportError::Store(StoreError::WorkerLost))?
}

fn run_blocking(
    rt: &Handle,
    request: &ImportRequest,
    progress: &mut dyn FnMut(String),
) -> Result<Summary, ImportError> {
    let started = Instant::now();
    check_target(request)?;
    let source = Source::open(&request.source)?;
    let mut collections = source.collections()?;
    let (settings, mut not_carried) =
        settings::read(source.settings()?.as_deref(), request.encryption_key.as_deref())?;
    not_carried.extend(unsupported(&source, request.logs)?);
    for c in &mut collections {
        not_carried.extend(drop_unknown_providers(c));
    }

    let staging =
        Staging::create(&request.target, "import").map_err(|e| ImportError::io("the new data folder", e))?;
    progress(format!(
        "Importing {} into {}",
        request.source.display(),
        request.target.display()
    ));
    let store = rt.block_on(open_store(staging.path.clone()))?;
    let built = build(
        rt,
        &store,
        &source,
        &collections,
        settings,
        &staging.path,
        progress,
    );
    // Closed and dropped before the rename: the writer checkpoints, and
    // no connection is left open under the staging path once it moves.
    rt.block_on(store.close());
    drop(store);
    let mut summary = built?;
    if request.logs {
        summary.logs = copy_logs(&source.dir, &staging.path)?;
    }
    drop(source);
    summary.not_carried.splice(0..0, not_carried);
    (staging.finish(&request.target)).map_err(|e| ImportError::io("the new data folder", e))?;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Copies PocketBase's request logs into the new folder's `auxiliary.db`
/// (Cairn keys them by time, so they get new ids), reading the source's in
/// one read-only transaction; how many were copied.
fn copy_logs(source_dir: &Path, target_dir: &Path) -> Result<u64, ImportError> {
    let from = source_dir.join("auxiliary.db");
    if !from.is_file() {
        return Ok(0);
    }
    let fail = |e: rusqlite::Error| ImportError::Store(StoreError::from(e));
    let conn = rusqlite::Connection::open(target_dir.join("auxiliary.db")).map_err(fail)?;
    let uri = format!(
        "file:{}?mode=ro",
        from.to_string_lossy()
            .replace('%', "%25")
            .replace('?', "%3f")
            .replace('#', "%23")
    );
    conn.execute("ATTACH DATABASE ?1 AS pb", [uri]).map_err(fail)?;
    let copied = crate::ops::logs::copy_pocketbase_rows(&conn, "pb").map_err(fail)?;
    conn.execute("DETACH DATABASE pb", []).map_err(fail)?;
    Ok(copied as u64)
}

async fn open_store(dir: PathBuf) -> Result<Store, StoreError> {
    tokio::task::spawn_blocking(move || Store::open(&dir))
        .await
        .map_err(|_| StoreError::WorkerLost)?
}

fn build(
    rt: &Handle,
    store: &Store,
    source: &Source,
    collections: &[SourceCollection],
    settings: crate::settings::Settings,
    target_dir: &Path,
    progress: &mut dyn FnMut(String),
) -> Result<Summary, ImportError> {
    let db = &store.data;
    let live_settings = rt.block_on(SettingsStore::load(db))?;
    rt.block_on(live_settings.replace(db, settings))?;
    let schema = rt.block_on(Schema::load(db, rule_problem, ACCOUNT_HOOKS))?;
    let carried: Vec<&SourceCollection> = (collections.iter())
        .filter(|c| !(c.system && source::INTERNAL.contains(&c.name.as_str())))
        .collect();
    rt.block_on(schema.restore(db, restore_steps(&carried)))?;
    progress(format!("  {} collections", carried.len()));

    let mut summary = Summary {
        collections: carried.len() as u64,
        ..Summary::default()
    };
    let mut copier = files::FileCopier::new(&source.dir, target_dir);
    let catalog = schema.catalog();
    for c in catalog.all().filter(|c| c.kind != CollectionKind::View) {
        let n = records::copy(rt, source, db, c, &mut copier, progress)?;
        progress(format!("  {}: {n} records", c.name));
        summary.records += n;
        if c.kind == CollectionKind::Auth {
            summary.accounts += n;
        }
        if c.name == "_superusers" {
            summary.superusers = n;
        }
        if c.id == crate::schema::defaults::EXTERNAL_AUTHS_ID {
            summary.oauth2_links = n;
        }
    }
    summary.files = copier.files;
    summary.file_bytes = copier.bytes;
    let stored = files::count_stored(&source.dir);
    if stored > copier.files {
        summary.not_carried.push(format!(
            "{} files under storage/ that no record names (left over in PocketBase)",
            stored - copier.files
        ));
    }
    Ok(summary)
}

/// The collections in an order Cairn can create them: PocketBase's own
/// order, with each relation to a collection not made yet left out at
/// first (and the indexes with it) and the whole definition applied once
/// every collection exists; view collections after the tables they read.
fn restore_steps(collections: &[&SourceCollection]) -> Vec<Value> {
    let mut made: Vec<&str> = Vec::new();
    let mut first = Vec::new();
    let mut later = Vec::new();
    let views: Vec<&&SourceCollection> = collections.iter().filter(|c| c.kind == "view").collect();
    for c in collections.iter().filter(|c| c.kind != "view") {
        made.push(&c.id);
        let mut body = c.body.clone();
        let fields = body
            .get("fields")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let kept: Vec<Value> = (fields.iter())
            .filter(|f| {
                f.get("type").and_then(Value::as_str) != Some("relation")
                    || f.get("collectionId")
                        .and_then(Value::as_str)
                        .is_some_and(|target| made.contains(&target))
            })
            .cloned()
            .collect();
        if kept.len() < fields.len() {
            body.insert("fields".into(), Value::Array(kept));
            body.insert("indexes".into(), Value::Array(vec![]));
            later.push(c);
        }
        first.push(Value::Object(body));
    }
    let is_view = |id: &str| views.iter().any(|v| v.id == id);
    let relates_to_view = |c: &SourceCollection| {
        (c.body
            .get("fields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten())
        .any(|f| f.get("collectionId").and_then(Value::as_str).is_some_and(is_view))
    };
    let whole = |c: &&&SourceCollection| Value::Object(c.body.clone());
    let mut steps = first;
    steps.extend(later.iter().filter(|c| !relates_to_view(c)).map(whole));
    steps.extend(views.iter().map(whole));
    steps.extend(later.iter().filter(|c| relates_to_view(c)).map(whole));
    steps
}

/// Takes out of `c`'s OAuth2 options the providers Cairn does not have
/// (it would refuse the collection otherwise); the notes name them.
fn drop_unknown_providers(c: &mut SourceCollection) -> Vec<String> {
    let known = crate::schema::auth_options::OAUTH2_PROVIDERS;
    let Some(list) = (c.body.get_mut("oauth2"))
        .and_then(|o| o.get_mut("providers"))
        .and_then(Value::as_array_mut)
    else {
        return Vec::new();
    };
    let mut notes = Vec::new();
    list.retain(|p| {
        let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
        let keep = known.contains(&name);
        if !keep {
            notes.push(format!(
                "the OAuth2 provider {name:?} of {:?}: Cairn does not offer it yet; accounts linked through it keep their link but sign in another way",
                c.name
            ));
        }
        keep
    });
    notes
}

/// What PocketBase had that the import does not carry, found in the
/// source; settings are judged in `settings`.
fn unsupported(source: &Source, logs: bool) -> Result<Vec<String>, ImportError> {
    let mut notes = Vec::new();
    let beside = source.dir.parent().unwrap_or(Path::new("."));
    let files_in = |dir: &Path| std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    let hooks = files_in(&beside.join("pb_hooks"));
    if hooks > 0 {
        notes.push(format!(
            "JavaScript hooks in {} ({hooks} entries): Cairn runs no JavaScript; their behaviour must be rebuilt",
            beside.join("pb_hooks").display()
        ));
    }
    if files_in(&beside.join("pb_migrations")) > 0 {
        notes.push(format!(
            "JavaScript migrations in {}: the collections they made are imported; the files themselves are not run by Cairn",
            beside.join("pb_migrations").display()
        ));
    }
    if files_in(&beside.join("pb_public")) > 0 {
        notes.push(format!(
            "static files in {0}: `cairn serve` serves them when its data folder is beside them, else pass --public-dir {0}",
            beside.join("pb_public").display()
        ));
    }
    let go = source.foreign_go_migrations()?;
    if !go.is_empty() {
        notes.push(format!(
            "Go extensions: this PocketBase was built with Go code of its own (migrations {}); Go code does not carry",
            go.join(", ")
        ));
    }
    if let Some(n) = source::log_count(&source.dir)
        && n > 0
        && !logs
    {
        notes.push(format!(
            "{n} request logs (auxiliary.db; pass --logs to carry them)"
        ));
    }
    for name in source::INTERNAL {
        let n = source.count(name)?;
        if n == 0 {
            continue;
        }
        notes.push(match *name {
            "_authOrigins" => format!(
                "{n} remembered sign-in origins (_authOrigins): Cairn fingerprints origins its own way; each account's first sign-in after the move is remembered without a new-location alert"
            ),
            _ => format!(
                "{n} pending one-time codes or multi-factor sign-ins ({name}): they last minutes; those users start the sign-in again"
            ),
        });
    }
    if source.superusers_with_email(records::INSTALLER_EMAIL)? > 0 {
        notes.push(format!(
            "PocketBase's temporary installer superuser ({}): Cairn offers its own installer link when no superuser exists",
            records::INSTALLER_EMAIL
        ));
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn collection(id: &str, name: &str, kind: &str, extra: Value) -> SourceCollection {
        let mut body = json!({"id": id, "name": name, "type": kind, "listRule": ""});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        SourceCollection {
            id: id.into(),
            name: name.into(),
            kind: kind.into(),
            system: false,
            body: body.as_object().cloned().unwrap_or_default(),
        }
    }

    fn relation(name: &str, to: &str) -> Value {
        json!({"name": name, "type": "relation", "collectionId": to, "maxSelect": 1})
    }

    /// Collections that relate to each other in a cycle, to a view, and
    /// an index on a relation made before its target: each is created
    /// as PocketBase had it, whatever the order.
    #[tokio::test(flavor = "multi_thread")]
    async fn cycles_and_views_are_created_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open_store(dir.path().to_owned()).await.expect("store");
        let schema = Schema::load(&store.data, rule_problem, ACCOUNT_HOOKS)
            .await
            .expect("schema");
        let a = collection(
            "pbc_aaaaaaaaaa",
            "a",
            "base",
            json!({"fields": [{"name": "title", "type": "text"}, relation("b", "pbc_bbbbbbbbbb"), relation("v", "pbc_vvvvvvvvvv")],
                   "indexes": ["CREATE INDEX `idx_a_b` ON `a` (`b`)"]}),
        );
        let b = collection(
            "pbc_bbbbbbbbbb",
            "b",
            "base",
            json!({"fields": [relation("a", "pbc_aaaaaaaaaa"), relation("me", "pbc_bbbbbbbbbb")]}),
        );
        let v = collection(
            "pbc_vvvvvvvvvv",
            "v",
            "view",
            json!({"viewQuery": "SELECT id, title FROM a"}),
        );
        let steps = restore_steps(&[&a, &b, &v]);
        schema.restore(&store.data, steps).await.expect("restored");
        let catalog = schema.catalog();
        let fields = |name: &str| -> Vec<String> {
            let c = catalog.get(name).expect("collection");
            c.fields.iter().map(|f| f.name.clone()).collect()
        };
        assert_eq!(fields("a"), ["id", "title", "b", "v"]);
        assert_eq!(fields("b"), ["id", "a", "me"]);
        assert_eq!(catalog.get("a").expect("a").indexes.len(), 1);
        assert_eq!(catalog.get("v").expect("v").id, "pbc_vvvvvvvvvv");
        // The default `users` of a new data folder is gone: PocketBase had none.
        assert!(catalog.get("users").is_none());
        store.close().await;
    }
}
