//! The commands besides `serve`: superusers, migrations, imports,
//! exports and backups, each on the data folder with the server stopped
//! (or refused while it runs, where that matters).

use std::path::PathBuf;

use super::{BackupAction, ExportPocketbaseArgs, MigrateAction, PocketbaseArgs, SuperuserAction};
use crate::{
    auth::superusers::{self, Credentials, SaveMode, SuperuserError},
    backups::{BackupName, Backups, ServeLock},
    export::{self, ExportRequest},
    files::Storage,
    import::{self, ImportRequest},
    store::Store,
};

pub(super) async fn superuser(action: SuperuserAction, dir: &std::path::Path) -> Result<(), String> {
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

pub(super) async fn migrate(action: MigrateAction, dir: &std::path::Path) -> Result<(), String> {
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

pub(super) async fn import_pocketbase(args: PocketbaseArgs, dir: PathBuf) -> Result<(), String> {
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

pub(super) async fn export_pocketbase(args: ExportPocketbaseArgs, dir: PathBuf) -> Result<(), String> {
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

pub(super) async fn backup(action: BackupAction, dir: &std::path::Path) -> Result<(), String> {
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
