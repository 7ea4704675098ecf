//! The Cairn side's folder: refused when it is not empty (without
//! `--force`) or overlaps the source, built hidden beside where it goes,
//! and renamed into place only once complete.

use std::path::{Path, PathBuf};

use super::{ImportError, ImportRequest};

/// `p` made absolute and resolved; a path that does not exist yet is
/// its parent, resolved, and its name (to compare folders for overlap).
pub fn absolute(p: &Path) -> PathBuf {
    match std::fs::canonicalize(p) {
        Ok(c) => c,
        Err(_) => match (p.parent(), p.file_name()) {
            (Some(parent), Some(name)) => {
                let parent = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
                std::fs::canonicalize(parent)
                    .unwrap_or_else(|_| parent.to_owned())
                    .join(name)
            }
            _ => p.to_owned(),
        },
    }
}

/// Refuses a target that is not empty (without `--force`) or that
/// overlaps the source, before anything is made.
pub fn check_target(request: &ImportRequest) -> Result<(), ImportError> {
    let target = &request.target;
    let (s, t) = (absolute(&request.source), absolute(target));
    if s.starts_with(&t) || t.starts_with(&s) {
        return Err(ImportError::Overlap {
            pb_data: s,
            target: t,
        });
    }
    if target.exists() {
        let empty = std::fs::read_dir(target)
            .map_err(|e| ImportError::io(&format!("reading {}", target.display()), e))?
            .next()
            .is_none();
        if !empty && !request.force {
            return Err(ImportError::TargetNotEmpty(target.clone()));
        }
    }
    Ok(())
}

/// The hidden folder a new data folder is built in, removed unless
/// `finish` moves it into place. Shared with `export`, which builds its
/// `pb_data` the same way; errors are I/O errors that name their path.
pub struct Staging {
    pub path: PathBuf,
    done: bool,
}

impl Staging {
    /// A new hidden folder beside `target`, named for `purpose`.
    pub fn create(target: &Path, purpose: &str) -> std::io::Result<Self> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "cairn_data".into());
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| context(e, "creating", &parent))?;
        let path = parent.join(format!(
            ".{name}.{purpose}-{}",
            crate::random::lower_alphanumeric(8)
        ));
        std::fs::create_dir(&path).map_err(|e| context(e, "creating", &path))?;
        Ok(Self { path, done: false })
    }

    /// Puts the finished folder at `target`; a replaced one is moved
    /// aside first and deleted only once the new one is in place.
    pub fn finish(mut self, target: &Path) -> std::io::Result<()> {
        let mut aside = None;
        if target.exists() {
            let old = self.path.with_extension("replaced");
            std::fs::rename(target, &old).map_err(|e| context(e, "moving aside", target))?;
            aside = Some(old);
        }
        if let Err(e) = std::fs::rename(&self.path, target) {
            if let Some(old) = &aside {
                let _ = std::fs::rename(old, target);
            }
            return Err(context(e, "moving the new folder to", target));
        }
        self.done = true;
        if let Some(old) = aside {
            std::fs::remove_dir_all(&old).map_err(|e| context(e, "removing the replaced", &old))?;
        }
        Ok(())
    }
}

fn context(err: std::io::Error, what: &str, path: &Path) -> std::io::Error {
    std::io::Error::new(err.kind(), format!("{what} {}: {err}", path.display()))
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
