//! The dev outbox: while SMTP is disabled, every message is kept here so
//! a developer (and the test suites) can read what would have been sent.
//! Superusers read it through `GET /api/mail/outbox`, newest first.

use rusqlite::params;
use serde::Serialize;

use super::Message;
use crate::store::{Database, StoreError};

#[derive(Debug, Clone, Serialize)]
pub struct OutboxMessage {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    pub created: String,
}

pub struct OutboxPage {
    pub total: u64,
    pub items: Vec<OutboxMessage>,
}

pub async fn store(db: &Database, message: Message) -> Result<(), StoreError> {
    db.write(move |tx| {
        insert(tx, &message)?;
        Ok::<_, StoreError>(())
    })
    .await
}

/// `store`'s work with nothing kept: the message is written and taken out
/// again in one transaction (see `Mailer::pretend`).
pub async fn store_nothing(db: &Database, message: Message) -> Result<(), StoreError> {
    db.write(move |tx| {
        let id = insert(tx, &message)?;
        tx.execute("DELETE FROM _outbox WHERE id = ?1", [id])?;
        Ok::<_, StoreError>(())
    })
    .await
}

fn insert(tx: &rusqlite::Connection, message: &Message) -> rusqlite::Result<String> {
    let id = crate::random::lower_alphanumeric(15);
    tx.prepare_cached(
        "INSERT INTO _outbox (id, recipient, subject, html, text, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        id,
        message.to,
        message.subject,
        message.html,
        message.text,
        crate::datetime::now()
    ])?;
    Ok(id)
}

/// One page of the outbox, newest first; `page` starts at 1.
pub async fn list(db: &Database, page: u64, per_page: u64) -> Result<OutboxPage, StoreError> {
    db.read(move |conn| {
        let total: i64 = conn.query_row("SELECT count(*) FROM _outbox", [], |r| r.get(0))?;
        let offset = page.saturating_sub(1).saturating_mul(per_page);
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT id, recipient, subject, html, text, created FROM _outbox
             ORDER BY created DESC, rowid DESC LIMIT {per_page} OFFSET ?1"
        ))?;
        let items = stmt
            .query_map(params![offset as i64], |r| {
                Ok(OutboxMessage {
                    id: r.get(0)?,
                    to: r.get(1)?,
                    subject: r.get(2)?,
                    html: r.get(3)?,
                    text: r.get(4)?,
                    created: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(OutboxPage {
            total: total.max(0) as u64,
            items,
        })
    })
    .await
}
