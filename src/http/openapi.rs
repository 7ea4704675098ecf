//! The live OpenAPI document at `/api/openapi.json` and its interactive
//! reference at `/api/docs`.
//!
//! The static part (every typed endpoint) comes from poem-openapi once at
//! start. The document is served through `document()` so that per-collection
//! schemas can be merged in on each request: the docs page loads the
//! document by URL rather than embedding a copy, so it is never stale.
//!
//! The per-collection part describes what its caller may use. Superusers
//! see every collection and every field they may write. Anyone else sees
//! only the operations whose rule is not `null` (a collection with none is
//! left out: its name, fields and select values are not theirs to read),
//! no field only superusers write (`Collection::superusers_write`), and no
//! id of a related collection.
//! Rules are the same for every caller who is not a superuser, so there
//! are two documents per catalog version, and a cache slot for each.
//!
//! Every operation lists the error answers it can give (`errors`).

mod errors;

use std::sync::{Arc, Mutex};

use poem::{
    IntoResponse, Response,
    http::{HeaderValue, header},
};
use serde_json::{Map, Value, json};

use crate::{
    api::Api,
    schema::{Catalog, Collection, CollectionKind, json_schema},
};

pub struct Docs {
    base: Value,
    page: String,
    /// The last document rendered, by catalog version: for others
    /// (`[0]`) and for superusers (`[1]`).
    rendered: Mutex<[Option<(u64, bytes::Bytes)>; 2]>,
}

impl Docs {
    pub fn new(service: &poem_openapi::OpenApiService<Api, ()>) -> Arc<Self> {
        let spec = service.spec();
        let base = serde_json::from_str(&spec).unwrap_or(Value::Null);
        // RapiDoc's page embeds the document text; point it at the live URL
        // instead, and drop its web-font link (no third-party requests).
        let page = service
            .rapidoc_html()
            .replacen(&spec, "\"/api/openapi.json\"", 1)
            .lines()
            .filter(|l| !l.contains("fonts.googleapis.com"))
            .collect::<Vec<_>>()
            .join("\n")
            .replacen("<title>RapiDoc</title>", "<title>Cairn API reference</title>", 1);
        Arc::new(Self {
            base,
            page,
            rendered: Mutex::new([None, None]),
        })
    }

    /// The document for the collections of `catalog`: the static
    /// endpoints plus, per collection, its record schemas and paths, as far
    /// as a superuser (`superuser`) or anyone else may use them.
    pub fn document(&self, catalog: &Catalog, superuser: bool) -> Value {
        let mut doc = self.base.clone();
        let mut schemas = Map::new();
        let mut paths = Map::new();
        schemas.insert("ErrorEnvelope".into(), error_schema());
        for c in catalog.all() {
            add_collection(c, superuser, &mut schemas, &mut paths);
        }
        add_files_and_batch(&mut paths);
        if let Some(Value::Object(existing)) = doc.pointer_mut("/components/schemas") {
            existing.extend(schemas);
        }
        if let Some(Value::Object(existing)) = doc.get_mut("paths") {
            existing.extend(paths);
        }
        errors::declare(&mut doc);
        doc
    }

    /// Serves the document for a superuser or anyone else, re-rendering
    /// only when a collection changed.
    pub fn json_response(&self, catalog: &Catalog, superuser: bool) -> Response {
        let version = catalog.version();
        let slot = usize::from(superuser);
        let cached = self.rendered.lock().ok().and_then(|guard| {
            guard[slot]
                .as_ref()
                .filter(|(v, _)| *v == version)
                .map(|(_, body)| body.clone())
        });
        let body = cached.unwrap_or_else(|| {
            let fresh = bytes::Bytes::from(self.document(catalog, superuser).to_string());
            if let Ok(mut guard) = self.rendered.lock() {
                guard[slot] = Some((version, fresh.clone()));
            }
            fresh
        });
        Response::builder()
            .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
            .header(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))
            .body(body)
    }

    pub fn page_response(&self) -> Response {
        let mut resp = poem::web::Html(self.page.clone()).into_response();
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        resp
    }
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "description": "PocketBase's error envelope.",
        "properties": {
            "status": {"type": "integer"},
            "message": {"type": "string"},
            "data": {"type": "object", "description": "Per-field errors: {field: {code, message}}."},
        },
        "required": ["status", "message", "data"],
    })
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn json_content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

