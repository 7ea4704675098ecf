//! Backups of the data folder, and restores from them.
//!
//! A backup is a zip (see `archive`) in `<data dir>/backups/`, made while
//! the server keeps serving: both databases are snapshotted first
//! (`store::snapshot`: one read transaction each, which never blocks the
//! writer), then `storage/` is copied. What that gives for files: every
//! file that a record in the snapshot refers to was written before the
//! record committed (`files::storage` writes files first), so it is on
//! disk when the copy starts; removals wait until the copy is done
//! (`Storage::hold_removals`), so none of them can vanish before it is
//! read. Files added after the snapshot may be in the zip too, unused.
//!
//! A restore checks the whole archive before touching anything (names,
//! sizes, `integrity_check`, migrations this build knows), keeps what it
//! replaces in `<data dir>/.restore_rollback/`, and replaces the live
//! databases in place (`Database::restore_from`), so the server goes on
//! without a restart; the caller then reloads what it derived from them
//! (`AppState::reload`). If any step fails, what was replaced is put back.
//!
//! One backup or restore runs at a time; a second is refused at once.

pub mod archive;
pub mod name;

use std::{
    io,
    path::{Path, PathBuf},
    sync::Arc,
};

pub use archive::{ArchiveProblem, Progress};
pub use name::BackupName;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::{
    files::Storage,
    store::{FileProblem, MigrationSet, Store, StoreError, check_file},
};

/// Largest backup accepted by upload.
pub const UPLOAD_LIMIT: u64 = 4 << 30;

