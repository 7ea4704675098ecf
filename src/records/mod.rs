//! Records: the rows of a collection, read and written through the
//! collection's definition and rules.

pub mod access;
pub mod delete;
pub mod events;
pub mod expand;
pub mod fields;
mod id;
pub mod list;
pub mod service;
pub mod shape;
pub mod values;

pub use id::RecordId;
