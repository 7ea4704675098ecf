//! A route's query string read into a typed value the way PocketBase reads
//! it: a parameter given twice (`?page=2&page=1`) takes its first value,
//! as Go's `url.Values.Get` does. poem's own `Query` refuses a repeated
//! name (serde sees a duplicate field), which turned a list an SDK or a
//! proxy had appended to into a 400.

use poem::{FromRequest, Request, RequestBody, Result};
use serde::de::DeserializeOwned;

use crate::http::error::{ApiError, messages};

/// The query string of a request as `T`, first value of each name.
pub struct FirstQuery<T>(pub T);

/// `raw` (a query string) as `T`, keeping each name's first value.
pub fn first_values<T: DeserializeOwned>(raw: &str) -> Result<T, ApiError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        if !pairs.iter().any(|(seen, _)| *seen == name) {
            pairs.push((name.into_owned(), value.into_owned()));
        }
    }
    // Written again and read by serde_urlencoded, which knows how a
    // present name fills an `Option` field.
    let deduplicated = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    serde_urlencoded::from_str(&deduplicated).map_err(|_| ApiError::bad_request(messages::BAD_REQUEST_BODY))
}

impl<'a, T: DeserializeOwned> FromRequest<'a> for FirstQuery<T> {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> Result<Self> {
        Ok(Self(first_values(req.uri().query().unwrap_or(""))?))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn a_repeated_name_keeps_its_first_value() {
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
}
