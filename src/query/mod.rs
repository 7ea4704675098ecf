//! List queries: the filter language (lexer, parser, compiler to SQL),
//! paging and sorting. `expand` and `fields` join them here.

pub mod compile;
pub mod lexer;
pub mod paging;
pub mod parser;
pub mod sort;

pub use paging::Paging;
pub use sort::{SortKey, parse_sort};
