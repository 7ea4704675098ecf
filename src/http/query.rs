//! One parameter of a request's query string, read as PocketBase reads
//! it (the first value; `+` is a space): without parsing the whole query
//! into a map, since some callers (`?fields=` at the edge) ask on every
//! request.

use poem::Request;

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
