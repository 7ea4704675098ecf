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
        match serde_urlencoded::from_str(query) {
            Ok(params) => Ok(Self(params)),
            Err(_) => Ok(Self(first_values(query).map_err(ParseQueryError)?)),
        }
    }
}

/// A query string as `T`, keeping each key's first value (the rules'
/// `@request.query.*` read it so, as the list parameters are).
pub fn first_values<T: DeserializeOwned>(query: &str) -> Result<T, serde_urlencoded::de::Error> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)?;
    let mut seen = HashSet::new();
    let firsts: Vec<_> = pairs
        .into_iter()
        .filter(|(k, _)| seen.insert(k.clone()))
        .collect();
    // Pairs of strings always encode; read again by serde, which knows how
    // a present key fills an `Option` field.
    let deduplicated = serde_urlencoded::to_string(&firsts).unwrap_or_default();
    serde_urlencoded::from_str(&deduplicated)
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
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn a_repeated_key_keeps_its_first_value() {
        let got: BTreeMap<String, String> =
            first_values("page=2&perPage=3&page=1&page=&sort=-a%2Cb&f=a+b%26").expect("parse");
        assert_eq!(got["page"], "2");
        assert_eq!(got["perPage"], "3");
        assert_eq!(got["sort"], "-a,b");
        assert_eq!(got["f"], "a b&");
        #[derive(serde::Deserialize)]
        struct Optional {
            page: Option<String>,
            sort: Option<String>,
        }
        let got: Optional = first_values("page=1&page=2").expect("parse");
        assert_eq!((got.page.as_deref(), got.sort), (Some("1"), None));
    }

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