fn answer(description: &str, schema: Option<Value>) -> Value {
    match schema {
        Some(s) => json!({"description": description, "content": json_content(s)}),
        None => json!({"description": description}),
    }
}

fn operation(
    c: &Collection,
    summary: String,
    id: &str,
    params: Vec<Value>,
    body: Option<Value>,
    ok: Value,
) -> Value {
    let mut responses = Map::new();
    responses.insert(if ok.get("content").is_some() { "200" } else { "204" }.into(), ok);
    let mut op = json!({
        "tags": [format!("Records: {}", c.name)],
        "summary": summary,
        "operationId": format!("{id}_{}", c.name),
        "parameters": params,
        "responses": responses,
    });
    if let Some(body) = body {
        op["requestBody"] = json!({"required": true, "content": json_content(body)});
    }
    op
}

fn query_param(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description})
}

/// `/files/…` and `/batch`: plain handlers (bytes, or a list of any
/// collection's records), described by hand.
fn add_files_and_batch(paths: &mut Map<String, Value>) {
    let path_param =
        |name: &str| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}});
    let envelope = || Some(reference("ErrorEnvelope"));
    paths.insert(
        "/files/{collection}/{recordId}/{filename}".into(),
        json!({"get": {
            "tags": ["Files"],
            "summary": "Download a stored file",
            "operationId": "files_download",
            "parameters": [
                path_param("collection"), path_param("recordId"), path_param("filename"),
                query_param("thumb", json!({"type": "string"}), "A thumbnail size: `100x100`, or one the field lists (`WxH`, `WxHt`, `WxHb`, `WxHf`, `0xH`, `Wx0`)."),
                query_param("download", json!({"type": "string"}), "`1` to download as an attachment."),
                query_param("token", json!({"type": "string"}), "A file token, for protected fields."),
            ],
            "responses": {
                "200": {"description": "The file (supports `Range` and `If-None-Match`)."},
                "404": answer("No such file, or not readable by the token's owner.", envelope()),
            },
        }}),
    );
    paths.insert(
        "/files/token".into(),
        json!({"post": {
            "tags": ["Files"],
            "summary": "A short-lived token for protected files",
            "operationId": "files_token",
            "responses": {
                "200": answer("The token.", Some(json!({"type": "object", "properties": {"token": {"type": "string"}}}))),
                "401": answer("Not signed in.", envelope()),
            },
        }}),
    );
    let request = json!({"type": "object", "required": ["method", "url"], "properties": {
        "method": {"type": "string", "enum": ["POST", "PUT", "PATCH", "DELETE"]},
        "url": {"type": "string", "example": "/api/collections/posts/records"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "body": {"type": "object"},
    }});
    paths.insert(
        "/batch".into(),
        json!({"post": {
            "tags": ["Batch"],
            "summary": "Record writes in one transaction",
            "operationId": "batch",
            "requestBody": {"required": true, "content": json_content(json!({
                "type": "object", "required": ["requests"],
                "properties": {"requests": {"type": "array", "items": request}},
            }))},
            "responses": {
                "200": answer("Each request's result, in order.", Some(json!({"type": "array", "items": {
                    "type": "object", "properties": {"status": {"type": "integer"}, "body": {}},
                }}))),
                "400": answer("A request failed (`data.requests.N`); nothing was written.", envelope()),
                "403": answer("Batch requests are disabled.", envelope()),
            },
        }}),
    );
}

