//! Uploaded files: how a client's upload becomes a stored file (safe,
//! unique names; sniffed types), where files live on disk
//! (`<data dir>/storage/{collectionId}/{recordId}/`), thumbnails, and the
//! rules a file field's options impose on an upload.
//!
//! Records own the list of names in their file fields (src/records/write.rs);
//! this module owns the bytes. New files are written before the record's
//! transaction commits and removed if it rolls back; replaced or deleted
//! files are removed only after it commits. Who may download a file is
//! the records' question (`records::downloads`).

pub mod names;
pub mod sniff;
pub mod storage;
pub mod sweep;
pub mod thumbs;
pub mod upload;

pub use storage::Storage;
pub use upload::{NewFile, Upload};
