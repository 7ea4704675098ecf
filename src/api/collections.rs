//! `/api/collections`: collection definitions, for superusers only.

use std::{cmp::Ordering, sync::Arc};

use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use serde_json::{Value, json};

use super::{ApiTags, body::Body, guard::Superuser, path};
use crate::{
    app::AppState,
    http::error::ApiError,
    query::{Paging, parse_filter, parse_sort},
    records::{delete, preview},
    schema::Collection,
    validation::{ErrorTree, FieldError},
};

/// The keys the list sorts by, as PocketBase's: the attributes, and
/// `@random` and `@rowid` (the order collections were stored in).
const SORTABLE: &[&str] = &[
    "id", "name", "type", "system", "created", "updated", "@random", "@rowid",
];

#[derive(ApiResponse)]
pub enum Done {
    /// Done; nothing to return.
    #[oai(status = 204)]
    NoContent,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct ImportBody {
    /// Collection definitions, as `GET /api/collections` returns them.
    #[oai(default)]
    collections: Vec<Value>,
    /// Also delete the non-system collections that are not listed.
    #[oai(default)]
    delete_missing: bool,
}

#[derive(Object)]
pub struct DryRunViewBody {
    /// The view's `SELECT`, as `viewQuery` would hold it.
    #[oai(default)]
    query: String,
}

/// The last segment of the import route, which is also a name a
/// collection may take.
const IMPORT: &str = "import";

pub struct CollectionsApi {
    state: Arc<AppState>,
}

impl CollectionsApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

/// A collection as the list sorts it: where it is in the catalog (which
/// is in the order collections were stored) and a draw for `@random`.
struct Listed<'a> {
    position: usize,
    draw: u64,
    collection: &'a Arc<Collection>,
}

fn compare(a: &Listed, b: &Listed, field: &str) -> Ordering {
    let (x, y) = (a.collection, b.collection);
    match field {
        "@rowid" => a.position.cmp(&b.position),
        "@random" => a.draw.cmp(&b.draw),
        _ => compare_attribute(x, y, field),
    }
}

fn compare_attribute(a: &Collection, b: &Collection, field: &str) -> Ordering {
    match field {
        "id" => a.id.cmp(&b.id),
        "name" => a.name.cmp(&b.name),
        "type" => a.kind.as_str().cmp(b.kind.as_str()),
        "system" => a.system.cmp(&b.system),
        "created" => a.created.cmp(&b.created),
        _ => a.updated.cmp(&b.updated),
    }
}

