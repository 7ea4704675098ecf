//! List queries: the filter language (lexer, parser, compiler to SQL),
//! paging and sorting. `expand` and `fields` join them here.

pub mod collections;
pub mod compile;
pub mod lexer;
pub mod paging;
pub mod parser;
pub mod parts;
pub mod sort;

pub use paging::Paging;

/// A client's query input (`filter`, `sort`, `page`, `fields`, `expand`)
/// that cannot be used: malformed or unknown (the edge answers 400), or
/// well-formed but not the caller's to use (403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Forbidden(String),
}

impl QueryError {
    /// A client filter that does not parse or compile, worded as
    /// PocketBase words it.
    pub fn invalid_filter(detail: impl std::fmt::Display) -> Self {
        Self::Invalid(format!("Invalid filter: {detail}."))
    }
}

pub use sort::{SortKey, parse_sort};

/// A client's `filter` over a fixed table (the collections list, the
/// logs), parsed at the edge: `None` when absent or empty. What it names
/// is checked when it compiles. Record lists keep theirs as
/// `records::access::Filter`, whose parse errors wait for the rules.
pub fn parse_filter(raw: Option<&str>) -> Result<Option<parser::Expr>, QueryError> {
    raw.filter(|f| !f.is_empty())
        .map(|f| parser::parse(f).map_err(QueryError::invalid_filter))
        .transpose()
}
