//! `POST /api/batch`: record creates, updates, upserts and deletes in one
//! transaction, as PocketBase's batch API. The body is JSON
//! `{requests: [{method, url, headers, body}]}`, or (as the SDK sends it)
//! multipart with that JSON in `@jsonPayload` and files as
//! `requests.N.field` (read by `body::Fields`, which takes a URL-encoded
//! form with `@jsonPayload` too). Each request runs with the batch caller's auth and
//! its own rules, validation, `expand` and `fields`, and is counted
//! against the caller's rate limits as if sent alone (a limited one fails
//! the batch, its 429 under `data.requests.N`, as PocketBase answers).
//! Its rules read `@request.context` as "batch" and its own URL's query
//! and headers; its own Authorization header signs no one in. A failure
//! names the first request that fails in order, as if each ran in turn.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use poem::{
    Request, Result, Route, handler,
    http::StatusCode,
    post,
    web::{Data, Json},
};
use serde_json::{Map, Value, json};

use super::{
    body::Fields,
    guard, path,
    records::{Shape, ShapeParams},
};
use crate::{
    app::AppState,
    files::Upload,
    http::{
        client::ClientInfo,
        error::{ApiError, ErrorTree, FieldError},
        middleware::rate_limit,
    },
    query::compile::{RequestInfo, RequestValues, RuleContext, header_key},
    records::{
        RecordId,
        access::Requester,
        batch::{self, BatchError, Expansion, Op},
        delete,
        expand::ExpandTree,
        write::{self, WriteKind},
    },
    schema::Collection,
};

const FAILED: &str = "Batch transaction failed.";

/// One request of a batch, parsed.
struct Sub {
    /// The collection as the URL names it (by id or name).
    collection: String,
    kind: SubKind,
    shape: Shape,
    requester: Requester,
    body: Map<String, Value>,
}

enum SubKind {
    Write(WriteKind),
    Delete(RecordId),
}

#[handler]
async fn run(req: &Request, Data(state): Data<&Arc<AppState>>, body: Result<Fields>) -> Result<Json<Value>> {
    let settings = state.settings.get().batch.clone();
    if !settings.enabled {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "Batch requests are not allowed.").into());
    }
    let deadline = Instant::now() + Duration::from_secs(settings.timeout.max(1));
    let unreadable = || ApiError::bad_request("Failed to read the submitted batch data.");
    let Fields { values, uploads, .. } = body.map_err(|_| unreadable())?;
    let requests = match values.get("requests") {
        Some(Value::Array(items)) if !items.is_empty() => items.clone(),
        None | Some(Value::Null | Value::Array(_)) => {
            return Err(invalid_batch(FieldError::required()).into());
        }
        // Form text, say: a list of requests only comes as JSON.
        Some(_) => return Err(unreadable().into()),
    };
    let max = settings.max_requests as usize;
    if requests.len() > max {
        return Err(invalid_batch(
            FieldError::new(
                "validation_length_too_long",
                format!("The length must be no more than {max}."),
            )
            .with_params(json!({"max": max, "min": 0})),
        )
        .into());
    }
    check_requests(&requests)?;
    let base = guard::requester(state, req, None).await?;
    let limits = req
        .extensions()
        .get::<ClientInfo>()
        .zip(req.data::<rate_limit::RateLimiter>())
        .and_then(|(client, limiter)| rate_limit::Inner::for_caller(state, limiter, client.ip, &base.caller));
    let mut seen = HashMap::new();
    let mut files = files_by_request(uploads, requests.len());
    let mut ops = Vec::with_capacity(requests.len());
    let mut subs = Vec::with_capacity(requests.len());
    for (index, raw) in requests.into_iter().enumerate() {
        let prepared = async {
            let sub = parse_sub(&base, raw)?;
            let found = path::find_collection(state, &sub.collection);
            if let Some(limits) = &limits {
                let (method, path) = as_sent(state, &sub, found.as_ref(), &mut seen).await?;
                limits.check(method, &path)?;
            }
            if Instant::now() > deadline {
                return Err(timeout(settings.timeout));
            }
            let c = path::found(found)?;
            let uploads = std::mem::take(&mut files[index]);
            let op = match &sub.kind {
                SubKind::Write(kind) => Op::Write(Box::new(
                    write::prepare(
                        &state.records(),
                        &sub.requester,
                        c.clone(),
                        kind.clone(),
                        {
                            let mut body = sub.body.clone();
                            crate::records::values::decode_json_text(&c, &mut body);
                            body
                        },
                        uploads,
                    )
                    .await?,
                )),
                SubKind::Delete(id) => {
                    Op::Delete(delete::prepare(&state.records(), &sub.requester, c.clone(), id)?)
                }
            };
            Ok::<_, ApiError>(((sub, c), op))
        }
        .await;
        match prepared {
            Ok((sub, op)) => {
                subs.push(sub);
                ops.push(op);
            }
            Err(err) => {
                // The requests before this one may fail first, as they
                // would have run first (`batch::rehearse`).
                return Err(match batch::rehearse(&state.records(), ops, deadline).await {
                    Ok(()) => failed_at(index, err),
                    Err(earlier) => failure(earlier, settings.timeout),
                }
                .into());
            }
        }
    }
    let expansions = subs
        .iter()
        .map(|(sub, _)| {
            let tree = sub.shape.expand();
            (!tree.is_empty()).then(|| Expansion {
                requester: sub.requester.clone(),
                tree: tree.clone(),
            })
        })
        .collect();
    let outcomes = batch::run(&state.records(), ops, expansions, deadline)
        .await
        .map_err(|err| failure(err, settings.timeout))?;
    let mut out = Vec::with_capacity(outcomes.len());
    for ((sub, c), outcome) in subs.iter().zip(outcomes) {
        out.push(match outcome {
            Some(record) => {
                let expanded = ExpandTree::default();
                let body = sub
                    .shape
                    .one_with(state, &sub.requester, c, record, &expanded)
                    .await?;
                json!({"status": 200, "body": body})
            }
            None => json!({"status": 204, "body": null}),
        });
    }
    Ok(Json(Value::Array(out)))
}