#[OpenApi(tag = "ApiTags::Collections")]
impl CollectionsApi {
    /// List collections (paged, sortable).
    #[oai(path = "/collections", method = "get")]
    async fn list(
        &self,
        _superuser: Superuser,
        page: Query<Option<String>>,
        #[oai(name = "perPage")] per_page: Query<Option<String>>,
        sort: Query<Option<String>>,
        filter: Query<Option<String>>,
        #[oai(name = "skipTotal")] skip_total: Query<Option<String>>,
    ) -> poem::Result<Json<Value>> {
        let paging = Paging::parse(page.0.as_deref(), per_page.0.as_deref(), skip_total.0.as_deref())
            .map_err(ApiError::from)?;
        let keys = parse_sort(sort.0.as_deref(), |f| SORTABLE.contains(&f)).map_err(ApiError::from)?;
        let only = match parse_filter(filter.0.as_deref()).map_err(ApiError::from)? {
            Some(f) => Some(
                crate::query::collections::filter_ids(&self.state.store.data, &f)
                    .await
                    .map_err(ApiError::from)?,
            ),
            None => None,
        };
        let catalog = self.state.schema.catalog();
        let mut all: Vec<Listed> = catalog
            .all()
            .enumerate()
            .filter(|(_, c)| only.as_ref().is_none_or(|ids| ids.contains(&c.id)))
            .map(|(position, collection)| Listed {
                position,
                draw: rand::random(),
                collection,
            })
            .collect();
        all.sort_by(|a, b| {
            keys.iter()
                .map(|k| {
                    let o = compare(a, b, &k.field);
                    if k.descending { o.reverse() } else { o }
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        let total = all.len() as u64;
        let items = all
            .into_iter()
            .skip(paging.offset() as usize)
            .take(paging.per_page as usize)
            .map(|c| c.collection.to_json())
            .collect();
        Ok(Json(paging.envelope(Some(total), items)))
    }

    /// Create a collection; its table is created in the same transaction.
    #[oai(path = "/collections", method = "post")]
    async fn create(&self, _superuser: Superuser, body: Body<Value>) -> poem::Result<Json<Value>> {
        let created = self
            .state
            .schema
            .create(&self.state.store.data, body.into_object())
            .await
            .map_err(ApiError::from)?;
        Ok(Json(created.to_json()))
    }

    /// Replace collections from a list of definitions, all or nothing.
    #[oai(path = "/collections/import", method = "put")]
    async fn import(&self, _superuser: Superuser, body: Body<ImportBody>) -> poem::Result<Done> {
        let body = body.0;
        let deleted = self
            .state
            .schema
            .import(&self.state.store.data, body.collections, body.delete_missing)
            .await
            .map_err(ApiError::from)?;
        for id in deleted {
            self.records_gone(Some(id)).await;
        }
        Ok(Done::NoContent)
    }

    // A collection may be named `import`: the route above would answer
    // its other methods with a 405 (Cairn did, so such a collection could
    // be made but not read, changed or deleted); these hand them to the
    // routes of every other collection, as PocketBase routes them.

    #[oai(path = "/collections/import", method = "get", hidden)]
    async fn view_import(&self, superuser: Superuser) -> poem::Result<Json<Value>> {
        self.view(superuser, Path(IMPORT.to_owned())).await
    }

    #[oai(path = "/collections/import", method = "patch", hidden)]
    async fn update_import(&self, superuser: Superuser, body: Body<Value>) -> poem::Result<Json<Value>> {
        self.update(superuser, Path(IMPORT.to_owned()), body).await
    }

    #[oai(path = "/collections/import", method = "delete", hidden)]
    async fn delete_import(&self, superuser: Superuser) -> poem::Result<Done> {
        self.delete(superuser, Path(IMPORT.to_owned())).await
    }

    /// Try a view query without saving it.
    ///
    /// The fields the view would have and its first 10 rows, shaped as its
    /// records (hidden fields left out). The query is run read-only. As
    /// PocketBase 0.40's `collections.dryRunViewQuery`.
    #[oai(path = "/collections/meta/dry-run-view", method = "post")]
    async fn dry_run_view(
        &self,
        _superuser: Superuser,
        body: Body<DryRunViewBody>,
    ) -> poem::Result<Json<Value>> {
        let query = body.0.query;
        if query.trim().trim_end_matches(';').trim().is_empty() {
            let mut errors = ErrorTree::new();
            errors.add(&["query"], FieldError::required());
            return Err(ApiError::validation(errors).into());
        }
        let (draft, sample) =
            preview::view_sample(&self.state.store.data, self.state.schema.catalog(), query)
                .await
                .map_err(ApiError::from)?;
        let fields = draft.to_json()["fields"].take();
        Ok(Json(json!({ "fields": fields, "sample": sample })))
    }

    /// A new collection of each kind, as a client starts one.
    ///
    /// `{"base": …, "auth": …, "view": …}`: nameless collections with
    /// their system fields and default options, as PocketBase 0.40's
    /// `collections.getScaffolds()` reads them. Superusers only.
    #[oai(path = "/collections/meta/scaffolds", method = "get")]
    async fn scaffolds(&self, _superuser: Superuser) -> poem::Result<Json<Value>> {
        Ok(Json(Value::Object(crate::schema::defaults::scaffolds())))
    }

    /// Check a new collection without creating it (Cairn's own).
    ///
    /// 204 when `POST /api/collections` with this body would succeed, else
    /// the 400 it would answer (a rule's parse error under `data.listRule`,
    /// …). Nothing is kept.
    #[oai(path = "/collections/meta/dry-run", method = "post")]
    async fn dry_run_create(&self, _superuser: Superuser, body: Body<Value>) -> poem::Result<Done> {
        self.dry_run(None, body).await
    }

    /// Check a change to a collection without making it (Cairn's own).
    ///
    /// 204 when `PATCH /api/collections/{collection}` with this body would
    /// succeed, else the error it would answer. Nothing is kept.
    #[oai(path = "/collections/:collection/dry-run", method = "post")]
    async fn dry_run_update(
        &self,
        _superuser: Superuser,
        collection: Path<String>,
        body: Body<Value>,
    ) -> poem::Result<Done> {
        self.dry_run(Some(collection.0), body).await
    }

    /// One collection, by id or name.
    #[oai(path = "/collections/:collection", method = "get")]
    async fn view(&self, _superuser: Superuser, collection: Path<String>) -> poem::Result<Json<Value>> {
        let found = path::find_collection(&self.state, &collection.0).ok_or_else(ApiError::not_found)?;
        Ok(Json(found.to_json()))
    }

    /// Change a collection: name, fields (matched by id), rules, indexes.
    #[oai(path = "/collections/:collection", method = "patch")]
    async fn update(
        &self,
        _superuser: Superuser,
        collection: Path<String>,
        body: Body<Value>,
    ) -> poem::Result<Json<Value>> {
        let updated = self
            .state
            .schema
            .update(&self.state.store.data, collection.0, body.into_object())
            .await
            .map_err(ApiError::from)?;
        Ok(Json(updated.to_json()))
    }

    /// Delete a collection and its records.
    #[oai(path = "/collections/:collection", method = "delete")]
    async fn delete(&self, _superuser: Superuser, collection: Path<String>) -> poem::Result<Done> {
        let id = self.collection_id(&collection.0);
        self.state
            .schema
            .delete(&self.state.store.data, collection.0)
            .await
            .map_err(ApiError::from)?;
        self.records_gone(id).await;
        Ok(Done::NoContent)
    }

    /// Delete every record of a collection, keeping its definition.
    #[oai(path = "/collections/:collection/truncate", method = "delete")]
    async fn truncate(&self, _superuser: Superuser, collection: Path<String>) -> poem::Result<Done> {
        let id = self.collection_id(&collection.0);
        delete::truncate(&self.state.records(), collection.0)
            .await
            .map_err(ApiError::from)?;
        self.records_gone(id).await;
        Ok(Done::NoContent)
    }
}

impl CollectionsApi {
    async fn dry_run(&self, existing: Option<String>, body: Body<Value>) -> poem::Result<Done> {
        self.state
            .schema
            .dry_run(&self.state.store.data, existing, body.into_object())
            .await
            .map_err(ApiError::from)?;
        Ok(Done::NoContent)
    }

    fn collection_id(&self, id_or_name: &str) -> Option<String> {
        path::find_collection(&self.state, id_or_name).map(|c| c.id.clone())
    }

    /// After a collection's records are gone (the collection deleted or
    /// emptied), so are their files, and realtime clients signed in as
    /// one of its accounts are signed out, as PocketBase signs them out.
    async fn records_gone(&self, collection_id: Option<String>) {
        if let Some(id) = collection_id {
            self.state.realtime.accounts_gone(&id);
            self.state.storage.remove_collection(&id).await;
        }
    }
}
