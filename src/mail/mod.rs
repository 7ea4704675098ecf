//! Outgoing mail: account-flow messages (verification, password reset,
//! email change, OTP codes, new-sign-in alerts) rendered from the
//! collection's templates and `settings.meta`, then either sent over SMTP
//! (`settings.smtp.enabled`) or kept in the dev outbox.
//!
//! SMTP delivery runs on its own task: a slow or unreachable mail server
//! never holds up the request that caused the message, and a failure is
//! logged rather than reported to a caller who could do nothing about it
//! (and who must not learn from it whether an account exists). The outbox
//! write is a local insert and is awaited, so a message is stored before
//! the request that produced it answers.

pub mod outbox;
pub mod smtp;
pub mod templates;

use serde_json::{Map, Value};
use tokio::sync::Semaphore;

use crate::{
    schema::Collection,
    settings::SettingsStore,
    store::{Database, StoreError},
};

/// SMTP sessions open at once: a burst of requests queues its mail here
/// instead of opening a connection per message.
static SENDING: Semaphore = Semaphore::const_new(4);

/// One rendered message for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub html: String,
    /// The same content without markup, for clients that show plain text.
    pub text: String,
}

/// What sending touches: the live settings (SMTP or the outbox, and the
/// `meta` the templates read), the database that holds the dev outbox,
/// and whether to echo each message to the console (`--dev`). Built by
/// `AppState::mailer`.
#[derive(Clone, Copy)]
pub struct Mailer<'a> {
    pub settings: &'a SettingsStore,
    pub outbox: &'a Database,
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
            let (smtp, meta) = (settings.smtp.clone(), settings.meta.clone());
            tokio::spawn(async move {
                // The semaphore is never closed, so a permit always comes.
                let _slot = SENDING.acquire().await;
                let to = message.to.clone();
                if let Err(err) = smtp::deliver(&smtp, &meta, message).await {
                    tracing::warn!(host = %smtp.host, port = smtp.port, to = %to, error = %err, "mail delivery failed");
                }
            });
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
        outbox::store(self.outbox, message).await
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
        to: &str,
    ) -> Result<(), TestMailError> {
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