/// The methods a batch request may name, in PocketBase's spelling: a
/// lower-case `post` is refused as it is there, not run as a POST.
const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Checks every request's form before any is run, as PocketBase does: a
/// request that is not `{method, url, headers, body}` with those types
/// makes the whole body unreadable; a missing method or URL, or a method
/// not in `METHODS`, is a field error under `requests.N`, all of them at
/// once. Which routes may be batched is decided later, request by request.
fn check_requests(requests: &[Value]) -> Result<(), ApiError> {
    let unreadable = || ApiError::bad_request("Failed to read the submitted batch data.");
    fn text(v: Option<&Value>) -> Option<&str> {
        match v {
            None | Some(Value::Null) => Some(""),
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => None,
        }
    }
    let mut errors = ErrorTree::new();
    for (index, raw) in requests.iter().enumerate() {
        let empty = Map::new();
        let raw = match raw {
            Value::Object(raw) => raw,
            Value::Null => &empty,
            _ => return Err(unreadable()),
        };
        let headers_ok = match raw.get("headers") {
            None | Some(Value::Null) => true,
            Some(Value::Object(h)) => h.values().all(|v| v.is_string() || v.is_null()),
            Some(_) => false,
        };
        let body_ok = matches!(raw.get("body"), None | Some(Value::Null | Value::Object(_)));
        let (Some(method), Some(url), true, true) =
            (text(raw.get("method")), text(raw.get("url")), headers_ok, body_ok)
        else {
            return Err(unreadable());
        };
        let n = index.to_string();
        if method.is_empty() {
            errors.add(&["requests", &n, "method"], FieldError::required());
        } else if !METHODS.contains(&method) {
            errors.add(&["requests", &n, "method"], FieldError::not_allowed_value());
        }
        if url.is_empty() {
            errors.add(&["requests", &n, "url"], FieldError::required());
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation_with("Invalid batch request data.", errors))
    }
}

