//! The edge: every layer a request passes through on its way to the
//! routes and back, in one endpoint so that a request costs one future
//! and one pass over its headers rather than one per layer. The layers,
//! outermost first:
//!
//! security headers → CORS (preflights answered here) → compression →
//! request id → access log → error envelope and panic catcher →
//! clean path (unclean ones redirected) → rate limit → body limit →
//! `fields` → routes.
//!
//! The rate limit sits outside the body limit (unlike the order the
//! foundation issue lists) so a limited client is refused before its body
//! is read. Each layer's decisions live in its module under `middleware/`;
//! this one only owns the order.

use std::{net::IpAddr, panic::AssertUnwindSafe, sync::Arc};

use futures_util::FutureExt;
use poem::{Endpoint, IntoResponse, PathPattern, Request, Response, Result};

use super::{
    client::ClientInfo,
    error::{ApiError, envelope_for},
    middleware::{
        access_log::AccessLog,
        body_limit, clean_path, compression,
        cors::Cors,
        fields,
        rate_limit::{self, RateLimiter},
        request_id,
        security_headers::SecurityHeaders,
    },
};
use crate::{
    api::tags, app::AppState, config::Origins, ops::metrics::method_label, settings::RateLimits, telemetry,
};

/// Wraps `ep` in every layer.
pub fn with_edge<E>(
    ep: E,
    state: Arc<AppState>,
    rate_limiter: RateLimiter,
) -> impl Endpoint<Output = Response> + 'static
where
    E: Endpoint + 'static,
{
    Edge {
        origins: state.config.origins.clone(),
        inner: ep,
        state,
        rate_limiter,
    }
}

struct Edge<E> {
    inner: E,
    state: Arc<AppState>,
    origins: Origins,
    /// The request counts of the rate limit, shared with the batch
    /// handler (see `routes`).
    rate_limiter: RateLimiter,
}

impl<E: Endpoint> Endpoint for Edge<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        let settings = self.state.settings.get();
        let client = ClientInfo::resolve(&req, &settings.trusted_proxy);
        let security = SecurityHeaders::for_request(req.uri().path(), client.https);
        let ip = client.ip;
        req.extensions_mut().insert(client);
        let cors = Cors::judge(&self.origins, &req);
        let mut resp = match cors.preflight(&req) {
            Some(resp) => resp,
            None => {
                let algo = compression::for_request(&req);
                let id = request_id::for_request(&req);
                let access = AccessLog::begin(&req, ip, &settings.logs);
                let metrics = &self.state.metrics;
                let _in_flight = metrics.begin();
                let method = method_label(req.method().as_str());
                // For the route's label when no route answered (a refusal
                // before routing, a 404): a reference count, not a copy.
                let uri = req.uri().clone();
                let started = std::time::Instant::now();
                // Errors and panics become envelopes, and the access line
                // is written, inside the request's scope, so every line
                // they log carries the request id.
                let served = async {
                    // The route that answered names itself on its answer.
                    let route =
                        |pattern: Option<&PathPattern>| tags::route_label(pattern.map(|p| &*p.0), uri.path());
                    let (resp, route) = match AssertUnwindSafe(self.serve(req, ip, &settings.rate_limits))
                        .catch_unwind()
                        .await
                    {
                        Ok(Ok(resp)) => {
                            let route = route(resp.data());
                            (resp, route)
                        }
                        Ok(Err(err)) => {
                            let route = route(err.data());
                            (envelope_for(err), route)
                        }
                        Err(panic) => (panic_response(panic), route(None)),
                    };
                    access.finish(&id, resp.status().as_u16(), &self.state.logs, &settings.logs);
                    metrics.record(route, method, resp.status().as_u16(), started.elapsed());
                    resp
                };
                let mut resp = telemetry::in_request(id.clone(), served).await;
                request_id::echo(resp.headers_mut(), &id);
                let mut resp = compression::apply(resp, algo);
                cors.apply(resp.headers_mut());
                resp
            }
        };
        security.apply(resp.headers_mut());
        Ok(resp)
    }
}

impl<E: Endpoint> Edge<E> {
    /// The layers inside the envelope: those that may refuse a request
    /// before its handler runs.
    async fn serve(&self, mut req: Request, ip: IpAddr, limits: &RateLimits) -> Result<Response> {
        if let Some(redirect) = clean_path::redirect(&req) {
            return Ok(redirect);
        }
        if let Some(refused) =
            rate_limit::check(&mut req, ip, limits, &self.state, &self.rate_limiter).await?
        {
            self.state.metrics.rate_limited();
            return Ok(refused);
        }
        if let Some(refused) = body_limit::buffer(&mut req, &self.state).await? {
            return Ok(refused);
        }
        // Inside the envelope: a `fields` that does not parse becomes
        // an error like any other.
        let requested = fields::requested(&req);
        let resp = self.inner.call(req).await.map(IntoResponse::into_response)?;
        fields::apply(resp, requested).await
    }
}

/// A panic in a handler is a bug: a 500 in the envelope, the panic's
/// message in the log, and the server carries on.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    ApiError::internal(anyhow::anyhow!("handler panicked: {what}")).to_response()
}
