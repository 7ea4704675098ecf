//! The bodies of the fuzz targets, one module per target. The targets in
//! `fuzz_targets/` are one-line wrappers, so the same functions can be
//! replayed over the committed corpora by a plain `cargo test`
//! (`tests/api/fuzz_corpora.rs` includes these files by path): each module
//! is self-contained and uses only `cairn` and the main crate's own
//! dependencies.
//!
//! Every function panics on a broken property (a panic in Cairn, or an
//! answer that breaks an invariant); errors for bad input are fine.

pub mod filter_parser;
pub mod multipart;
pub mod rules;
pub mod values;
