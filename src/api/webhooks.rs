//! `/api/webhooks` (Cairn's own, superusers): webhooks, their deliveries
//! log and manual redelivery. The work is `webhooks`'; the secret is
//! answered whole when it is made (create, or a new one set) and on
//! `GET /webhooks/{id}/secret`, and only as a hint elsewhere.

use std::sync::Arc;

use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use serde_json::Value;

use super::{ApiTags, body::Body, guard::Superuser};
use crate::{
    app::AppState,
    http::error::ApiError,
    webhooks::{ANY_COLLECTION, Draft, Webhook},
};

pub struct WebhooksApi {
    state: Arc<AppState>,
}

impl WebhooksApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }

    /// Webhook `id` (the endpoints calling this take a `Superuser`).
    async fn hook(&self, id: &str) -> poem::Result<Webhook> {
        let s = &self.state;
        Ok(s.webhooks.get(&s.store.data, id).await.map_err(ApiError::from)?)
    }
}

/// A webhook's values, as a superuser sends them; on a change, absent
/// ones stay as they are.
#[derive(Object, Default)]
#[oai(rename_all = "camelCase")]
struct WebhookBody {
    /// A label for people.
    name: Option<String>,
    /// The collection (id or name), or `*` for every collection.
    collection: Option<String>,
    /// Any of `create`, `update`, `delete`, and for auth collections
    /// `auth.signup` (a record created) and `auth.signin`.
    events: Option<Vec<String>>,
    /// A rule-language expression the record must match (tested in the
    /// write's transaction; for a delete, on the record before it goes);
    /// empty for every record.
    filter: Option<String>,
    /// Where to POST: http or https, a public address unless the server
    /// allows private targets (`--webhooks-allow-private`).
    url: Option<String>,
    /// `whsec_` + base64 of 24 to 64 bytes; empty or absent on create to
    /// have one generated, empty on a change to generate a new one.
    secret: Option<String>,
    /// Hours (0 to 168) the secret this change replaces keeps signing
    /// beside the new one, so a receiver can switch without rejecting a
    /// delivery; 0 or absent ends it at once (after a leak). Without a new
    /// secret, it sets anew how long the previously replaced one signs.
    previous_secret_hours: Option<u32>,
    enabled: Option<bool>,
    /// Whether the record in the payload carries its hidden fields
    /// (never passwords nor token keys).
    include_hidden: Option<bool>,
}

impl From<WebhookBody> for Draft {
    fn from(b: WebhookBody) -> Self {
        Draft {
            name: b.name,
            collection: b.collection,
            events: b.events,
            filter: b.filter,
            url: b.url,
            secret: b.secret,
            previous_secret_hours: b.previous_secret_hours,
            enabled: b.enabled,
            include_hidden: b.include_hidden,
        }
    }
}

/// A webhook.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
struct WebhookItem {
    id: String,
    name: String,
    /// A collection id, or `*`.
    collection: String,
    /// The collection's name (`*` for all; empty if it was deleted).
    collection_name: String,
    events: Vec<String>,
    filter: String,
    url: String,
    /// The whole secret when it was just made; otherwise absent (see
    /// `GET /webhooks/{id}/secret`).
    #[oai(skip_serializing_if_is_none)]
    secret: Option<String>,
    /// The secret's first and last characters, to tell secrets apart.
    secret_hint: String,
    /// Until when the secret the last rotation replaced signs beside the
    /// current one; empty when it no longer does.
    previous_secret_until: String,
    /// That replaced secret's first and last characters; empty with it.
    previous_secret_hint: String,
    enabled: bool,
    include_hidden: bool,
    /// `enabled`, `failing` (enabled, its recent deliveries failed),
    /// `disabled` (by a superuser) or `disabledAfterFailures`.
    state: String,
    /// When the current run of failures began; empty when not failing.
    failing_since: String,
    /// Why Cairn disabled it; empty otherwise.
    disabled_reason: String,
    created: String,
    updated: String,
}

