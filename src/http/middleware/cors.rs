//! CORS from `--origins`. With the default `*`, any origin may call the API
//! but browsers send no credentials (as PocketBase); with an explicit
//! allowlist the origin is echoed and credentials (cookies) are allowed.
//! Preflights are answered here, before routing, so they work for every
//! path and never reach a handler.

use std::sync::Arc;

use poem::{
    Endpoint, IntoResponse, Request, Response, Result,
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
};

use crate::{config::Origins, http::error::ApiError};

const ALLOW_METHODS: &str = "GET,HEAD,PUT,PATCH,POST,DELETE";
const MAX_AGE_SECS: &str = "86400";
const EXPOSE: &str = "X-Request-Id, ETag, Retry-After";

enum Verdict {
    /// No `Origin` header: not a CORS request.
    NotCors,
    Allowed(HeaderValue),
    Denied,
}

fn judge(origins: &Origins, req: &Request) -> Verdict {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return Verdict::NotCors;
    };
    match origins {
        Origins::Any => Verdict::Allowed(HeaderValue::from_static("*")),
        Origins::List(list) => match origin.to_str() {
            Ok(o) if list.iter().any(|allowed| allowed.eq_ignore_ascii_case(o)) => {
                Verdict::Allowed(origin.clone())
            }
            _ => Verdict::Denied,
        },
    }
}

fn allow_headers(headers: &mut HeaderMap, origins: &Origins, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    if matches!(origins, Origins::List(_)) {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

pub async fn handle<E: Endpoint>(ep: Arc<E>, req: Request, origins: Arc<Origins>) -> Result<Response> {
    let verdict = judge(&origins, &req);
    let preflight =
        req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        return Ok(match verdict {
            Verdict::Allowed(origin) => {
                let mut resp = Response::builder().status(StatusCode::NO_CONTENT).finish();
                let requested = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS).cloned();
                let h = resp.headers_mut();
                allow_headers(h, &origins, origin);
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static(ALLOW_METHODS),
                );
                if let Some(requested) = requested {
                    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested);
                }
                h.insert(
                    header::ACCESS_CONTROL_MAX_AGE,
                    HeaderValue::from_static(MAX_AGE_SECS),
                );
                add_vary(h);
                resp
            }
            _ => ApiError::new(StatusCode::FORBIDDEN, "The request origin is not allowed.").to_response(),
        });
    }
    let mut resp = match ep.call(req).await {
        Ok(resp) => resp.into_response(),
        Err(err) => crate::http::error::envelope_for(err),
    };
    let h = resp.headers_mut();
    if let Verdict::Allowed(origin) = verdict {
        allow_headers(h, &origins, origin);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE),
        );
    }
    if matches!(*origins, Origins::List(_)) {
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    Ok(resp)
}

fn add_vary(h: &mut HeaderMap) {
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    h.append(
        header::VARY,
        HeaderValue::from_static("Access-Control-Request-Method"),
    );
    h.append(
        header::VARY,
        HeaderValue::from_static("Access-Control-Request-Headers"),
    );
}
