//! Webhooks in `_webhooks`: read, saved and deleted through the writer,
//! and the in-memory list of them the write path consults reloaded after
//! every change (`Webhooks::reload`).

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};

use super::{
    WebhookError, Webhooks,
    model::{self, Draft, Event, Webhook},
};
use crate::{schema::Catalog, store::Database};

const COLUMNS: &str = "id, name, collection, events, filter, url, secret, enabled, includeHidden, failingSince, disabledReason, created, updated, previousSecret, previousSecretUntil";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Webhook> {
    let events: String = row.get(3)?;
    Ok(Webhook {
        id: row.get(0)?,
        name: row.get(1)?,
        collection: row.get(2)?,
        events: serde_json::from_str::<Vec<String>>(&events)
            .unwrap_or_default()
            .iter()
            .filter_map(|e| Event::parse(e))
            .collect(),
        filter: row.get(4)?,
        url: row.get(5)?,
        secret: row.get(6)?,
        enabled: row.get(7)?,
        include_hidden: row.get(8)?,
        failing_since: row.get(9)?,
        disabled_reason: row.get(10)?,
        created: row.get(11)?,
        updated: row.get(12)?,
        previous_secret: row.get(13)?,
        previous_secret_until: row.get(14)?,
    })
}

pub(super) fn all(conn: &Connection) -> rusqlite::Result<Vec<Webhook>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM _webhooks ORDER BY created, id"))?
        .query_map([], from_row)?
        .collect()
}

pub(super) fn one(conn: &Connection, id: &str) -> rusqlite::Result<Option<Webhook>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM _webhooks WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()
}

fn save(conn: &Connection, h: &Webhook) -> rusqlite::Result<()> {
    let events: Vec<&str> = h.events.iter().map(|e| e.as_str()).collect();
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO _webhooks ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
    ))?
    .execute(params![
        h.id,
        h.name,
        h.collection,
        serde_json::to_string(&events).unwrap_or_else(|_| "[]".into()),
        h.filter,
        h.url,
        h.secret,
        h.enabled,
        h.include_hidden,
        h.failing_since,
        h.disabled_reason,
        h.created,
        h.updated,
        h.previous_secret,
        h.previous_secret_until,
    ])?;
    Ok(())
}

impl Webhooks {
    /// Every webhook, oldest first.
    pub async fn list(&self, db: &Database) -> Result<Vec<Webhook>, WebhookError> {
        db.read(|conn| Ok::<_, WebhookError>(all(conn)?)).await
    }

    pub async fn get(&self, db: &Database, id: &str) -> Result<Webhook, WebhookError> {
        let id = id.to_owned();
        db.read(move |conn| one(conn, &id)?.ok_or(WebhookError::NotFound))
            .await
    }

    /// Creates a webhook from `draft` (a secret is generated if none is given).
    pub async fn create(
        &self,
        db: &Database,
        catalog: &Catalog,
        draft: Draft,
    ) -> Result<Webhook, WebhookError> {
        let now = chrono::Utc::now();
        let mut hook = Webhook::new(
            crate::random::lower_alphanumeric(15),
            crate::datetime::format(now),
        );
        model::apply(catalog, self.options.allow_private, &mut hook, draft, now)
            .map_err(WebhookError::Invalid)?;
        let saved = hook.clone();
        db.write(move |tx| Ok::<_, WebhookError>(save(tx, &saved)?))
            .await?;
        self.reload(db).await?;
        Ok(hook)
    }

    /// Changes webhook `id` as `draft` says.
    pub async fn update(
        &self,
        db: &Database,
        catalog: Arc<Catalog>,
        id: &str,
        draft: Draft,
    ) -> Result<Webhook, WebhookError> {
        let allow_private = self.options.allow_private;
        let id = id.to_owned();
        let hook = db
            .write(move |tx| {
                let mut hook = one(tx, &id)?.ok_or(WebhookError::NotFound)?;
                let now = chrono::Utc::now();
                model::apply(&catalog, allow_private, &mut hook, draft, now)
                    .map_err(WebhookError::Invalid)?;
                hook.updated = crate::datetime::format(now);
                save(tx, &hook)?;
                Ok::<_, WebhookError>(hook)
            })
            .await?;
        self.reload(db).await?;
        Ok(hook)
    }

    /// Deletes webhook `id`; deliveries still queued for it fail as
    /// they come up (their webhook is gone).
    pub async fn delete(&self, db: &Database, id: &str) -> Result<(), WebhookError> {
        let id = id.to_owned();
        // Its deliveries still to send go with it: nothing would send them.
        let deleted = db
            .write(move |tx| {
                let n = tx.execute("DELETE FROM _webhooks WHERE id = ?1", [&id])?;
                crate::jobs::discard_pending(tx, super::KIND, &id)?;
                Ok::<_, WebhookError>(n)
            })
            .await?;
        self.reload(db).await?;
        if deleted == 0 {
            return Err(WebhookError::NotFound);
        }
        Ok(())
    }

    /// Reads the webhooks again into the list the write path consults.
    pub async fn reload(&self, db: &Database) -> Result<(), WebhookError> {
        let _one_at_a_time = self.reloading.lock().await;
        let hooks = self.list(db).await?;
        self.replace(hooks);
        Ok(())
    }
}
