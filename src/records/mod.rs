//! Records: the rows of a collection, read and written through the
//! collection's definition and rules.

pub mod access;
pub mod answer;
pub mod batch;
mod body;
pub mod delete;
pub mod deps;
pub mod downloads;
pub mod events;
pub mod expand;
mod files;
mod id;
pub mod list;
pub mod manage;
mod modifiers;
mod persist;
pub mod preview;
mod refused;
pub mod reveal;
pub mod ruletest;
pub mod service;
pub mod shape;
pub mod values;
pub mod writable;
pub mod write;

pub use id::RecordId;
