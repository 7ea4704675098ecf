//! Files on disk: `<data dir>/storage/{collectionId}/{recordId}/{name}`,
//! and each file's thumbnails beside it in `thumbs_{name}/{size}_{name}`.
//! Every path is built from components checked by `names::is_safe`, so no
//! collection id, record id, file name or thumb size can leave the tree.

use std::{
    io,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
};

use rusqlite::Connection;

use super::{NewFile, names::is_safe};
use crate::{
    schema::{Catalog, CollectionKind, field::FieldKind, sync::quote},
    store::StoreError,
};

#[derive(Debug, Clone)]
pub struct Storage {
    root: PathBuf,
    held: Arc<Mutex<Held>>,
}

/// Removals put off while a backup copies the files (`hold_removals`).
#[derive(Debug, Default)]
struct Held {
    holders: usize,
    pending: Vec<Removal>,
}

#[derive(Debug)]
pub(super) enum Removal {
    File(PathBuf),
    Tree(PathBuf),
    /// A folder, if it is empty by then.
    Emptied(PathBuf),
}

impl Removal {
    fn run_blocking(&self) {
        match self {
            Removal::File(p) => {
                quietly(std::fs::remove_file(p), p);
            }
            Removal::Tree(p) => {
                quietly(std::fs::remove_dir_all(p), p);
            }
            Removal::Emptied(p) => {
                let _ = std::fs::remove_dir(p);
            }
        }
    }

    /// Whether something was removed.
    async fn run(self) -> bool {
        match &self {
            Removal::File(p) => quietly(tokio::fs::remove_file(p).await, p),
            Removal::Tree(p) => quietly(tokio::fs::remove_dir_all(p).await, p),
            Removal::Emptied(p) => tokio::fs::remove_dir(p).await.is_ok(),
        }
    }
}

/// While it lives, stored files are not removed: their removals wait, and
/// run when the last hold is dropped.
pub struct RemovalHold(Arc<Mutex<Held>>);

impl Drop for RemovalHold {
    fn drop(&mut self) {
        let pending = {
            let mut held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            held.holders = held.holders.saturating_sub(1);
            if held.holders > 0 {
                return;
            }
            std::mem::take(&mut held.pending)
        };
        if pending.is_empty() {
            return;
        }
        let run = move || pending.iter().for_each(Removal::run_blocking);
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn_blocking(run);
            }
            Err(_) => run(),
        }
    }
}