/// The batch's error for a failure while its requests run.
fn failure(err: BatchError, timeout_seconds: u64) -> ApiError {
    match err {
        BatchError::Request { index, error } => failed_at(index, error.into()),
        BatchError::Timeout => timeout(timeout_seconds),
        BatchError::Store(err) => ApiError::internal(err),
    }
}

fn invalid_batch(error: FieldError) -> ApiError {
    let mut errors = ErrorTree::new();
    errors.add(&["requests"], error);
    ApiError::validation_with("Invalid batch request data.", errors)
}

fn timeout(seconds: u64) -> ApiError {
    ApiError::bad_request(format!("{FAILED} It took longer than the {seconds} s allowed."))
}

/// The batch's error: which request failed, and its own error in full.
fn failed_at(index: usize, err: ApiError) -> ApiError {
    if err.status().is_server_error() {
        // Logged here with its cause; the client sees the fixed message.
        let _ = err.to_response();
    }
    let response = json!({
        "status": err.status().as_u16(),
        "message": err.message(),
        "data": err.data(),
    });
    let mut requests = Map::new();
    requests.insert(
        index.to_string(),
        json!({"code": "batch_request_failed", "message": "Batch request failed.", "response": response}),
    );
    let mut data = Map::new();
    data.insert("requests".into(), Value::Object(requests));
    ApiError::bad_request(FAILED).with_data(data)
}

/// Splits `requests.N.field` uploads by request. `N` is the request's
/// index as written (`requests.00.doc` names none, as in PocketBase).
fn files_by_request(uploads: Vec<Upload>, count: usize) -> Vec<Vec<Upload>> {
    let mut out: Vec<Vec<Upload>> = (0..count).map(|_| Vec::new()).collect();
    for mut upload in uploads {
        let Some((index, key)) = upload
            .key
            .strip_prefix("requests.")
            .and_then(|rest| rest.split_once('.'))
            .and_then(|(n, key)| {
                let index = n.parse::<usize>().ok().filter(|i| i.to_string() == n)?;
                Some((index, key.to_owned()))
            })
        else {
            continue;
        };
        if let Some(slot) = out.get_mut(index) {
            upload.key = key;
            slot.push(upload);
        }
    }
    out
}

fn unsupported() -> ApiError {
    ApiError::bad_request("Only record create, update, upsert and delete requests can be batched.")
}

/// Reads one `{method, url, headers, body}` into what it asks for.
fn parse_sub(base: &Requester, raw: Value) -> Result<Sub, ApiError> {
    let Value::Object(mut raw) = raw else {
        return Err(unsupported());
    };
    let method = raw.get("method").and_then(Value::as_str).unwrap_or("").to_owned();
    let url = raw.get("url").and_then(Value::as_str).unwrap_or("").to_owned();
    let body = match raw.remove("body") {
        Some(Value::Object(map)) => map,
        None | Some(Value::Null) => Map::new(),
        Some(_) => {
            return Err(ApiError::bad_request(
                crate::http::error::messages::UNREADABLE_DATA,
            ));
        }
    };
    let (path, query_text) = url.split_once('?').unwrap_or((&url, ""));
    // A fragment is no part of the query, as a URL parser reads it
    // (`?ok=1#x` sends ok=1); in the path it leaves no record route.
    let query_text = query_text.split('#').next().unwrap_or_default();
    let segments: Vec<String> = path
        .strip_prefix("/api/collections/")
        .ok_or_else(unsupported)?
        .split('/')
        .map(percent_decode)
        .collect();
    // An empty id (`records/`) is no route of a record, as the router
    // would take it sent alone.
    let id = |raw: &str| RecordId::parse(raw).ok_or_else(unsupported);
    let (collection, kind) = match (method.as_str(), segments.as_slice()) {
        ("POST", [c, r]) if r == "records" => (c.clone(), SubKind::Write(WriteKind::Create)),
        ("PUT", [c, r]) if r == "records" => (c.clone(), SubKind::Write(WriteKind::Upsert)),
        ("PATCH", [c, r, raw]) if r == "records" => (c.clone(), SubKind::Write(WriteKind::Update(id(raw)?))),
        ("DELETE", [c, r, raw]) if r == "records" => (c.clone(), SubKind::Delete(id(raw)?)),
        _ => return Err(unsupported()),
    };
    // A name given twice is its first value, as in a request sent alone
    // (`http::query`).
    let mut query: Map<String, Value> = Map::new();
    for p in query_text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        query
            .entry(percent_decode(k))
            .or_insert_with(|| Value::String(percent_decode(v)));
    }
    let mut headers = Map::clone(base.info.headers.get());
    if let Some(Value::Object(extra)) = raw.get("headers") {
        for (k, v) in extra {
            // The batch's own Authorization decides who the caller is.
            let key = header_key(k);
            if key != "authorization" {
                headers.insert(key, Value::String(v.as_str().unwrap_or("").to_owned()));
            }
        }
    }
    // Parsed here, so a request whose `expand` or `fields` does not parse
    // fails the batch before anything is written (as in PocketBase).
    let shape = ShapeParams {
        expand: query.get("expand").and_then(Value::as_str).map(str::to_owned),
        fields: query.get("fields").and_then(Value::as_str).map(str::to_owned),
    }
    .parse()?;
    let requester = Requester {
        caller: base.caller.clone(),
        info: RequestInfo {
            auth: base.info.auth.clone(),
            method,
            context: RuleContext::Batch,
            query: RequestValues::ready(query.into()),
            headers: RequestValues::ready(headers.into()),
            body: body.clone(),
        }
        .into(),
    };
    Ok(Sub {
        collection,
        kind,
        shape,
        requester,
        body,
    })
}

