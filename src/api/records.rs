//! `/api/collections/{collection}/records`: record CRUD and lists, as
//! PocketBase serves them. Plain poem handlers rather than poem-openapi
//! operations, because their schemas differ per collection: the OpenAPI
//! document describes them per collection instead.

use std::sync::Arc;

use poem::{
    FromRequest, Request, RequestBody, Response, Result, handler,
    http::StatusCode,
    web::{Data, Json, Path, Query},
};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{body::Fields, guard, path, tags::tagged_routes};
use crate::{
    app::AppState,
    fields_param::FieldsTree,
    files::Upload,
    http::error::ApiError,
    query::{Paging, parse_sort},
    records::{
        access::{Filter, Requester},
        answer, delete as deleting,
        expand::ExpandTree,
        list::{self as listing, ListQuery},
        service,
    },
    schema::Collection,
};

const UNREADABLE: &str = crate::http::error::messages::UNREADABLE_DATA;

/// A record body in any of the encodings `body::Fields` reads; file parts
/// of a form are the uploads.
pub struct RecordBody(pub Fields);

impl RecordBody {
    /// The values, with text decoded for the JSON fields of `c` (if the
    /// path names a collection).
    pub fn for_collection(self, c: Option<&Collection>) -> (Map<String, Value>, Vec<Upload>) {
        let Fields {
            mut values, uploads, ..
        } = self.0;
        if let Some(c) = c {
            crate::records::values::decode_json_text(c, &mut values);
        }
        (values, uploads)
    }
}

impl<'a> FromRequest<'a> for RecordBody {
    async fn from_request(req: &'a Request, body: &mut RequestBody) -> Result<Self> {
        Fields::read(req, body)
            .await
            .map(Self)
            .map_err(|e| e.worded(UNREADABLE))
    }
}

#[derive(Deserialize)]
struct ListParams {
    page: Option<String>,
    #[serde(rename = "perPage")]
    per_page: Option<String>,
    sort: Option<String>,
    filter: Option<String>,
    #[serde(rename = "skipTotal")]
    skip_total: Option<String>,
}

/// `expand` and `fields`, which every record response honours.
#[derive(Deserialize)]
pub(super) struct ShapeParams {
    pub expand: Option<String>,
    pub fields: Option<String>,
}

impl ShapeParams {
    pub(super) fn parse(&self) -> Result<(ExpandTree, Option<FieldsTree>)> {
        Ok((
            ExpandTree::parse(self.expand.as_deref().unwrap_or("")).map_err(ApiError::from)?,
            FieldsTree::parse(self.fields.as_deref().unwrap_or("")).map_err(ApiError::from)?,
        ))
    }

    /// `record` (just read or written) expanded and trimmed as asked.
    pub(super) async fn one(
        &self,
        state: &AppState,
        requester: &Requester,
        c: &Arc<Collection>,
        record: Map<String, Value>,
    ) -> Result<Json<Value>> {
        let (expand, fields) = self.parse()?;
        let shaped = answer::one(&state.records(), requester, c, record, &expand, fields.as_ref())
            .await
            .map_err(ApiError::from)?;
        Ok(Json(shaped))
    }
}

#[handler]
async fn list(
    req: &Request,
    Path(collection): Path<String>,
    Query(params): Query<ListParams>,
    Query(shape): Query<ShapeParams>,
    Data(state): Data<&Arc<AppState>>,
) -> Result<Response> {
    let requester = guard::requester(state, req, None).await?;
    let c = path::collection(state, &collection)?;
    let paging = Paging::parse(
        params.page.as_deref(),
        params.per_page.as_deref(),
        params.skip_total.as_deref(),
    )
    .map_err(ApiError::from)?;
    let sort = parse_sort(params.sort.as_deref(), |k| listing::sortable(&c, k)).map_err(ApiError::from)?;
    let query = ListQuery {
        paging,
        sort,
        filter: params.filter.as_deref().and_then(Filter::parse),
    };
    let (expand, fields) = shape.parse()?;
    let body = answer::list(&state.records(), &requester, &c, query, &expand, fields.as_ref())
        .await
        .map_err(ApiError::from)?;
    Ok(json_response(body))
}

/// An answer already serialized as JSON, sent as `Json` sends a value.
fn json_response(body: Vec<u8>) -> Response {
    Response::builder()
        .content_type("application/json; charset=utf-8")
        .body(body)
}

#[handler]
async fn view(
    req: &Request,
    Path((collection, id)): Path<(String, String)>,
    Query(shape): Query<ShapeParams>,
    Data(state): Data<&Arc<AppState>>,
) -> Result<Response> {
    let requester = guard::requester(state, req, None).await?;
    let (expand, fields) = shape.parse()?;
    let c = path::collection(state, &collection)?;
    let id = path::record_id(&id)?;
    let body = answer::view(&state.records(), &requester, &c, &id, &expand, fields.as_ref())
        .await
        .map_err(ApiError::from)?;
    Ok(json_response(body))
}

#[handler]
async fn create(
    req: &Request,
    Path(collection): Path<String>,
    Query(shape): Query<ShapeParams>,
    Data(state): Data<&Arc<AppState>>,
    body: RecordBody,
) -> Result<Json<Value>> {
    let found = path::find_collection(state, &collection);
    let (body, uploads) = body.for_collection(found.as_deref());
    let requester = guard::requester(state, req, Some(&body)).await?;
    let c = path::found(found)?;
    let record = service::create_with_files(&state.records(), &requester, c.clone(), body, uploads)
        .await
        .map_err(ApiError::from)?;
    shape.one(state, &requester, &c, record).await
}

#[handler]
async fn update(
    req: &Request,
    Path((collection, id)): Path<(String, String)>,
    Query(shape): Query<ShapeParams>,
    Data(state): Data<&Arc<AppState>>,
    body: RecordBody,
) -> Result<Json<Value>> {
    let found = path::find_collection(state, &collection);
    let (body, uploads) = body.for_collection(found.as_deref());
    let requester = guard::requester(state, req, Some(&body)).await?;
    let c = path::found(found)?;
    let id = path::record_id(&id)?;
    let record = service::update_with_files(&state.records(), &requester, c.clone(), &id, body, uploads)
        .await
        .map_err(ApiError::from)?;
    shape.one(state, &requester, &c, record).await
}

#[handler]
async fn delete(
    req: &Request,
    Path((collection, id)): Path<(String, String)>,
    Data(state): Data<&Arc<AppState>>,
) -> Result<StatusCode> {
    let requester = guard::requester(state, req, None).await?;
    let c = path::collection(state, &collection)?;
    deleting::delete(&state.records(), &requester, c, &path::record_id(&id)?)
        .await
        .map_err(ApiError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

// The routes and their rate-limit tags (`api::tags`).
tagged_routes! {
    "/api/collections/:collection/records" => { GET list => "list", POST create => "create" },
    "/api/collections/:collection/records/:id" => {
        GET view => "view",
        PATCH update => "update",
        DELETE delete => "delete",
    },
}