fn add_collection(
    c: &Collection,
    superuser: bool,
    schemas: &mut Map<String, Value>,
    paths: &mut Map<String, Value>,
) {
    // What the caller may do: a `null` rule is for superusers only.
    let open = |rule: &Option<String>| superuser || rule.is_some();
    let editable = c.kind != CollectionKind::View;
    let rules = &c.rules;
    let (list_op, view_op) = (open(&rules.list), open(&rules.view));
    let (create_op, update_op, delete_op) = (
        editable && open(&rules.create),
        editable && open(&rules.update),
        editable && open(&rules.delete),
    );
    if !(list_op || view_op || create_op || update_op || delete_op) {
        return;
    }
    let (record, create, update, list) = (
        format!("Record_{}", c.name),
        format!("Create_{}", c.name),
        format!("Update_{}", c.name),
        format!("List_{}", c.name),
    );
    schemas.insert(record.clone(), json_schema::record(c, superuser));
    let mut collection_path = Map::new();
    let mut item_path = Map::new();
    let id_param = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}});
    if list_op {
        add_list(c, &record, &list, schemas, &mut collection_path);
    }
    if view_op {
        item_path.insert(
            "get".into(),
            operation(
                c,
                format!("View a {} record", c.name),
                "view",
                vec![id_param.clone()],
                None,
                answer("The record.", Some(reference(&record))),
            ),
        );
    }
    if create_op {
        schemas.insert(create.clone(), json_schema::body(c, false, superuser));
        collection_path.insert(
            "post".into(),
            operation(
                c,
                format!("Create a {} record", c.name),
                "create",
                vec![],
                Some(reference(&create)),
                answer("The created record.", Some(reference(&record))),
            ),
        );
    }
    if update_op {
        schemas.insert(update.clone(), json_schema::body(c, true, superuser));
        item_path.insert(
            "patch".into(),
            operation(
                c,
                format!("Update a {} record", c.name),
                "update",
                vec![id_param.clone()],
                Some(reference(&update)),
                answer("The updated record.", Some(reference(&record))),
            ),
        );
    }
    if delete_op {
        item_path.insert(
            "delete".into(),
            operation(
                c,
                format!("Delete a {} record", c.name),
                "delete",
                vec![id_param],
                None,
                answer("Deleted.", None),
            ),
        );
    }
    if !collection_path.is_empty() {
        paths.insert(
            format!("/collections/{}/records", c.name),
            Value::Object(collection_path),
        );
    }
    if !item_path.is_empty() {
        paths.insert(
            format!("/collections/{}/records/{{id}}", c.name),
            Value::Object(item_path),
        );
    }
}

/// The list operation and its page schema `list` (of `record`s).
fn add_list(
    c: &Collection,
    record: &str,
    list: &str,
    schemas: &mut Map<String, Value>,
    collection_path: &mut Map<String, Value>,
) {
    schemas.insert(
        list.to_owned(),
        json!({
            "type": "object",
            "properties": {
                "page": {"type": "integer"},
                "perPage": {"type": "integer"},
                "totalItems": {"type": "integer", "description": "-1 with skipTotal"},
                "totalPages": {"type": "integer", "description": "-1 with skipTotal"},
                "items": {"type": "array", "items": reference(record)},
            },
            "required": ["page", "perPage", "totalItems", "totalPages", "items"],
        }),
    );
    let list_params = vec![
        query_param(
            "page",
            json!({"type": "integer", "minimum": 1}),
            "Page number, from 1.",
        ),
        query_param(
            "perPage",
            json!({"type": "integer", "minimum": 1, "maximum": 1000}),
            "Items per page (30 by default).",
        ),
        query_param(
            "sort",
            json!({"type": "string"}),
            "Comma-separated fields, `-` for descending; `@random`, `@rowid`.",
        ),
        query_param(
            "skipTotal",
            json!({"type": "boolean"}),
            "Skip counting; totals are then -1.",
        ),
    ];
    collection_path.insert(
        "get".into(),
        operation(
            c,
            format!("List {} records", c.name),
            "list",
            list_params,
            None,
            answer("A page of records.", Some(reference(list))),
        ),
    );
}