impl Storage {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.join("storage"),
            held: Arc::default(),
        }
    }

    /// Start-up's check of a data folder that held data before: when
    /// `storage/` is gone but records still name files (data.db copied
    /// without it, say), serving would answer 404 for every file and
    /// delete nothing, silently. Names the first collection found.
    pub fn check_present(&self, catalog: &Catalog, conn: &Connection) -> Result<(), StoreError> {
        if self.root.exists() {
            return Ok(());
        }
        for c in catalog.all().filter(|c| c.kind != CollectionKind::View) {
            for f in c
                .fields
                .iter()
                .filter(|f| matches!(f.kind, FieldKind::File { .. }))
            {
                let column = quote(&f.name);
                let sql = format!(
                    "SELECT 1 FROM {} WHERE {column} IS NOT NULL AND {column} NOT IN ('', '[]') LIMIT 1",
                    quote(&c.name)
                );
                if conn.prepare(&sql)?.exists([])? {
                    return Err(StoreError::Unusable {
                        path: self.root.clone(),
                        problem: format!("is missing, but records of \"{}\" name uploaded files", c.name),
                        fix: "copy the storage folder from where data.db came from, or restore a backup; \
                              to start without the files, create an empty storage folder (their downloads \
                              will answer 404)"
                            .into(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The folder every stored file is under.
    pub(super) fn root(&self) -> &Path {
        &self.root
    }

    /// Puts off every removal of a stored file until the hold is dropped:
    /// a backup takes one before its database snapshot, so the files that
    /// snapshot refers to are all still there when it copies them.
    pub fn hold_removals(&self) -> RemovalHold {
        self.held.lock().unwrap_or_else(PoisonError::into_inner).holders += 1;
        RemovalHold(self.held.clone())
    }

    /// Removes now, or notes the removal for when the holds end. True
    /// when something was removed now.
    pub(super) async fn removal(&self, removal: Removal) -> bool {
        {
            let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
            if held.holders > 0 {
                held.pending.push(removal);
                return false;
            }
        }
        removal.run().await
    }

    pub fn record_dir(&self, collection_id: &str, record_id: &str) -> Option<PathBuf> {
        (is_safe(collection_id) && is_safe(record_id)).then(|| self.root.join(collection_id).join(record_id))
    }

    pub fn file(&self, collection_id: &str, record_id: &str, name: &str) -> Option<PathBuf> {
        is_safe(name)
            .then(|| self.record_dir(collection_id, record_id))
            .flatten()
            .map(|d| d.join(name))
    }

    pub fn thumb(&self, collection_id: &str, record_id: &str, name: &str, size: &str) -> Option<PathBuf> {
        (is_safe(name) && is_safe(size))
            .then(|| self.record_dir(collection_id, record_id))
            .flatten()
            .map(|d| d.join(format!("thumbs_{name}")).join(format!("{size}_{name}")))
    }

    /// Writes new files before their record's transaction. Never
    /// overwrites; on failure, whatever was written is removed again.
    pub async fn stage(&self, collection_id: &str, record_id: &str, files: &[NewFile]) -> io::Result<()> {
        if files.is_empty() {
            return Ok(());
        }
        let dir = self
            .record_dir(collection_id, record_id)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "unsafe record path"))?;
        tokio::fs::create_dir_all(&dir).await?;
        let mut written = Vec::new();
        for f in files {
            let result = async {
                use tokio::io::AsyncWriteExt;
                let path = self
                    .file(collection_id, record_id, &f.name)
                    .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "unsafe file name"))?;
                let mut options = tokio::fs::OpenOptions::new();
                options.write(true).create_new(true);
                let mut out = match options.open(&path).await {
                    // `remove` may have just taken the emptied folder away.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        tokio::fs::create_dir_all(&dir).await?;
                        options.open(&path).await?
                    }
                    other => other?,
                };
                out.write_all(&f.bytes).await?;
                out.sync_all().await
            }
            .await;
            if let Err(err) = result {
                self.remove(collection_id, record_id, &written).await;
                return Err(err);
            }
            written.push(f.name.clone());
        }
        Ok(())
    }

    /// Removes files (and their thumbnails) of one record. Failures are
    /// logged, not returned: by now the database no longer refers to them.
    pub async fn remove(&self, collection_id: &str, record_id: &str, names: &[String]) {
        for name in names {
            if let Some(path) = self.file(collection_id, record_id, name) {
                let thumbs = path.with_file_name(format!("thumbs_{name}"));
                self.removal(Removal::File(path)).await;
                self.removal(Removal::Tree(thumbs)).await;
            }
        }
        // An emptied record folder goes too; a non-empty one stays.
        if let Some(dir) = self.record_dir(collection_id, record_id) {
            self.removal(Removal::Emptied(dir)).await;
        }
    }

    /// Removes every file of a collection (deleted or truncated).
    pub async fn remove_collection(&self, collection_id: &str) {
        if is_safe(collection_id) {
            self.removal(Removal::Tree(self.root.join(collection_id))).await;
        }
    }

    /// Removes everything stored for a deleted record.
    pub async fn remove_record(&self, collection_id: &str, record_id: &str) {
        if let Some(dir) = self.record_dir(collection_id, record_id) {
            self.removal(Removal::Tree(dir)).await;
        }
    }
}

/// Whether it was removed; a failure other than "already gone" is logged.
fn quietly(result: io::Result<()>, path: &Path) -> bool {
    if let Err(err) = &result
        && err.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %err, "could not remove a stored file");
    }
    result.is_ok()
}
