//! CORS from `--origins`. With the default `*`, any origin may call the API
//! but browsers send no credentials (as PocketBase); with an explicit
//! allowlist the origin is echoed and credentials (cookies) are allowed.
//! Preflights are answered here, before routing, so they work for every
//! path and never reach a handler.

use poem::{
    Request, Response,
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

/// What CORS decided for one request, before it is served.
pub struct Cors<'a> {
    origins: &'a Origins,
    verdict: Verdict,
}

impl<'a> Cors<'a> {
    pub fn judge(origins: &'a Origins, req: &Request) -> Self {
        Self {
            origins,
            verdict: judge(origins, req),
        }
    }

    /// The answer to a preflight, which is never routed; `None` when `req`
    /// is not one.
    pub fn preflight(&self, req: &Request) -> Option<Response> {
        let preflight = req.method() == Method::OPTIONS
            && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if !preflight {
            return None;
        }
        Some(match &self.verdict {
            Verdict::Allowed(origin) => {
                let mut resp = Response::builder().status(StatusCode::NO_CONTENT).finish();
                let requested = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS).cloned();
                let h = resp.headers_mut();
                allow_headers(h, self.origins, origin.clone());
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
        })
    }

    /// The CORS headers of a served (not preflight) response.
    pub fn apply(self, h: &mut HeaderMap) {
        if let Verdict::Allowed(origin) = self.verdict {
            allow_headers(h, self.origins, origin);
            h.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSE),
            );
        }
        if matches!(self.origins, Origins::List(_)) {
            h.append(header::VARY, HeaderValue::from_static("Origin"));
        }
    }
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
