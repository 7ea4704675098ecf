//! Outgoing mail: account-flow messages (verification, password reset,
//! email change, OTP codes, new-sign-in alerts) rendered from the
//! collection's templates and `settings.meta`, then either sent over SMTP
//! (`settings.smtp.enabled`) or kept in the dev outbox.
//!
//! A message for SMTP goes onto the durable job queue (`jobs`, kind
//! `mail`) and is sent by its workers: the enqueue is awaited, so a
//! message the API answered for survives a crash or restart, and a mail
//! server that is down is tried again with backoff for about a day
//! before the message is given up (and a warning logged). A slow or
//! unreachable mail server never holds up the request that caused the
//! message, and a failure is never reported to a caller who could do
//! nothing about it (and who must not learn from it whether an account
//! exists). The outbox write is a local insert, also awaited.

pub mod outbox;
pub mod smtp;
pub mod templates;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::Semaphore;

use crate::{
    identity::email::Email,
    jobs::{self, Done, Failure, Job, NewJob, Queue},
    schema::Collection,
    settings::{Settings, SettingsStore},
    store::{Database, StoreError},
};

/// `message` as a job for the queue's mail workers.
fn mail_job(message: &Message) -> Result<NewJob, StoreError> {
    Ok(NewJob {
        kind: JOB_KIND,
        key: None,
        tag: None,
        payload: serde_json::to_string(message).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        max_attempts: ATTEMPTS,
    })
}

/// The job kind of a message waiting for SMTP.
pub const JOB_KIND: &str = "mail";
/// Attempts at one message: with the queue's default spacing (10 s
/// doubling up to an hour) about a day of trying.
const ATTEMPTS: u32 = 30;

/// SMTP sessions open at once: a burst of requests queues its mail here
/// instead of opening a connection per message.
static SENDING: Semaphore = Semaphore::const_new(4);

/// One rendered message for one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub html: String,
    /// The same content without markup, for clients that show plain text.
    pub text: String,
}

/// What sending touches: the live settings (SMTP or the outbox, and the
/// `meta` the templates read), the database that holds the dev outbox
/// and the job queue's table, the queue to wake, and whether to echo
/// each message to the console (`--dev`). Built by `AppState::mailer`.
#[derive(Clone, Copy)]
pub struct Mailer<'a> {
    pub settings: &'a SettingsStore,
    pub db: &'a Database,
    pub queue: &'a Queue,
    pub echo: bool,
}

/// Why a test message did not go out.
#[derive(Debug, thiserror::Error)]
pub enum TestMailError {
    #[error("{0}")]
    Smtp(#[from] smtp::SmtpError),
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl Mailer<'_> {
    /// Hands `message` to SMTP or the outbox, per the live settings.
    pub async fn send(&self, message: Message) -> Result<(), StoreError> {
        let settings = self.settings.get();
        if settings.smtp.enabled {
            let job = mail_job(&message)?;
            self.db
                .write_statement(move |tx| -> Result<i64, StoreError> { Ok(jobs::enqueue(tx, &job)?) })
                .await?;
            self.queue.wake();
            return Ok(());
        }
        if self.echo {
            // The console is the developer's inbox in --dev; tokens here are
            // for local accounts only.
            println!(
                "\n--- mail to {} ---\nSubject: {}\n\n{}\n---\n",
                message.to, message.subject, message.text
            );
        }
        outbox::store(self.db, message).await
    }

    /// Does what sending `template` of collection `c` to `to` does, the
    /// database writes included, and sends nothing. A request about an
    /// address with no account (a password reset, a verification, a
    /// one-time code) must take as long as one about an address with one,
    /// or its time would tell a guest which addresses have accounts; the
    /// write the real message waits for (a queued job, or the outbox row)
    /// is most of that time, so it is made and taken back here.
    pub async fn pretend(
        &self,
        c: &Collection,
        template: templates::Template,
        to: &str,
        vars: &[(&str, &str)],
    ) -> Result<(), StoreError> {
        let mut record = Map::new();
        record.insert("email".into(), to.into());
        let meta = self.settings.get().meta.clone();
        let message = templates::render(c, template, &meta, to, &record, vars);
        if self.settings.get().smtp.enabled {
            let job = mail_job(&message)?;
            return self
                .db
                .write_statement(move |tx| -> Result<(), StoreError> {
                    jobs::enqueue_nothing(tx, &job)?;
                    Ok(())
                })
                .await;
        }
        outbox::store_nothing(self.db, message).await
    }

    /// Renders `template` of collection `c` for `to` (with `settings.meta`
    /// as it is now) and sends it.
    pub async fn send_template(
        &self,
        c: &Collection,
        template: templates::Template,
        to: &str,
        record: &Map<String, Value>,
        vars: &[(&str, &str)],
    ) -> Result<(), StoreError> {
        let meta = self.settings.get().meta.clone();
        let message = templates::render(c, template, &meta, to, record, vars);
        self.send(message).await
    }

    /// Sends a sample of `template` from collection `c` to `to` and waits
    /// for the outcome: unlike account mail, the superuser who asked is
    /// there to read why the mail server refused it. Placeholders get
    /// sample values.
    pub async fn send_test(
        &self,
        c: &Collection,
        template: templates::Template,
        to: &Email,
    ) -> Result<(), TestMailError> {
        let to = to.as_str();
        let settings = self.settings.get();
        let mut record = Map::new();
        record.insert("id".into(), "test0000000000a".into());
        record.insert("email".into(), to.into());
        let vars = [
            ("TOKEN", "a.sample.token"),
            ("OTP", "12345678"),
            ("ALERT_INFO", "127.0.0.1, a sample browser"),
        ];
        let message = templates::render(c, template, &settings.meta, to, &record, &vars);
        if settings.smtp.enabled {
            let _slot = SENDING.acquire().await;
            smtp::deliver(&settings.smtp, &settings.meta, message).await?;
            return Ok(());
        }
        self.send(message).await?;
        Ok(())
    }
}

/// Sends one queued message (a `mail` job) with the settings as they are
/// now: a message queued while SMTP was on goes to the outbox if SMTP has
/// since been turned off, rather than nowhere.
pub async fn deliver_job(settings: &Settings, db: &Database, job: &Job) -> Result<Done, Failure> {
    let message: Message = serde_json::from_str(&job.payload)
        .map_err(|e| Failure::permanent(format!("not a queued message: {e}")))?;
    if !settings.smtp.enabled {
        outbox::store(db, message)
            .await
            .map_err(|e| Failure::retry(e.to_string()))?;
        return Ok(Done {
            note: "SMTP is off: kept in the outbox".into(),
        });
    }
    // The semaphore is never closed, so a permit always comes.
    let _slot = SENDING.acquire().await;
    match smtp::deliver(&settings.smtp, &settings.meta, message).await {
        Ok(()) => Ok(Done::default()),
        Err(err) => {
            // Neither the recipient nor the message goes to the log: the
            // job's id finds them in `_jobs` for whoever may read it.
            let failure = if err.is_permanent() {
                Failure::permanent(err.to_string())
            } else {
                Failure::retry(err.to_string())
            };
            tracing::debug!(host = %settings.smtp.host, port = settings.smtp.port, job = job.id, error = %err, "mail delivery failed");
            Err(failure)
        }
    }
}