/// What a path segment keeps unencoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'-')
    .remove(b'.')
    .remove(b'~');

/// `sub` as the router would take it sent alone, for the rate limits: its
/// method and path. An upsert is the create or the update it turns into
/// (as PocketBase counts it), by whether the record is stored now or was
/// written or deleted by an earlier request of this batch (`seen`, by
/// collection and record id). Built from what the batch will run, so no
/// spelling of the URL the batch accepts escapes a rule.
async fn as_sent(
    state: &AppState,
    sub: &Sub,
    collection: Option<&Arc<Collection>>,
    seen: &mut HashMap<(String, String), bool>,
) -> Result<(&'static str, String), ApiError> {
    let records = format!(
        "/api/collections/{}/records",
        utf8_percent_encode(&sub.collection, SEGMENT)
    );
    let one = |id: &str| format!("{records}/{}", utf8_percent_encode(id, SEGMENT));
    let key = |id: &str| collection.map(|c| (c.id.clone(), id.to_owned()));
    // Read as the write reads it (`write::prepare`).
    let given = sub
        .body
        .get("id")
        .map(crate::schema::field::as_text)
        .filter(|id| !id.is_empty());
    let given = given.as_deref();
    Ok(match &sub.kind {
        SubKind::Write(WriteKind::Update(id)) => ("PATCH", one(id.as_str())),
        SubKind::Delete(id) => {
            if let Some(key) = key(id.as_str()) {
                seen.insert(key, false);
            }
            ("DELETE", one(id.as_str()))
        }
        SubKind::Write(kind) => {
            let Some(id) = given else {
                return Ok(("POST", records));
            };
            let stored = match (kind, key(id), collection) {
                (WriteKind::Upsert, Some(key), Some(c)) => match seen.get(&key) {
                    Some(stored) => *stored,
                    None => batch::stored(&state.records(), c.clone(), id.to_owned())
                        .await
                        .map_err(ApiError::internal)?,
                },
                _ => false,
            };
            if let Some(key) = key(id) {
                seen.insert(key, true);
            }
            if stored {
                ("PATCH", one(id))
            } else {
                ("POST", records)
            }
        }
    })
}

/// `%XX` and `+` decoding for URL paths and queries.
fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The batch route, to be mounted at the root of the route tree.
/// `limiter` is the edge's (its clones share the counts), for the inner
/// requests' rate limits.
pub fn routes(route: Route, limiter: rate_limit::RateLimiter) -> Route {
    route.at("/api/batch", post(poem::EndpointExt::data(run, limiter)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_urls() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%C3%BC"), "ü");
        assert_eq!(percent_decode("%ü%"), "%ü%");
    }
}
