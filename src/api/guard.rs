//! Who may call what, decided in one place: identify the caller from the
//! request's token, note them for the access log, and refuse early when a
//! route is for superusers only.

use poem::{Request, http::header};
use serde_json::{Map, Value};

use crate::{
    app::AppState,
    http::{client::ClientInfo, error::ApiError},
    identity::Caller,
    keys,
    query::compile::{RequestInfo, RequestValues, RuleContext, header_key},
    records::access::Requester,
    telemetry,
};

/// The caller of `req`; an invalid or expired token makes a guest.
pub async fn identify(state: &AppState, req: &Request) -> Result<Caller, ApiError> {
    // The rate limiter may have identified the caller already.
    let caller = match req.extensions().get::<Caller>() {
        Some(caller) => caller.clone(),
        None => {
            let header = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            match keys::presented(header) {
                // A key that does not work is a 401, not a guest: a script
                // whose key was revoked should hear so, not quietly get
                // whatever guests may see.
                Some(secret) => state
                    .keys
                    .identify(
                        &state.auth_records,
                        &state.schema.catalog(),
                        &state.store.data,
                        secret,
                        ClientInfo::ip_of(req, &state.settings.get().trusted_proxy),
                    )
                    .await
                    .map_err(ApiError::from)?,
                None => state
                    .auth_records
                    .identify(&state.schema, &state.store.data, &state.sessions, header)
                    .await
                    .map_err(ApiError::internal)?,
            }
        }
    };
    if let Caller::Record(record, _) = &caller {
        let key = caller.key().map(|k| k.id.as_str());
        telemetry::note_caller(&record.collection.name, &record.id, key);
    }
    if caller.is_superuser() {
        crate::http::client::superuser_may_call(req, &state.settings.get())?;
    }
    Ok(caller)
}

/// Superusers only: 401 for guests, 403 for any other signed-in record,
/// and 403 for a superuser's API key with scopes (scopes name record
/// actions; nothing else a superuser may do is in them).
/// A superuser caller, as an endpoint's first argument: taken before any
/// other argument, so a route for superusers only reads nothing of a
/// request it refuses. As a line in the handler's body, the guard ran
/// after poem had read and parsed the body: a guest's malformed JSON got a
/// 400 where PocketBase answers 401, and a guest's 4 GiB backup upload was
/// written out to a temporary file before its 401.
pub struct Superuser(pub Caller);

impl<'a> poem::FromRequest<'a> for Superuser {
    async fn from_request(req: &'a Request, _body: &mut poem::RequestBody) -> poem::Result<Self> {
        let state = req.data::<std::sync::Arc<AppState>>().ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!(
                "the application state is not attached to the request"
            ))
        })?;
        Ok(Self(require_superuser(state, req).await?))
    }
}

/// A superuser signed in in person, not through an API key: for what a
/// key must never do (manage keys, mint tokens by impersonation). The key
/// is refused first, so a key of any kind hears why.
pub struct SuperuserInPerson(pub Caller);

impl<'a> poem::FromRequest<'a> for SuperuserInPerson {
    async fn from_request(req: &'a Request, body: &mut poem::RequestBody) -> poem::Result<Self> {
        refuse_api_key(req)?;
        Ok(Self(Superuser::from_request(req, body).await?.0))
    }
}

async fn require_superuser(state: &AppState, req: &Request) -> Result<Caller, ApiError> {
    match identify(state, req).await? {
        Caller::Guest => Err(ApiError::unauthorized(crate::http::error::messages::UNAUTHORIZED)),
        c if c.is_full_superuser() => Ok(c),
        c if c.is_superuser() => Err(ApiError::new(
            poem::http::StatusCode::FORBIDDEN,
            crate::http::error::messages::OUT_OF_SCOPE,
        )),
        _ => Err(ApiError::new(
            poem::http::StatusCode::FORBIDDEN,
            "The authorized record is not allowed to perform this action.",
        )),
    }
}

/// What a request that presents an API key hears where keys have no
/// business: signing in, refreshing, impersonating, sessions, account
/// flows, file tokens and the keys themselves. A key never mints a
/// credential, so it can never become more than it is.
pub const KEY_REFUSED: &str =
    "API keys cannot be used for this action: they cannot sign in, mint tokens or manage keys.";

/// Refuses (403) a request that presents an API key, valid or not,
/// before anything else is read.
pub fn refuse_api_key(req: &Request) -> Result<(), ApiError> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match keys::presented(header) {
        Some(_) => Err(ApiError::new(poem::http::StatusCode::FORBIDDEN, KEY_REFUSED)),
        None => Ok(()),
    }
}

/// The caller and what their request carries, for rules: `@request.auth`,
/// `.method`, `.query`, `.headers` (names lower-cased, `-` as `_`) and
/// `.body`.
pub async fn requester(
    state: &AppState,
    req: &Request,
    body: Option<&Map<String, Value>>,
) -> Result<Requester, ApiError> {
    let caller = identify(state, req).await?;
    Ok(requester_as(caller, req, body))
}

/// The requester `caller` is, with what `req` carries: for an answer made
/// as a caller the request did not present (a sign-in's new record).
pub fn requester_as(caller: Caller, req: &Request, body: Option<&Map<String, Value>>) -> Requester {
    let auth = caller.rule_auth();
    // Copied raw (the header values are shared, not copied) and made into
    // maps only if a rule or filter refers to them.
    let raw_query = req.uri().query().unwrap_or("").to_owned();
    let raw_headers = req.headers().clone();
    let query = RequestValues::new(move || {
        // A name given twice is its first value, as everywhere else.
        crate::http::first_values::<std::collections::BTreeMap<String, String>>(&raw_query)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect()
    });
    let headers = RequestValues::new(move || {
        raw_headers
            .iter()
            .filter_map(|(name, value)| {
                Some((
                    header_key(name.as_str()),
                    Value::String(value.to_str().ok()?.to_owned()),
                ))
            })
            .collect()
    });
    Requester {
        caller,
        info: RequestInfo {
            auth,
            method: req.method().as_str().to_owned(),
            context: RuleContext::Default,
            query,
            headers,
            body: body.cloned().unwrap_or_default(),
        }
        .into(),
    }
}
