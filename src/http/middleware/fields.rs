//! `?fields=` on every JSON answer, as PocketBase applies it to every
//! answer it writes as JSON: the settings, the collections, the logs, a
//! sign-in's `{token, record, meta}` whole, a batch's list of results.
//! The grammar and the picking are `fields_param`'s; this layer only
//! decides which answers it touches:
//! - a success (2xx) written as `application/json`. Error envelopes, a
//!   sign-in's 401 `{mfaId}`, 204s, files, event streams, the dashboard's
//!   pages and backups are sent as they are;
//! - not one its handler already picked (`Picked`): records pick while
//!   they are written, so a list is never read back and parsed here;
//! - a page (`{items, page, perPage, totalItems, totalPages}`, the list
//!   envelope of `query::paging`) has its items picked, not its keys.
//!
//! A `fields` that does not parse is refused with PocketBase's generic
//! 400, and only where it would have been applied: after the handler ran
//! (a create is made, and its answer is the 400), and never for an
//! error or a file, as PocketBase does.
//!
//! Without `fields` in the query an answer costs one scan of the query
//! string; with it, answers other than records are parsed and written
//! once more.

use poem::{Error, Request, Response, Result, http::header};
use serde_json::{Map, Value};

use crate::{
    fields_param::{FieldsError, FieldsTree},
    http::{error::ApiError, query_param},
};

/// Set on an answer (`Response::set_data`) by a handler that applied
/// `fields` itself, so this layer leaves the answer as it is.
#[derive(Clone, Copy, Debug)]
pub struct Picked;

/// The request's `fields` (its first, as PocketBase reads a query
/// parameter), parsed; `None` when absent or empty.
pub fn requested(req: &Request) -> Option<Result<FieldsTree, FieldsError>> {
    let raw = query_param(req, "fields")?;
    FieldsTree::parse(&raw).transpose()
}

/// `resp` with `requested` applied, if it is an answer `fields` applies to.
pub async fn apply(
    mut resp: Response,
    requested: Option<Result<FieldsTree, FieldsError>>,
) -> Result<Response> {
    let Some(requested) = requested else {
        return Ok(resp);
    };
    if !resp.status().is_success() || resp.data::<Picked>().is_some() || !is_json(&resp) {
        return Ok(resp);
    }
    let tree = match requested {
        Ok(tree) => tree,
        Err(invalid) => {
            // Named by the route that answered, in the metrics, as the
            // answer it replaces would have been.
            let mut err = Error::from(ApiError::from(invalid));
            if let Some(route) = resp.data::<poem::PathPattern>() {
                err.set_data(route.clone());
            }
            return Err(err);
        }
    };
    let body = resp.take_body().into_bytes().await.map_err(ApiError::internal)?;
    // An empty body (a HEAD) or one that is not JSON after all: as it is.
    let Ok(mut value) = serde_json::from_slice::<Value>(&body) else {
        resp.set_body(body);
        return Ok(resp);
    };
    match value.as_object_mut().filter(|o| is_page(o)) {
        Some(page) => page
            .get_mut("items")
            .into_iter()
            .for_each(|items| tree.apply(items)),
        None => tree.apply(&mut value),
    }
    let body = serde_json::to_vec(&value).map_err(ApiError::internal)?;
    resp.headers_mut().remove(header::CONTENT_LENGTH);
    resp.set_body(body);
    Ok(resp)
}

/// Written as JSON, and not a file (a download names itself with
/// `Content-Disposition`, whatever its type).
fn is_json(resp: &Response) -> bool {
    !resp.headers().contains_key(header::CONTENT_DISPOSITION)
        && resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// The list envelope: PocketBase picks the items of a page, and keeps
/// its counts. (Cairn's rule tester adds keys of its own to one.)
fn is_page(o: &Map<String, Value>) -> bool {
    o.get("items").is_some_and(Value::is_array)
        && ["page", "perPage", "totalItems", "totalPages"]
            .iter()
            .all(|k| o.get(*k).is_some_and(Value::is_number))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn answer(status: u16, content_type: &str, body: &str) -> Response {
        Response::builder()
            .status(poem::http::StatusCode::from_u16(status).expect("status"))
            .content_type(content_type)
            .body(body.to_owned())
    }

    async fn applied(resp: Response, fields: &str) -> (u16, String) {
        let requested = FieldsTree::parse(fields).transpose();
        let resp = match apply(resp, requested).await {
            Ok(resp) => resp,
            Err(err) => err.into_response(),
        };
        let status = resp.status().as_u16();
        (status, resp.into_body().into_string().await.expect("body"))
    }

    #[tokio::test]
    async fn picks_json_successes_only() {
        let json = "application/json; charset=utf-8";
        let body = r#"{"a":1,"b":2}"#;
        assert_eq!(
            applied(answer(200, json, body), "a").await,
            (200, r#"{"a":1}"#.into())
        );
        assert_eq!(applied(answer(404, json, body), "a").await, (404, body.into()));
        assert_eq!(applied(answer(401, json, body), "a").await, (401, body.into()));
        assert_eq!(
            applied(answer(200, "text/plain", body), "a").await,
            (200, body.into())
        );
        let mut file = answer(200, json, body);
        file.headers_mut()
            .insert(header::CONTENT_DISPOSITION, "attachment".parse().expect("header"));
        assert_eq!(applied(file, "a").await, (200, body.into()));
        assert_eq!(applied(answer(200, json, ""), "a").await, (200, String::new()));
        // A bad `fields` refuses a success only.
        assert_eq!(applied(answer(200, json, body), "a:excerpt(x)").await.0, 400);
        assert_eq!(
            applied(answer(404, json, body), "a:excerpt(x)").await,
            (404, body.into())
        );
    }

    #[tokio::test]
    async fn an_answer_its_handler_picked_is_not_read_again() {
        // Picking it again would drop `b`.
        let mut picked = answer(200, "application/json", r#"{"a":1,"b":2}"#);
        picked.set_data(Picked);
        assert_eq!(applied(picked, "a").await, (200, r#"{"a":1,"b":2}"#.into()));
    }

    #[test]
    fn a_page_keeps_its_counts() {
        let page = json!({"items": [], "page": 1, "perPage": 2, "totalItems": -1, "totalPages": -1});
        assert!(is_page(page.as_object().expect("object")));
        let not = json!({"items": [], "page": 1});
        assert!(!is_page(not.as_object().expect("object")));
    }
}
