//! Records: the rows of a collection. For now, their identity.

mod id;

pub use id::RecordId;
