//! `/api/keys`: API keys (Cairn's addition), for superusers signed in in
//! person. Every route refuses a request that presents an API key (403),
//! whatever the key is bound to: a key never creates, widens or reads
//! keys. The rules live in `keys`; this file reads the input and shapes
//! the answers.

use std::sync::Arc;

use poem_openapi::{Object, OpenApi, param::Path, payload::Json};

use super::{ApiTags, body::Body, collections::Done, guard::SuperuserInPerson};
use crate::{
    app::AppState,
    http::error::ApiError,
    keys::{self, KeyInput, ScopeInput},
};

/// What a key may do on one collection.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct ApiKeyScope {
    collection_id: String,
    /// The collection's current name.
    collection_name: String,
    /// Some of `list`, `view`, `create`, `update`, `delete`, `realtime`.
    actions: Vec<String>,
}

/// An API key, without its secret.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct ApiKey {
    id: String,
    name: String,
    /// `cairn_sk_` and the key's first 8 characters, to tell keys apart.
    prefix: String,
    /// The auth collection of the record the key acts as.
    collection_id: String,
    collection_name: String,
    /// The record the key acts as.
    record_id: String,
    /// Empty: the record's full rights.
    scopes: Vec<ApiKeyScope>,
    /// Addresses and CIDR networks the key works from; empty: anywhere.
    allowed_ips: Vec<String>,
    /// When the key stops working; empty: never.
    expires: String,
    /// Written about once a minute.
    last_used: String,
    last_used_ip: String,
    created: String,
    updated: String,
    /// False when the bound record or its collection is gone: the key no
    /// longer works.
    bound: bool,
}

impl From<keys::KeyInfo> for ApiKey {
    fn from(info: keys::KeyInfo) -> Self {
        let k = info.key;
        Self {
            scopes: k
                .scopes
                .into_iter()
                .zip(info.scope_names)
                .map(|(s, collection_name)| ApiKeyScope {
                    collection_id: s.collection,
                    collection_name,
                    actions: s.actions,
                })
                .collect(),
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            collection_id: k.collection_id,
            collection_name: info.collection_name,
            record_id: k.record_id,
            allowed_ips: k.allowed_ips,
            expires: k.expires,
            last_used: k.last_used,
            last_used_ip: k.last_used_ip,
            created: k.created,
            updated: k.updated,
            bound: info.bound,
        }
    }
}

/// A new key, with its secret: shown this once, never stored.
#[derive(Object)]
pub struct CreatedApiKey {
    #[oai(flatten)]
    key: ApiKey,
    /// The key itself (`cairn_sk_…`): send it as `Authorization: Bearer …`.
    secret: String,
}

#[derive(Object, Default)]
pub struct ScopeBody {
    /// Collection name or id.
    #[oai(default)]
    collection: String,
    #[oai(default)]
    actions: Vec<String>,
}

/// A key's fields; on update, only those sent change.
#[derive(Object, Default)]
#[oai(rename_all = "camelCase")]
pub struct KeyBody {
    name: Option<String>,
    /// The auth collection (name or id) of the record the key acts as
    /// (create only).
    collection: Option<String>,
    /// The record the key acts as: its id or email (create only).
    record: Option<String>,
    /// Collections and actions the key is limited to; none: the record's
    /// full rights.
    scopes: Option<Vec<ScopeBody>>,
    /// Addresses and CIDR networks (`10.0.0.0/8`) the key works from.
    allowed_ips: Option<Vec<String>>,
    /// When the key stops working (`2030-01-02 15:04:05.000Z`); empty:
    /// never.
    expires: Option<String>,
}

impl From<KeyBody> for KeyInput {
    fn from(b: KeyBody) -> Self {
        Self {
            name: b.name,
            collection: b.collection,
            record: b.record,
            scopes: b.scopes.map(|list| {
                list.into_iter()
                    .map(|s| ScopeInput {
                        collection: s.collection,
                        actions: s.actions,
                    })
                    .collect()
            }),
            allowed_ips: b.allowed_ips,
            expires: b.expires,
        }
    }
}

pub struct KeysApi {
    state: Arc<AppState>,
}

impl KeysApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[OpenApi(tag = "ApiTags::Keys")]
impl KeysApi {
    /// List the API keys, newest first.
    #[oai(path = "/keys", method = "get")]
    async fn list(&self, _superuser: SuperuserInPerson) -> poem::Result<Json<Vec<ApiKey>>> {
        let catalog = self.state.schema.catalog();
        let keys = self
            .state
            .keys
            .list(&self.state.store.data, &catalog)
            .await
            .map_err(ApiError::from)?;
        Ok(Json(keys.into_iter().map(ApiKey::from).collect()))
    }

    /// Create an API key; the answer holds its secret, shown only here.
    #[oai(path = "/keys", method = "post")]
    async fn create(
        &self,
        _superuser: SuperuserInPerson,
        body: Body<KeyBody>,
    ) -> poem::Result<Json<CreatedApiKey>> {
        let catalog = self.state.schema.catalog();
        let (key, secret) = self
            .state
            .keys
            .create(&self.state.store.data, &catalog, body.0.into())
            .await
            .map_err(ApiError::from)?;
        Ok(Json(CreatedApiKey {
            key: key.into(),
            secret,
        }))
    }

    /// View one API key.
    #[oai(path = "/keys/:id", method = "get")]
    async fn view(&self, _superuser: SuperuserInPerson, id: Path<String>) -> poem::Result<Json<ApiKey>> {
        let catalog = self.state.schema.catalog();
        let key = self
            .state
            .keys
            .view(&self.state.store.data, &catalog, &id.0)
            .await
            .map_err(ApiError::from)?;
        Ok(Json(key.into()))
    }

    /// Change a key's name, scopes, allowlist or expiry; applies to its
    /// next request.
    #[oai(path = "/keys/:id", method = "patch")]
    async fn update(
        &self,
        _superuser: SuperuserInPerson,
        id: Path<String>,
        body: Body<KeyBody>,
    ) -> poem::Result<Json<ApiKey>> {
        let catalog = self.state.schema.catalog();
        let key = self
            .state
            .keys
            .update(&self.state.store.data, &catalog, &id.0, body.0.into())
            .await
            .map_err(ApiError::from)?;
        Ok(Json(key.into()))
    }

    /// Revoke (delete) an API key; refused from its next request.
    #[oai(path = "/keys/:id", method = "delete")]
    async fn delete(&self, _superuser: SuperuserInPerson, id: Path<String>) -> poem::Result<Done> {
        self.state
            .keys
            .delete(&self.state.store.data, &id.0)
            .await
            .map_err(ApiError::from)?;
        Ok(Done::NoContent)
    }
}
