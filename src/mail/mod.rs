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

use tokio::sync::Semaphore;

use crate::{app::AppState, store::StoreError};

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

/// Hands `message` to SMTP or the outbox, per the live settings.
pub async fn send(state: &AppState, message: Message) -> Result<(), StoreError> {
    let settings = state.settings.get();
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
    if state.config.dev {
        // The console is the developer's inbox in --dev; tokens here are
        // for local accounts only.
        println!(
            "\n--- mail to {} ---\nSubject: {}\n\n{}\n---\n",
            message.to, message.subject, message.text
        );
    }
    outbox::store(&state.store.data, message).await
}

/// Why a test message did not go out.
#[derive(Debug, thiserror::Error)]
pub enum TestMailError {
    #[error("{0}")]
    Smtp(#[from] smtp::SmtpError),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Sends a sample of `template` from collection `c` to `to` and waits for
/// the outcome: unlike account mail, the superuser who asked is there to
/// read why the mail server refused it. Placeholders get sample values.
pub async fn send_test(
    state: &AppState,
    c: &crate::schema::Collection,
    template: templates::Template,
    to: &str,
) -> Result<(), TestMailError> {
    let settings = state.settings.get();
    let mut record = serde_json::Map::new();
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
    send(state, message).await?;
    Ok(())
}