impl WebhookItem {
    fn of(state: &AppState, h: Webhook, show_secret: bool) -> Self {
        let collection_name = match h.collection.as_str() {
            ANY_COLLECTION => ANY_COLLECTION.to_owned(),
            id => state
                .schema
                .catalog()
                .get(id)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
        };
        let previous = h.previous_secret_signs(chrono::Utc::now());
        let status = match (
            h.enabled,
            h.disabled_reason.is_empty(),
            h.failing_since.is_empty(),
        ) {
            (true, _, true) => "enabled",
            (true, _, false) => "failing",
            (false, true, _) => "disabled",
            (false, false, _) => "disabledAfterFailures",
        };
        Self {
            state: status.to_owned(),
            id: h.id,
            name: h.name,
            collection: h.collection,
            collection_name,
            events: h.events.iter().map(|e| e.as_str().to_owned()).collect(),
            filter: h.filter,
            url: h.url,
            secret: show_secret.then(|| h.secret.clone()),
            secret_hint: hint(&h.secret),
            previous_secret_until: if previous {
                h.previous_secret_until
            } else {
                String::new()
            },
            previous_secret_hint: if previous {
                hint(&h.previous_secret)
            } else {
                String::new()
            },
            enabled: h.enabled,
            include_hidden: h.include_hidden,
            failing_since: h.failing_since,
            disabled_reason: h.disabled_reason,
            created: h.created,
            updated: h.updated,
        }
    }
}

