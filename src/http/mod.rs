//! The HTTP server's assembly: the route tree and the layers around it.
//! `with_edge` owns the order of the layers; `routes` owns what is served
//! where; `server` binds and runs it.

pub mod admin_ui;
pub mod client;
mod connections;
mod edge;
pub mod error;
pub mod file_response;
pub mod head;
pub mod metrics;
pub mod middleware;
pub mod openapi;
mod public;
mod query;
pub mod server;
mod targets;

use std::sync::Arc;

use poem::{
    Endpoint, EndpointExt, Request, Response, Route,
    endpoint::{make, make_sync},
    get, handler,
    web::{Path, Redirect},
};

use self::openapi::Docs;
pub use self::{
    edge::with_edge,
    query::{FirstQuery, first_values, query_param},
};
use crate::{api, app::AppState};

#[handler]
fn admin(req: &Request, path: Option<Path<String>>) -> Response {
    // Logged only when it fails, as PocketBase logs its dashboard's files.
    crate::telemetry::log_only_failure();
    admin_ui::serve(req, path.as_ref().map_or("", |p| p.0.as_str()))
}

#[handler]
fn admin_root() -> Redirect {
    Redirect::moved_permanent("/_/")
}

/// Everything Cairn serves, inside its layers.
pub fn routes(state: Arc<AppState>) -> impl Endpoint<Output = Response> + 'static {
    let service = api::service(state.clone());
    let docs = Docs::new(&service);
    let rate_limiter = middleware::rate_limit::RateLimiter::default();
    // The two document endpoints hold what they serve, rather than every
    // request carrying it as data (a layer and an extension per request).
    // The document depends on whether the caller is a superuser.
    let openapi_json = make({
        let (docs, state) = (docs.clone(), state.clone());
        move |req: Request| {
            let (docs, state) = (docs.clone(), state.clone());
            async move {
                let caller = api::guard::identify(&state, &req).await?;
                Ok::<_, error::ApiError>(docs.json_response(&state.schema.catalog(), caller.is_superuser()))
            }
        }
    });
    let docs_page = make_sync(move |_| docs.page_response());
    // The plain-poem routes (their schemas are per collection, or they are
    // not JSON operations), then the described API under /api.
    let mounts: [fn(Route) -> Route; 4] = [
        api::records::routes,
        api::files::routes,
        api::realtime::routes,
        api::oauth2_redirect::routes,
    ];
    let app = mounts.into_iter().fold(Route::new(), |route, mount| mount(route));
    // A batch counts its inner requests in the edge's buckets: only its
    // route carries the limiter, so no other request pays for the data.
    let app = api::batch::routes(app, rate_limiter.clone())
        .nest("/api", service)
        .at("/api/openapi.json", get(openapi_json))
        .at("/api/docs", get(docs_page))
        .at("/_", admin_root)
        .at("/_/", admin)
        .at("/_/*path", admin)
        .at("/", public::serve)
        .at("/*path", public::serve)
        .data(state.clone());
    with_edge(app, state, rate_limiter)
}

#[cfg(test)]
mod tests {
    use poem::{handler, test::TestClient};

    use super::*;
    use crate::{App, Config};

    #[handler]
    fn explode() -> &'static str {
        panic!("boom at /secret/path")
    }

    #[tokio::test]
    async fn a_panicking_handler_becomes_a_500_envelope() {
        let dir = tempfile::tempdir().expect("tempdir");
        let app = App::build(Config::for_dir(dir.path())).await.expect("app");
        let ep = with_edge(
            Route::new().at("/api/explode", explode),
            app.state().clone(),
            middleware::rate_limit::RateLimiter::default(),
        );
        let resp = TestClient::new(ep).get("/api/explode").send().await;
        resp.assert_status(poem::http::StatusCode::INTERNAL_SERVER_ERROR);
        resp.assert_header_exist("x-request-id");
        resp.assert_header("x-content-type-options", "nosniff");
        let body = resp.0.into_body().into_string().await.expect("body");
        let json: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(json["status"], 500);
        assert_eq!(json["message"], error::messages::INTERNAL);
        assert!(!body.contains("boom") && !body.contains("secret"), "{body}");
    }
}
