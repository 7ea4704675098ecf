//! The export's uploaded files: each file a record names, copied into
//! PocketBase's storage layout with the attributes file PocketBase reads.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, types::Value as SqlValue};

use super::ExportError;
use crate::{
    files::Storage,
    import::file_names,
    schema::{Collection, field::FieldKind, sync::quote},
};

/// Uploaded files: `storage/{collectionId}/{recordId}/{name}` on both
/// sides. Only files a record names; thumbnails are remade by PocketBase.
pub(super) struct FileCopier {
    pub(super) from: Storage,
    pub(super) to: Storage,
    pub(super) files: u64,
    pub(super) bytes: u64,
    pub(super) missing: Vec<String>,
}

impl FileCopier {
    pub(super) fn copy_collection(&mut self, conn: &Connection, c: &Collection) -> Result<(), ExportError> {
        let columns: Vec<&str> = (c.fields.iter())
            .filter(|f| matches!(f.kind, FieldKind::File { .. }))
            .map(|f| f.name.as_str())
            .collect();
        if columns.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = columns.iter().map(|n| quote(n)).collect();
        let sql = format!("SELECT id, {} FROM main.{}", list.join(", "), quote(&c.name));
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            for i in 0..columns.len() {
                for name in file_names(&row.get::<_, SqlValue>(i + 1)?) {
                    self.copy(&c.id, &id, &name)?;
                }
            }
        }
        Ok(())
    }

    fn copy(&mut self, collection_id: &str, record_id: &str, name: &str) -> Result<(), ExportError> {
        let (Some(from), Some(to)) = (
            self.from.file(collection_id, record_id, name),
            self.to.file(collection_id, record_id, name),
        ) else {
            self.missing
                .push(format!("{collection_id}/{record_id}/{name} (an unsafe name)"));
            return Ok(());
        };
        if !from.is_file() {
            self.missing.push(format!("{collection_id}/{record_id}/{name}"));
            return Ok(());
        }
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(|e| ExportError::io("creating a storage folder", e))?;
        }
        let bytes = std::fs::copy(&from, &to).map_err(|e| ExportError::io("copying a file", e))?;
        write_attrs(&to).map_err(|e| ExportError::io("writing a file's attributes", e))?;
        self.files += 1;
        self.bytes += bytes;
        Ok(())
    }
}

/// PocketBase's storage keeps each file's `Content-Type` in a `NAME.attrs`
/// file beside it (JSON, as PocketBase 0.40.6 writes it) and serves
/// `application/octet-stream` without one; Cairn sniffs the type from
/// the first bytes when serving, so the type written is the one Cairn
/// served. The `md5` and original-name entries PocketBase also writes are
/// optional to it and left out.
fn write_attrs(file: &Path) -> std::io::Result<()> {
    use std::io::Read;
    let sample = crate::files::sniff::SAMPLE;
    let mut head = Vec::with_capacity(sample);
    std::fs::File::open(file)?
        .take(sample as u64)
        .read_to_end(&mut head)?;
    let kind = crate::files::sniff::content_type(crate::files::sniff::sniff(&head).mime);
    let attrs = serde_json::json!({
        "user.cache_control": "",
        "user.content_disposition": "",
        "user.content_encoding": "",
        "user.content_language": "",
        "user.content_type": kind,
    });
    let mut name = file.as_os_str().to_owned();
    name.push(".attrs");
    std::fs::write(PathBuf::from(name), attrs.to_string())
}
