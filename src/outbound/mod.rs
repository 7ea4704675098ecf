//! Requests that leave the server for a URL someone else named: the
//! checks on where they may go (`target`), and a bounded download that
//! applies them at every hop (`fetch`).

mod fetch;
pub mod target;

pub use self::fetch::{FetchError, Fetched, fetch};
