//! List queries: paging and sorting now; the filter language, `expand` and
//! `fields` join them here.

pub mod paging;
pub mod sort;

pub use paging::Paging;
pub use sort::{SortKey, parse_sort};