/// A secret's first and last characters, to tell secrets apart.
fn hint(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let head: String = chars.iter().take(9).collect();
    let tail: String = chars.iter().skip(chars.len().saturating_sub(3)).collect();
    format!("{head}…{tail}")
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
struct Secret {
    /// `whsec_…`: what a receiver's Standard Webhooks library verifies with.
    secret: String,
    /// The secret the last rotation replaced, while it still signs beside
    /// `secret` (until `previousSecretUntil`); absent otherwise.
    #[oai(skip_serializing_if_is_none)]
    previous_secret: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    previous_secret_until: Option<String>,
}

/// One delivery: a job of the queue.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
struct DeliveryItem {
    /// The job's id (what redelivery names).
    id: i64,
    /// The `webhook-id` header it is sent with (the same on every attempt
    /// and redelivery: receivers deduplicate on it).
    message_id: String,
    /// `pending` (waiting), `running` (being sent), `done`, `failed` (to
    /// be retried) or `dead`.
    status: String,
    /// Attempts made, counting the one running: an attempt counts as it
    /// starts, so one cut short by a crash is counted too.
    attempts: u32,
    max_attempts: u32,
    /// When the next attempt is due (pending or failed ones).
    run_at: String,
    /// Why the last attempt failed.
    last_error: String,
    /// The last attempt's `{status, ms, response}`.
    result: Option<Value>,
    /// The event's type (`record.create`, …).
    r#type: String,
    /// The body sent, as sent.
    body: String,
    created: String,
    updated: String,
}

#[derive(ApiResponse)]
enum Done {
    #[oai(status = 204)]
    NoContent,
}

#[OpenApi(tag = "ApiTags::Webhooks")]
impl WebhooksApi {
    /// Superusers only: every webhook, oldest first.
    #[oai(path = "/webhooks", method = "get")]
    async fn list(&self, _superuser: Superuser) -> poem::Result<Json<Vec<WebhookItem>>> {
        let hooks = self
            .state
            .webhooks
            .list(&self.state.store.data)
            .await
            .map_err(ApiError::from)?;
        Ok(Json(
            hooks
                .into_iter()
                .map(|h| WebhookItem::of(&self.state, h, false))
                .collect(),
        ))
    }

    /// Superusers only: a new webhook; the answer carries its secret.
    #[oai(path = "/webhooks", method = "post")]
    async fn create(
        &self,
        _superuser: Superuser,
        body: Body<WebhookBody>,
    ) -> poem::Result<Json<WebhookItem>> {
        let s = &self.state;
        let hook = s
            .webhooks
            .create(&s.store.data, &s.schema.catalog(), body.0.into())
            .await
            .map_err(ApiError::from)?;
        Ok(Json(WebhookItem::of(s, hook, true)))
    }

    /// Superusers only: one webhook.
    #[oai(path = "/webhooks/:id", method = "get")]
    async fn view(&self, _superuser: Superuser, id: Path<String>) -> poem::Result<Json<WebhookItem>> {
        let hook = self.hook(&id.0).await?;
        Ok(Json(WebhookItem::of(&self.state, hook, false)))
    }

    /// Superusers only: a webhook's secret, whole.
    #[oai(path = "/webhooks/:id/secret", method = "get")]
    async fn secret(&self, _superuser: Superuser, id: Path<String>) -> poem::Result<Json<Secret>> {
        let hook = self.hook(&id.0).await?;
        let previous = hook.previous_secret_signs(chrono::Utc::now());
        Ok(Json(Secret {
            previous_secret: previous.then(|| hook.previous_secret.clone()),
            previous_secret_until: previous.then(|| hook.previous_secret_until.clone()),
            secret: hook.secret,
        }))
    }

    /// Superusers only: changes a webhook; enabling one again starts its
    /// failure count afresh. The answer carries the secret if it changed.
    #[oai(path = "/webhooks/:id", method = "patch")]
    async fn update(
        &self,
        _superuser: Superuser,
        id: Path<String>,
        body: Body<WebhookBody>,
    ) -> poem::Result<Json<WebhookItem>> {
        let s = &self.state;
        let new_secret = body.0.secret.is_some();
        let hook = s
            .webhooks
            .update(&s.store.data, s.schema.catalog(), &id.0, body.0.into())
            .await
            .map_err(ApiError::from)?;
        Ok(Json(WebhookItem::of(s, hook, new_secret)))
    }

    /// Superusers only: deletes a webhook; its queued deliveries are dropped
    /// as they come up.
    #[oai(path = "/webhooks/:id", method = "delete")]
    async fn delete(&self, _superuser: Superuser, id: Path<String>) -> poem::Result<Done> {
        self.state
            .webhooks
            .delete(&self.state.store.data, &id.0)
            .await
            .map_err(ApiError::from)?;
        Ok(Done::NoContent)
    }

    /// Superusers only: a webhook's deliveries, newest first, `limit` (at
    /// most 200, default 50) at a time, older than delivery `before`.
    #[oai(path = "/webhooks/:id/deliveries", method = "get")]
    async fn deliveries(
        &self,
        _superuser: Superuser,
        id: Path<String>,
        limit: Query<Option<u32>>,
        before: Query<Option<i64>>,
    ) -> poem::Result<Json<Vec<DeliveryItem>>> {
        let s = &self.state;
        let limit = limit.0.unwrap_or(50).clamp(1, 200);
        let rows = s
            .webhooks
            .deliveries(&s.store.data, &s.jobs, &id.0, limit, before.0)
            .await
            .map_err(ApiError::from)?;
        Ok(Json(
            rows.into_iter()
                .map(|d| DeliveryItem {
                    id: d.id,
                    message_id: d.message_id,
                    status: d.status,
                    attempts: d.attempts,
                    max_attempts: d.max_attempts,
                    run_at: d.run_at,
                    last_error: d.last_error,
                    result: d.result,
                    r#type: d.event_type,
                    body: d.body,
                    created: d.created,
                    updated: d.updated,
                })
                .collect(),
        ))
    }

    /// Superusers only: sends delivery `delivery` again, as a new delivery
    /// with the same body and `webhook-id`.
    #[oai(path = "/webhooks/:id/deliveries/:delivery/redeliver", method = "post")]
    async fn redeliver(
        &self,
        _superuser: Superuser,
        id: Path<String>,
        delivery: Path<i64>,
    ) -> poem::Result<Done> {
        let s = &self.state;
        s.webhooks
            .redeliver(&s.store.data, &id.0, delivery.0)
            .await
            .map_err(ApiError::from)?;
        s.jobs.wake();
        Ok(Done::NoContent)
    }
}
