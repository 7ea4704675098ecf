//! `/api/oauth2-redirect`: where an OAuth2 provider sends the browser back
//! in the SDK's all-in-one `authWithOAuth2()` flow. The SDK put its
//! realtime client id in the `state` parameter and subscribed that client
//! to `@oauth2`; this hands `{state, code, error}` to that client and sends
//! the browser to the admin UI's "you can close this window" page. The SDK
//! then finishes with `auth-with-oauth2` itself. Nothing here signs anyone
//! in, so nothing here needs more trust than the realtime client id.

use std::{collections::HashMap, sync::Arc};

use poem::{
    Request, Response, Route, handler,
    http::{Method, StatusCode, header},
    web::Data,
};
use serde_json::{Value, json};

use super::body::Fields;
use crate::{app::AppState, realtime::topic::OAUTH2};

const SUCCESS: &str = "../_/#/auth/oauth2-redirect-success";
const FAILURE: &str = "../_/#/auth/oauth2-redirect-failure";

#[handler]
async fn redirect(req: &Request, body: poem::Result<Fields>, Data(state): Data<&Arc<AppState>>) -> Response {
    // Providers answer with a GET query, or a form POST (`response_mode=form_post`).
    let mut params: HashMap<String, String> = req.params().unwrap_or_default();
    if req.method() == Method::POST
        && let Ok(form) = body
    {
        params.extend(form.values.into_iter().filter_map(|(k, v)| match v {
            Value::String(text) => Some((k, text)),
            _ => None,
        }));
    }
    let get = |key: &str| params.get(key).map(String::as_str).unwrap_or("");
    let (client_id, code, error) = (get("state"), get("code"), get("error"));
    let delivered = !client_id.is_empty()
        && state
            .realtime
            .send_to_client(
                client_id,
                OAUTH2,
                &json!({"state": client_id, "code": code, "error": error}),
            )
            .is_ok();
    let ok = delivered && error.is_empty() && !code.is_empty();
    // 303 makes the browser follow a form POST with a GET.
    let status = if req.method() == Method::POST {
        StatusCode::SEE_OTHER
    } else {
        StatusCode::TEMPORARY_REDIRECT
    };
    Response::builder()
        .status(status)
        .header(header::LOCATION, if ok { SUCCESS } else { FAILURE })
        .finish()
}

/// The redirect route, to be mounted at the root of the route tree.
pub fn routes(route: Route) -> Route {
    route.at("/api/oauth2-redirect", poem::get(redirect).post(redirect))
}
