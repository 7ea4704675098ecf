//! Deliveries as the queue runs them: each attempt's outcome (`run`,
//! the queue's handler body), the webhook's run of failures and its
//! disabling once that run lasts `disable_after`, and the deliveries log
//! read back from the queue's table (a delivery is a job tagged with its
//! webhook), with manual redelivery.

use chrono::Utc;
use serde_json::Value;

use super::{WebhookError, Webhooks, deliver, manage::one, model::Webhook};
use crate::{
    jobs::{self, Done, Failure, Job, Queue, Status},
    store::Database,
};

/// One delivery, for the log.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: i64,
    pub message_id: String,
    pub status: String,
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_at: String,
    pub last_error: String,
    pub result: Option<Value>,
    pub event_type: String,
    pub body: String,
    pub created: String,
    pub updated: String,
}

/// The `webhook-id` of a job: stable across its retries and redeliveries.
pub fn message_id(uid: &str) -> String {
    format!("msg_{uid}")
}

impl Webhooks {
    /// Runs delivery `job`: one attempt, its outcome kept on the webhook.
    pub async fn run(&self, db: &Database, job: &Job) -> Result<Done, Failure> {
        let webhook = job.tag.clone().unwrap_or_default();
        let hook = match self.active().iter().find(|h| h.id == webhook) {
            Some(h) => h.clone(),
            None => {
                let id = webhook;
                let stored = db
                    .read(move |conn| Ok::<_, WebhookError>(one(conn, &id)?))
                    .await
                    .map_err(|e| Failure::retry(e.to_string()))?;
                return Err(Failure::permanent(match stored {
                    None => "the webhook was deleted",
                    Some(_) => "the webhook is disabled",
                }));
            }
        };
        let got = deliver::attempt(
            &self.clients,
            &hook,
            &self.options,
            &message_id(&job.uid),
            job.payload.as_bytes(),
        )
        .await;
        let note = serde_json::to_string(&got).unwrap_or_default();
        if got.ok() {
            if !hook.failing_since.is_empty() {
                self.mark(db, &hook.id, Mark::Recovered).await;
            }
            return Ok(Done { note });
        }
        self.failed(db, &hook).await;
        Err(Failure {
            error: got.error,
            note,
            permanent: false,
        })
    }

    /// Notes a failed attempt: the start of a run of failures, or, once a
    /// run has lasted `disable_after`, the end of the webhook.
    async fn failed(&self, db: &Database, hook: &Webhook) {
        let since = match crate::datetime::parse(&hook.failing_since) {
            None => return self.mark(db, &hook.id, Mark::Failing).await,
            Some(since) => since,
        };
        let lasted = (Utc::now() - since).to_std().unwrap_or_default();
        if lasted >= self.options.disable_after {
            tracing::warn!(
                webhook = %hook.id,
                // The host only: hook URLs often carry a credential in
                // their path (Slack's, Discord's), and this goes to the log.
                host = %url_host(&hook.url),
                failing_since = %hook.failing_since,
                "a webhook whose deliveries kept failing was disabled; enable it again in the dashboard once its receiver works"
            );
            self.mark(db, &hook.id, Mark::Disabled(lasted)).await;
        }
    }

    async fn mark(&self, db: &Database, id: &str, mark: Mark) {
        let id = id.to_owned();
        let now = crate::datetime::now();
        let written = db
            .write(move |tx| {
                let n = match mark {
                    Mark::Recovered => tx.execute(
                        "UPDATE _webhooks SET failingSince = '' WHERE id = ?1 AND failingSince != ''",
                        [&id],
                    )?,
                    Mark::Failing => tx.execute(
                        "UPDATE _webhooks SET failingSince = ?2 WHERE id = ?1 AND failingSince = ''",
                        [&id, &now],
                    )?,
                    Mark::Disabled(lasted) => tx.execute(
                        "UPDATE _webhooks SET enabled = 0, disabledReason = ?2, updated = ?3 WHERE id = ?1 AND enabled = 1",
                        rusqlite::params![
                            id,
                            format!(
                                "Every delivery failed for {} s (since the first failure); disabled by Cairn.",
                                lasted.as_secs()
                            ),
                            now
                        ],
                    )?,
                };
                Ok::<_, WebhookError>(n)
            })
            .await;
        match written {
            Ok(0) => {}
            Ok(_) => {
                if let Err(err) = self.reload(db).await {
                    tracing::error!(error = %err, "cannot reload the webhooks");
                }
            }
            Err(err) => tracing::error!(error = %err, "cannot note a webhook's delivery outcome"),
        }
    }

