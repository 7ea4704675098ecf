//! The backup archive: a zip holding `data.db`, `auxiliary.db` (consistent
//! snapshots, see `store::snapshot`) and the uploaded files under
//! `storage/`, as they sit in the data folder.
//!
//! Reading an archive trusts nothing in it. Before anything is extracted
//! its central directory is checked: every name is one of the known
//! files or a plain relative path under `storage/` (no `..`, no absolute
//! or drive paths, no backslashes, no links), there are not too many
//! entries, and the sizes it declares add up to a bounded expansion of
//! the archive (a zip bomb is refused by its declared sizes). Extraction
//! then holds every entry to its declared size, so an archive that lies
//! about a size is refused too, and writes only under the folder it is
//! given.

use std::{
    fs::File,
    io::{self, Read, Write},
    path::{Path, PathBuf},
};

use zip::{CompressionMethod, ZipArchive, ZipWriter, write::SimpleFileOptions};

pub const DATA_DB: &str = "data.db";
pub const AUXILIARY_DB: &str = "auxiliary.db";
pub const STORAGE: &str = "storage";

/// Most entries an archive may hold: far more than any real data folder,
/// few enough that a directory of empty entries cannot exhaust inodes.
const MAX_ENTRIES: usize = 1_000_000;
/// How much larger than the archive its content may declare to be. A
/// SQLite file written by `VACUUM INTO` deflates to about a third, the
/// uploads in `storage/` (images, documents) hardly at all; a zip bomb
/// declares a thousand times its size and more.
const MAX_RATIO: u64 = 100;
/// Small archives may expand by this much regardless of the ratio (an
/// empty database deflates to almost nothing).
const RATIO_SLACK: u64 = 64 << 20;

