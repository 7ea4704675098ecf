//! `/api/collections/{collection}/records`: record CRUD and lists, as
//! PocketBase serves them. Plain poem handlers rather than poem-openapi
//! operations, because their schemas differ per collection: the OpenAPI
//! document describes them per collection instead.

use std::sync::Arc;

use poem::{
    FromRequest, Request, RequestBody, Response, Result, handler,
    http::StatusCode,
    web::{Data, Path},
};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{body::Fields, guard, path, tags::tagged_routes};
use crate::{
    app::AppState,
    fields_param::FieldsTree,
    files::Upload,
    http::{FirstQuery, error::ApiError, head::SizedHead, middleware::fields},
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

/// What PocketBase 0.40 answers a record body it cannot read (malformed
/// JSON, not an object, a bad `@jsonPayload`): its generic wording, not
/// the "invalid formatting" one its source puts beside the bind.
const UNREADABLE: &str = "Something went wrong while processing your request.";

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

/// `expand` and `fields` parsed, for one answer.
pub(super) struct Shape {
    expand: ExpandTree,
    fields: Option<FieldsTree>,
}

impl ShapeParams {
    /// Both, or the first that does not parse: a batch's request fails
    /// with it, before anything is written.
    pub(super) fn parse(&self) -> Result<Shape, ApiError> {
        Ok(Shape {
            expand: self.expand(),
            fields: FieldsTree::parse(self.fields.as_deref().unwrap_or(""))?,
        })
    }

    /// For a record endpoint's own answer: a `fields` that does not parse
    /// is not applied here but left to the edge (`http::middleware::fields`),
    /// which refuses it only once the answer is a success, as PocketBase
    /// does: a missing record is still a 404, and a write is still made.
    fn for_answer(&self) -> Result<Shape, ApiError> {
        Ok(Shape {
            expand: self.expand(),
            fields: FieldsTree::parse(self.fields.as_deref().unwrap_or(""))
                .ok()
                .flatten(),
        })
    }

    fn expand(&self) -> ExpandTree {
        ExpandTree::parse(self.expand.as_deref().unwrap_or(""))
    }

    /// `record` (just written) expanded and trimmed as asked, answered.
    async fn answer_one(
        &self,
        state: &AppState,
        requester: &Requester,
        c: &Arc<Collection>,
        record: Map<String, Value>,
    ) -> Result<Response> {
        let shape = self.for_answer()?;
        let shaped = shape.one(state, requester, c, record).await?;
        Ok(shape.answer(serde_json::to_vec(&shaped).map_err(ApiError::internal)?))
    }
}

impl Shape {
    /// `record` (just read or written) expanded and trimmed as asked.
    pub(super) async fn one(
        &self,
        state: &AppState,
        requester: &Requester,
        c: &Arc<Collection>,
        record: Map<String, Value>,
    ) -> Result<Value> {
        self.one_with(state, requester, c, record, &self.expand).await
    }

    /// The relations asked for (a batch expands them as each request
    /// runs, `records::batch::Expansion`).
    pub(super) fn expand(&self) -> &ExpandTree {
        &self.expand
    }

    /// `one` with `expand` for the relations to expand (a batch passes
    /// none: it expanded them as each request ran).
    pub(super) async fn one_with(
        &self,
        state: &AppState,
        requester: &Requester,
        c: &Arc<Collection>,
        record: Map<String, Value>,
        expand: &ExpandTree,
    ) -> Result<Value> {
        Ok(answer::one(
            &state.records(),
            requester,
            c,
            record,
            expand,
            self.fields.as_ref(),
        )
        .await
        .map_err(ApiError::from)?)
    }

    /// An answer already serialized as JSON, sent as `Json` sends a value;
    /// marked as picked when `fields` trimmed it, so the edge leaves it be
    /// (records pick while they are written: a list is never read back).
    fn answer(&self, body: Vec<u8>) -> Response {
        let mut resp = Response::builder()
            .content_type("application/json; charset=utf-8")
            .body(body);
        if self.fields.is_some() {
            resp.set_data(fields::Picked);
        }
        resp
    }
}

#[handler]
async fn list(
    req: &Request,
    Path(collection): Path<String>,
    FirstQuery(params): FirstQuery<ListParams>,
    FirstQuery(shape): FirstQuery<ShapeParams>,
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
    let shape = shape.for_answer()?;
    let body = answer::list(
        &state.records(),
        &requester,
        &c,
        query,
        &shape.expand,
        shape.fields.as_ref(),
    )
    .await
    .map_err(ApiError::from)?;
    Ok(shape.answer(body))
}

#[handler]
async fn view(
    req: &Request,
    Path((collection, id)): Path<(String, String)>,
    FirstQuery(shape): FirstQuery<ShapeParams>,
    Data(state): Data<&Arc<AppState>>,
) -> Result<Response> {
    let requester = guard::requester(state, req, None).await?;
    let shape = shape.for_answer()?;
    let c = path::collection(state, &collection)?;
    let id = path::record_id(&id)?;
    let body = answer::view(
        &state.records(),
        &requester,
        &c,
        &id,
        &shape.expand,
        shape.fields.as_ref(),
    )
    .await
    .map_err(ApiError::from)?;
    Ok(shape.answer(body))
}

#[handler]
async fn create(
    req: &Request,
    Path(collection): Path<String>,
    FirstQuery(shape): FirstQuery<ShapeParams>,
    Data(state): Data<&Arc<AppState>>,
    body: RecordBody,
) -> Result<Response> {
    let found = path::find_collection(state, &collection);
    let (body, uploads) = body.for_collection(found.as_deref());
    let requester = guard::requester(state, req, Some(&body)).await?;
    let c = path::found(found)?;
    let record = service::create_with_files(&state.records(), &requester, c.clone(), body, uploads)
        .await
        .map_err(ApiError::from)?;
    shape.answer_one(state, &requester, &c, record).await
}

#[handler]
async fn update(
    req: &Request,
    Path((collection, id)): Path<(String, String)>,
    FirstQuery(shape): FirstQuery<ShapeParams>,
    Data(state): Data<&Arc<AppState>>,
    body: RecordBody,
) -> Result<Response> {
    let found = path::find_collection(state, &collection);
    let (body, uploads) = body.for_collection(found.as_deref());
    let requester = guard::requester(state, req, Some(&body)).await?;
    let c = path::found(found)?;
    let id = path::record_id(&id)?;
    let record = service::update_with_files(&state.records(), &requester, c.clone(), &id, body, uploads)
        .await
        .map_err(ApiError::from)?;
    shape.answer_one(state, &requester, &c, record).await
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

/// HEAD of a list and of a record: the GET's headers with its length
/// (see `http::head`).
#[allow(non_upper_case_globals)]
const list_head: SizedHead<list> = SizedHead(list);
#[allow(non_upper_case_globals)]
const view_head: SizedHead<view> = SizedHead(view);

// The routes and their rate-limit tags (`api::tags`).
tagged_routes! {
    "/api/collections/:collection/records" => {
        GET list => "list",
        HEAD list_head => "list",
        POST create => "create",
    },
    "/api/collections/:collection/records/:id" => {
        GET view => "view",
        HEAD view_head => "view",
        PATCH update => "update",
        DELETE delete => "delete",
    },
}
