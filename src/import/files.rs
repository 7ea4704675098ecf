//! Uploaded files: `storage/{collectionId}/{recordId}/{name}` on both
//! sides, so a file keeps its path and its URL. Only files a record names
//! are copied (a missing one stops the import); thumbnails are left, as
//! Cairn makes its own on demand, and so are PocketBase's `{name}.attrs`
//! metadata files (the content type, which Cairn reads from the file). Every path goes through `Storage`, so a
//! name in the source that would climb out of its folder is refused.

use std::path::Path;

use super::ImportError;
use crate::files::Storage;

pub struct FileCopier {
    from: Storage,
    to: Storage,
    pub files: u64,
    pub bytes: u64,
}

impl FileCopier {
    pub fn new(source_dir: &Path, target_dir: &Path) -> Self {
        Self {
            from: Storage::new(source_dir),
            to: Storage::new(target_dir),
            files: 0,
            bytes: 0,
        }
    }

    /// Copies the file `name` of record `record_id` in `collection`.
    pub fn copy(&mut self, collection: (&str, &str), record_id: &str, name: &str) -> Result<(), ImportError> {
        let (collection_id, collection_name) = collection;
        let missing = |path: String| ImportError::MissingFile {
            collection: collection_name.to_owned(),
            record: record_id.to_owned(),
            file: name.to_owned(),
            path,
        };
        let (Some(from), Some(to)) = (
            self.from.file(collection_id, record_id, name),
            self.to.file(collection_id, record_id, name),
        ) else {
            return Err(missing("(an unsafe file name)".into()));
        };
        if !from.is_file() {
            return Err(missing(from.display().to_string()));
        }
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(|e| ImportError::io("creating a storage folder", e))?;
        }
        let bytes = std::fs::copy(&from, &to).map_err(|e| ImportError::io("copying a file", e))?;
        self.files += 1;
        self.bytes += bytes;
        Ok(())
    }
}

/// How many files the source's `storage/` holds, thumbnails and `.attrs`
/// aside: set
/// against the files copied, the ones no record names.
pub fn count_stored(source_dir: &Path) -> u64 {
    let entries = |p: &Path| -> Vec<std::fs::DirEntry> {
        std::fs::read_dir(p)
            .map(|it| it.filter_map(Result::ok).collect())
            .unwrap_or_default()
    };
    let mut n = 0;
    for collection in entries(&source_dir.join("storage")) {
        for record in entries(&collection.path()) {
            n += entries(&record.path())
                .iter()
                .filter(|f| f.file_type().is_ok_and(|t| t.is_file()))
                .filter(|f| !f.file_name().to_string_lossy().ends_with(".attrs"))
                .count() as u64;
        }
    }
    n
}