/// Why an archive cannot be restored (or accepted as an upload).
#[derive(Debug, thiserror::Error)]
pub enum ArchiveProblem {
    #[error("the file is not a zip archive")]
    NotZip,
    #[error("the archive holds an entry with an unsafe or unknown name: {0:?}")]
    BadName(String),
    #[error("the archive holds an encrypted, linked or unsupported entry: {0:?}")]
    Unsupported(String),
    #[error("the archive holds more than {MAX_ENTRIES} entries")]
    TooManyEntries,
    #[error("the archive would expand to {declared} bytes, too much for its size of {size} bytes")]
    Bomb { declared: u64, size: u64 },
    #[error("the entry {0:?} is larger than the archive declares")]
    SizeMismatch(String),
    #[error("the archive has no {DATA_DB}")]
    NoDatabase,
    #[error("the archive holds {0:?} twice")]
    Duplicate(String),
    #[error("the archive is damaged: {0}")]
    Damaged(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl From<zip::result::ZipError> for ArchiveProblem {
    fn from(err: zip::result::ZipError) -> Self {
        match err {
            zip::result::ZipError::Io(e) => Self::Io(e),
            other => Self::Damaged(other.to_string()),
        }
    }
}

/// Reports what a long piece of work is doing (the CLI prints it).
pub type Progress<'a> = &'a (dyn Fn(&str) + Sync);

/// Writes the archive at `dest`: the snapshots found in `snapshots`
/// (`data.db`, `auxiliary.db`), then every regular file under `storage`.
pub fn write(dest: &Path, snapshots: &Path, storage: &Path, progress: Progress) -> io::Result<()> {
    let mut zip = ZipWriter::new(io::BufWriter::new(File::create_new(dest)?));
    // Every entry is stamped with the time the backup was made (zip
    // times are local-less and to two seconds; UTC is written).
    let now = chrono::Utc::now();
    let stamp = {
        use chrono::{Datelike, Timelike};
        zip::DateTime::from_date_and_time(
            u16::try_from(now.year()).unwrap_or(1980),
            now.month() as u8,
            now.day() as u8,
            now.hour() as u8,
            now.minute() as u8,
            now.second() as u8,
        )
        .unwrap_or_default()
    };
    let options = |len: u64| {
        SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(stamp)
            .large_file(len >= u64::from(u32::MAX))
    };
    for name in [DATA_DB, AUXILIARY_DB] {
        let path = snapshots.join(name);
        let mut file = File::open(&path)?;
        let len = file.metadata()?.len();
        progress(&format!("archiving {name} ({len} bytes)"));
        zip.start_file(name, options(len)).map_err(io::Error::other)?;
        io::copy(&mut file, &mut zip)?;
    }
    let files = storage_files(storage)?;
    let total = files.len();
    for (i, (rel, path)) in files.into_iter().enumerate() {
        let entry = format!("{STORAGE}/{rel}");
        // Never write what a restore would refuse.
        if destination(&entry).is_err() {
            tracing::warn!(path = %path.display(), "a stored file's name cannot go in a backup; left out");
            continue;
        }
        // A file removed since the walk is simply not in the backup.
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let len = file.metadata()?.len();
        zip.start_file(entry, options(len)).map_err(io::Error::other)?;
        io::copy(&mut file, &mut zip)?;
        if (i + 1) % 500 == 0 || i + 1 == total {
            progress(&format!("archiving {STORAGE}/: {} of {total} files", i + 1));
        }
    }
    let mut out = zip.finish().map_err(io::Error::other)?;
    out.flush()?;
    out.get_ref().sync_all()
}

/// Every regular file under `root`, with its path relative to it (`/`
/// separated); links are skipped, never followed.
fn storage_files(root: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), root.to_owned())];
    while let Some((rel, dir)) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push((child, entry.path()));
            } else if kind.is_file() {
                out.push((child, entry.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Where an entry goes, relative to the folder it is extracted into; or
/// `None` for a directory entry of `storage/`.
fn destination(name: &str) -> Result<Option<PathBuf>, ArchiveProblem> {
    let bad = || ArchiveProblem::BadName(name.chars().take(200).collect());
    if name == DATA_DB || name == AUXILIARY_DB {
        return Ok(Some(PathBuf::from(name)));
    }
    let Some(rest) = name.strip_prefix("storage/") else {
        return Err(bad());
    };
    let (rest, is_dir) = match rest.strip_suffix('/') {
        Some(r) => (r, true),
        None => (rest, false),
    };
    if rest.is_empty() {
        return if is_dir { Ok(None) } else { Err(bad()) };
    }
    let mut path = PathBuf::from(STORAGE);
    for part in rest.split('/') {
        let safe = !part.is_empty()
            && part != "."
            && part != ".."
            && part.len() <= 255
            && !part.chars().any(|c| c == '\\' || c == ':' || c.is_control());
        if !safe {
            return Err(bad());
        }
        path.push(part);
    }
    Ok((!is_dir).then_some(path))
}

/// What a checked archive holds.
#[derive(Debug)]
pub struct Inventory {
    pub entries: usize,
    pub declared: u64,
}

/// Checks an archive's directory without extracting anything: names,
/// entry kinds, counts and declared sizes.
pub fn inspect(path: &Path) -> Result<Inventory, ArchiveProblem> {
    let size = std::fs::metadata(path)?.len();
    let mut zip = ZipArchive::new(File::open(path)?).map_err(|e| match e {
        zip::result::ZipError::Io(e) => ArchiveProblem::Io(e),
        _ => ArchiveProblem::NotZip,
    })?;
    if zip.len() > MAX_ENTRIES {
        return Err(ArchiveProblem::TooManyEntries);
    }
    let mut declared: u64 = 0;
    let mut has_data = false;
    let mut seen = std::collections::HashSet::new();
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i)?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let target = destination(&name)?;
        if entry.encrypted()
            || entry.is_symlink()
            || !matches!(
                entry.compression(),
                CompressionMethod::Stored | CompressionMethod::Deflated
            )
        {
            return Err(ArchiveProblem::Unsupported(name));
        }
        if let Some(target) = target {
            if !seen.insert(target) {
                return Err(ArchiveProblem::Duplicate(name));
            }
            has_data |= name == DATA_DB;
        }
        declared = declared.saturating_add(entry.size());
    }
    if !has_data {
        return Err(ArchiveProblem::NoDatabase);
    }
    if declared > size.saturating_mul(MAX_RATIO).saturating_add(RATIO_SLACK) {
        return Err(ArchiveProblem::Bomb { declared, size });
    }
    Ok(Inventory {
        entries: zip.len(),
        declared,
    })
}

/// Extracts a checked archive into `into` (an empty folder), holding
/// every entry to its declared size.
pub fn extract(path: &Path, into: &Path, progress: Progress) -> Result<(), ArchiveProblem> {
    let inventory = inspect(path)?;
    let mut zip = ZipArchive::new(File::open(path)?)?;
    std::fs::create_dir_all(into.join(STORAGE))?;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i)?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let Some(rel) = destination(&name)? else { continue };
        let dest = into.join(&rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let declared = entry.size();
        let mut out = File::create_new(&dest)?;
        let copied = io::copy(&mut (&mut entry).take(declared.saturating_add(1)), &mut out)?;
        if copied > declared {
            return Err(ArchiveProblem::SizeMismatch(name));
        }
        out.sync_all()?;
        if (i + 1) % 500 == 0 || i + 1 == inventory.entries {
            progress(&format!("extracted {} of {} entries", i + 1, inventory.entries));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_inside_the_folder() {
        for ok in [
            "data.db",
            "auxiliary.db",
            "storage/c/r/a.png",
            "storage/c/r/thumbs_a.png/1x1_a.png",
        ] {
            assert!(destination(ok).is_ok(), "{ok}");
        }
        assert_eq!(destination("storage/c/").expect("dir"), None);
        for bad in [
            "../data.db",
            "/etc/passwd",
            "storage/../x",
            "storage/./x",
            "storage//x",
            "storage/a\\..\\b",
            "C:/x",
            "storage/c:x",
            "data.db-wal",
            "types.d.ts",
            "storage",
        ] {
            assert!(destination(bad).is_err(), "{bad}");
        }
    }
}