    /// Webhook `id`'s deliveries, newest first; `queue` tells which of
    /// them are being sent now.
    pub async fn deliveries(
        &self,
        db: &Database,
        queue: &Queue,
        id: &str,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<DeliveryRow>, WebhookError> {
        let id = id.to_owned();
        // Asked before and after the read: a job is running before its
        // attempt is counted and until its outcome is, so one of the two
        // sees it running whatever the read found (short of a whole
        // attempt between them).
        let mut running = queue.running_ids();
        let rows = db
            .read(move |conn| {
                one(conn, &id)?.ok_or(WebhookError::NotFound)?;
                Ok::<_, WebhookError>(jobs::list(conn, deliver::KIND, Some(&id), limit, before)?)
            })
            .await?;
        running.extend(queue.running_ids());
        Ok(rows
            .into_iter()
            .map(|j| {
                let body = j.payload;
                let event_type = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_default();
                // Attempts are counted as they start.
                let status = match j.status {
                    Status::Pending if running.contains(&j.id) => "running",
                    Status::Pending if j.attempts > 0 => "failed",
                    s => s.as_str(),
                };
                DeliveryRow {
                    id: j.id,
                    message_id: message_id(&j.uid),
                    status: status.to_owned(),
                    attempts: j.attempts,
                    max_attempts: j.max_attempts,
                    run_at: chrono::DateTime::from_timestamp_millis(j.run_at)
                        .map(crate::datetime::format)
                        .unwrap_or_default(),
                    last_error: j.last_error,
                    result: serde_json::from_str(&j.result).ok(),
                    event_type,
                    body,
                    created: j.created,
                    updated: j.updated,
                }
            })
            .collect())
    }

    /// Sends delivery `delivery` of webhook `id` again (a finished one:
    /// done or dead). The caller wakes the queue.
    pub async fn redeliver(&self, db: &Database, id: &str, delivery: i64) -> Result<i64, WebhookError> {
        let id = id.to_owned();
        db.write(move |tx| {
            let job = jobs::get(tx, delivery)?
                .filter(|j| j.kind == deliver::KIND && j.tag.as_deref() == Some(id.as_str()))
                .ok_or(WebhookError::NotFound)?;
            // Only a finished job is queued again.
            jobs::requeue(tx, job.id)?.ok_or(WebhookError::Unfinished)
        })
        .await
    }
}

#[derive(Debug, Clone, Copy)]
enum Mark {
    Recovered,
    Failing,
    Disabled(std::time::Duration),
}

/// The queue's handler of webhook deliveries (registered in `app`).
pub struct Deliveries {
    pub webhooks: std::sync::Arc<Webhooks>,
    pub db: std::sync::Arc<Database>,
}

impl jobs::Handler for Deliveries {
    fn run<'a>(&'a self, job: &'a Job) -> futures_util::future::BoxFuture<'a, Result<Done, Failure>> {
        Box::pin(self.webhooks.run(&self.db, job))
    }

    /// The attempt's own bound (`WebhookOptions::timeout`, which covers
    /// the connection and the answer), plus the name's resolution.
    fn timeout(&self) -> std::time::Duration {
        self.webhooks.options.timeout + std::time::Duration::from_secs(10)
    }
}

/// The host of a webhook's URL, for the log.
fn url_host(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}
