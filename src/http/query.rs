//! A request's query string, read as PocketBase reads it: a key given
//! more than once counts with its first value (Go's `url.Values.Get`),
//! and `+` is a space. `query_param` reads one parameter without parsing
//! the whole query into a map, since some callers (`?fields=` at the
//! edge) ask on every request; `FirstQuery` is `poem::web::Query` for a
//! handler's parameters, which refused a repeated key with a 400.

use std::collections::HashSet;

use poem::{FromRequest, Request, RequestBody, error::ParseQueryError};
use serde::de::DeserializeOwned;

/// A handler's query parameters, each key's first value.
pub struct FirstQuery<T>(pub T);

impl<'a, T: DeserializeOwned> FromRequest<'a> for FirstQuery<T> {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let query = req.uri().query().unwrap_or("");
        // The common case, no key repeated, parses once.
        let repeated = match serde_urlencoded::from_str(query) {
            Ok(params) => return Ok(Self(params)),
            Err(err) => err,
        };
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(ParseQueryError)?;
        let mut seen = HashSet::new();
        let firsts: Vec<_> = pairs
            .into_iter()
            .filter(|(k, _)| seen.insert(k.clone()))
            .collect();
        // Pairs of strings always encode.
        let Ok(deduplicated) = serde_urlencoded::to_string(&firsts) else {
            return Err(ParseQueryError(repeated).into());
        };
        Ok(Self(
            serde_urlencoded::from_str(&deduplicated).map_err(ParseQueryError)?,
        ))
    }
}

/// The first value of `key` in `req`'s query, decoded.
pub fn query_param(req: &Request, key: &str) -> Option<String> {
    first_value(req.uri().query()?, key)
}

/// The first value of `key` in a query string, decoded. Keys are decoded
/// only when they hold an escape, and values only for `key`.
fn first_value(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let matches = k == key || (k.contains(['%', '+']) && decode(k) == key);
        matches.then(|| decode(v))
    })
}

/// A query component as a form encodes it: `+` is a space.
fn decode(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_first_value_of_a_key() {
        assert_eq!(
            first_value("a=1&fields=id%2Cname&fields=x", "fields").as_deref(),
            Some("id,name")
        );
        assert_eq!(first_value("%66ields=a+b", "fields").as_deref(), Some("a b"));
        assert_eq!(first_value("fieldsx=1&xfields=2", "fields"), None);
        assert_eq!(first_value("fields", "fields").as_deref(), Some(""));
    }
}