/// Which request met a missing backup: PocketBase answers each its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Download,
    Delete,
    Restore,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The field (`name`, or `file` for an upload) that names it.
    #[error("a backup with this name already exists")]
    NameExists { field: &'static str },
    #[error("another backup or restore is running")]
    Busy,
    #[error("no such backup")]
    Missing(Action),
    #[error("no file was uploaded")]
    NoUpload,
    #[error("the upload is larger than {UPLOAD_LIMIT} bytes")]
    TooLarge,
    #[error("the backup cannot be used: {0}")]
    Archive(#[from] ArchiveProblem),
    #[error("the backup cannot be restored: {0}")]
    Incompatible(#[from] FileProblem),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{what}: {source}")]
    Io { what: &'static str, source: io::Error },
}

fn io(what: &'static str) -> impl FnOnce(io::Error) -> BackupError {
    move |source| BackupError::Io { what, source }
}

/// One backup file, as `GET /api/backups` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupFile {
    pub key: String,
    pub size: u64,
    pub modified: String,
}

/// The backups folder and the one-at-a-time lock.
pub struct Backups {
    data_dir: PathBuf,
    dir: PathBuf,
    running: Arc<Mutex<()>>,
    /// How the last backup this process tried ended, for the metrics.
    last: Arc<std::sync::Mutex<Option<LastBackup>>>,
}

/// The end of a backup attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LastBackup {
    /// Seconds since the Unix epoch.
    pub at: f64,
    pub ok: bool,
}

impl Backups {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_owned(),
            dir: data_dir.join("backups"),
            running: Arc::default(),
            last: Arc::default(),
        }
    }

    /// Whether a backup or restore is running now.
    pub fn is_running(&self) -> bool {
        self.running.try_lock().is_err()
    }

    fn claim(&self) -> Result<OwnedMutexGuard<()>, BackupError> {
        self.running
            .clone()
            .try_lock_owned()
            .map_err(|_| BackupError::Busy)
    }

    /// The path of an existing backup.
    pub async fn path(&self, key: &str, action: Action) -> Result<PathBuf, BackupError> {
        let name = BackupName::key(key).ok_or(BackupError::Missing(action))?;
        let path = self.dir.join(name.as_str());
        match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_file() => Ok(path),
            _ => Err(BackupError::Missing(action)),
        }
    }

    /// Every backup, newest first.
    pub async fn list(&self) -> Result<Vec<BackupFile>, BackupError> {
        let dir = self.dir.clone();
        let mut out = tokio::task::spawn_blocking(move || -> io::Result<Vec<BackupFile>> {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(e),
            };
            let mut out = Vec::new();
            for entry in entries {
                let entry = entry?;
                let Some(key) = entry.file_name().to_str().and_then(BackupName::key) else {
                    continue;
                };
                let meta = entry.metadata()?;
                if !meta.is_file() {
                    continue;
                }
                let modified = meta
                    .modified()
                    .map(chrono::DateTime::<chrono::Utc>::from)
                    .unwrap_or_default();
                out.push(BackupFile {
                    key: key.to_string(),
                    size: meta.len(),
                    modified: crate::datetime::format(modified),
                });
            }
            Ok(out)
        })
        .await
        .map_err(|e| BackupError::Io {
            what: "listing the backups",
            source: io::Error::other(e),
        })?
        .map_err(io("listing the backups"))?;
        out.sort_by(|a, b| b.modified.cmp(&a.modified).then_with(|| a.key.cmp(&b.key)));
        Ok(out)
    }

    /// Makes a backup named `name` of the live data, while it is served.
    pub async fn create(
        &self,
        store: &Store,
        storage: &Storage,
        name: &BackupName,
        progress: Progress<'static>,
    ) -> Result<(), BackupError> {
        let _running = self.claim()?;
        let made = self.make(store, storage, name, progress).await;
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        *self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(LastBackup { at, ok: made.is_ok() });
        made
    }

    /// How the last backup tried since start ended, if any was.
    pub fn last(&self) -> Option<LastBackup> {
        *self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn make(
        &self,
        store: &Store,
        storage: &Storage,
        name: &BackupName,
        progress: Progress<'static>,
    ) -> Result<(), BackupError> {
        let dest = self.dir.join(name.as_str());
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(io("creating the backups folder"))?;
        if tokio::fs::try_exists(&dest).await.unwrap_or(true) {
            return Err(BackupError::NameExists { field: "name" });
        }
        let work = Scratch::new(self.dir.join(format!(".creating-{name}")))?;
        // Files removed from now on stay until the copy is done, so every
        // file the snapshot refers to is still there to be read.
        let _held = storage.hold_removals();
        progress("snapshotting data.db");
        store.data.snapshot_into(&work.0.join(archive::DATA_DB)).await?;
        progress("snapshotting auxiliary.db");
        store
            .auxiliary
            .snapshot_into(&work.0.join(archive::AUXILIARY_DB))
            .await?;
        let partial = work.0.join("archive.zip");
        let (snapshots, files, zip) = (
            work.0.clone(),
            self.data_dir.join(archive::STORAGE),
            partial.clone(),
        );
        tokio::task::spawn_blocking(move || archive::write(&zip, &snapshots, &files, progress))
            .await
            .map_err(|e| BackupError::Io {
                what: "writing the archive",
                source: io::Error::other(e),
            })?
            .map_err(io("writing the archive"))?;
        // Appears whole or not at all; a name taken meanwhile (an upload)
        // is not overwritten.
        if tokio::fs::try_exists(&dest).await.unwrap_or(true) {
            return Err(BackupError::NameExists { field: "name" });
        }
        tokio::fs::rename(&partial, &dest)
            .await
            .map_err(io("moving the archive into place"))?;
        Ok(())
    }

    /// Keeps an uploaded archive (already written to `temp`, inside the
    /// backups folder) as `name`, once its directory passes the checks.
    pub async fn accept_upload(&self, temp: &Path, name: &BackupName) -> Result<(), BackupError> {
        let checked = {
            let temp = temp.to_owned();
            tokio::task::spawn_blocking(move || archive::inspect(&temp))
                .await
                .map_err(|e| BackupError::Io {
                    what: "checking the upload",
                    source: io::Error::other(e),
                })?
        };
        checked?;
        let dest = self.dir.join(name.as_str());
        if tokio::fs::try_exists(&dest).await.unwrap_or(true) {
            return Err(BackupError::NameExists { field: "file" });
        }
        tokio::fs::rename(temp, &dest)
            .await
            .map_err(io("moving the upload into place"))
    }

    /// A fresh file in the backups folder for an upload to be written to;
    /// removed when dropped unless `accept_upload` moved it.
    pub async fn upload_file(&self) -> Result<(tokio::fs::File, Scratch), BackupError> {
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(io("creating the backups folder"))?;
        let path = self
            .dir
            .join(format!(".upload-{}", crate::random::alphanumeric(12)));
        let file = tokio::fs::File::create_new(&path)
            .await
            .map_err(io("creating the upload file"))?;
        Ok((file, Scratch(path)))
    }

    pub async fn delete(&self, key: &str) -> Result<(), BackupError> {
        let path = self.path(key, Action::Delete).await?;
        tokio::fs::remove_file(&path).await.map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => BackupError::Missing(Action::Delete),
            _ => BackupError::Io {
                what: "deleting the backup",
                source: e,
            },
        })
    }

    /// Replaces the live data (`store` and `storage/`) with the backup
    /// `key`'s, after checking all of it. What it replaces is kept in
    /// `.restore_rollback/` (until the next restore). On any failure the
    /// old data stays, or is put back.
    pub async fn restore(
        &self,
        store: &Store,
        key: &str,
        progress: Progress<'static>,
    ) -> Result<(), BackupError> {
        let _running = self.claim()?;
        let path = self.path(key, Action::Restore).await?;
        let staging = Scratch::new(self.data_dir.join(".restore_staging"))?;
        progress("checking and extracting the archive");
        let into = staging.0.clone();
        let pages = (store.data.page_size().await?, store.auxiliary.page_size().await?);
        let checked = tokio::task::spawn_blocking(move || -> Result<bool, BackupError> {
            archive::extract(&path, &into, progress)?;
            check_file(&into.join(archive::DATA_DB), MigrationSet::Data, pages.0)?;
            let aux = into.join(archive::AUXILIARY_DB);
            let has_aux = aux.exists();
            if has_aux {
                check_file(&aux, MigrationSet::Auxiliary, pages.1)?;
            }
            Ok(has_aux)
        })
        .await
        .map_err(|e| BackupError::Io {
            what: "checking the archive",
            source: io::Error::other(e),
        })?;
        let has_aux = checked?;

        progress("keeping the current data as a rollback copy");
        let rollback = self.data_dir.join(".restore_rollback");
        let _ = tokio::fs::remove_dir_all(&rollback).await;
        tokio::fs::create_dir_all(&rollback)
            .await
            .map_err(io("creating the rollback folder"))?;
        store.data.snapshot_into(&rollback.join(archive::DATA_DB)).await?;
        store
            .auxiliary
            .snapshot_into(&rollback.join(archive::AUXILIARY_DB))
            .await?;

        progress("replacing the data");
        let live_files = self.data_dir.join(archive::STORAGE);
        let kept_files = rollback.join(archive::STORAGE);
        let had_files = tokio::fs::try_exists(&live_files).await.unwrap_or(false);
        if had_files {
            tokio::fs::rename(&live_files, &kept_files)
                .await
                .map_err(io("setting the current files aside"))?;
        }
        let put_files_back = || async {
            let _ = tokio::fs::remove_dir_all(&live_files).await;
            if had_files {
                let _ = tokio::fs::rename(&kept_files, &live_files).await;
            }
        };
        if let Err(e) = tokio::fs::rename(staging.0.join(archive::STORAGE), &live_files).await {
            put_files_back().await;
            return Err(io("moving the restored files into place")(e));
        }
        if let Err(e) = store.data.restore_from(&staging.0.join(archive::DATA_DB)).await {
            put_files_back().await;
            return Err(e.into());
        }
        if has_aux
            && let Err(e) = store
                .auxiliary
                .restore_from(&staging.0.join(archive::AUXILIARY_DB))
                .await
        {
            if let Err(undo) = store.data.restore_from(&rollback.join(archive::DATA_DB)).await {
                tracing::error!(error = %undo, "putting the data back after a failed restore");
            }
            put_files_back().await;
            return Err(e.into());
        }
        progress("restored");
        Ok(())
    }

    /// A scheduled backup (`settings.backups.cron`): made under an
    /// `@auto_` name, then the oldest scheduled ones past `keep`
    /// (`cronMaxKeep`, at least 1) are removed. Backups made by hand or
    /// uploaded are never removed here.
    pub async fn create_scheduled(
        &self,
        store: &Store,
        storage: &Storage,
        keep: u32,
    ) -> Result<BackupName, BackupError> {
        let name = BackupName::generated(true);
        self.create(store, storage, &name, &|step| {
            tracing::debug!(step, "scheduled backup")
        })
        .await?;
        self.prune_auto(keep.max(1) as usize).await?;
        Ok(name)
    }

    /// Removes the oldest scheduled backups past `keep`.
    async fn prune_auto(&self, keep: usize) -> Result<(), BackupError> {
        let autos: Vec<BackupFile> = self
            .list()
            .await?
            .into_iter()
            .filter(|b| b.key.starts_with(name::AUTO_PREFIX))
            .collect();
        for old in autos.iter().skip(keep) {
            self.delete(&old.key).await?;
        }
        Ok(())
    }
}

/// A scratch file or folder, removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    fn new(dir: PathBuf) -> Result<Self, BackupError> {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(io("creating a work folder"))?;
        Ok(Self(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0).or_else(|_| std::fs::remove_file(&self.0));
    }
}

/// Held by a serving process for as long as it runs, so that the offline
/// `cairn backup restore` can tell and refuse.
pub struct ServeLock(#[allow(dead_code)] std::fs::File);

impl ServeLock {
    const FILE: &str = ".serve.lock";

    /// Takes the data folder's lock; `None` if another process holds it.
    pub fn take(data_dir: &Path) -> io::Result<Option<Self>> {
        std::fs::create_dir_all(data_dir)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(data_dir.join(Self::FILE))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self(file))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}
