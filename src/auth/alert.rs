//! New-location alerts (`authAlert`): each account's sign-in origins (a
//! hash of client IP and user agent) are remembered, and a sign-in from an
//! origin not seen before mails the owner, so a stolen password shows up.
//! The first origin an account ever signs in from is only remembered:
//! there is nothing yet to compare it with.
//!
//! An alert never fails or delays a sign-in beyond the local write: errors
//! are logged, and the mail goes out like any other.

use rusqlite::params;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::signin::{RequestMeta, SignedIn};
use crate::{
    mail::{Mailer, templates::Template},
    store::{Database, StoreError},
};

fn enabled(s: &SignedIn) -> bool {
    s.collection.auth().is_some_and(|a| a.auth_alert.enabled)
}

/// Records where this sign-in came from, and alerts the owner if that is
/// somewhere new.
pub async fn note_origin(db: &Database, mailer: &Mailer<'_>, meta: &RequestMeta, s: &SignedIn) {
    if !enabled(s) {
        return;
    }
    if let Err(err) = note(db, mailer, meta, s).await {
        tracing::warn!(error = %err, "recording the sign-in origin");
    }
}

async fn note(
    db: &Database,
    mailer: &Mailer<'_>,
    meta: &RequestMeta,
    s: &SignedIn,
) -> Result<(), StoreError> {
    let (ip, agent) = (&meta.ip, &meta.user_agent);
    let fingerprint = hex::encode(Sha256::digest(format!("{ip}\n{agent}")));
    let (c_id, record) = (s.collection.id.clone(), s.id.clone());
    let is_new_place = db
        .write(move |tx| {
            let now = crate::datetime::now();
            let count = |tx: &rusqlite::Connection| -> rusqlite::Result<i64> {
                tx.query_row(
                    "SELECT count(*) FROM _authOrigins WHERE collectionRef = ?1 AND recordRef = ?2",
                    params![c_id, record],
                    |r| r.get(0),
                )
            };
            let known = count(tx)?;
            tx.execute(
                "INSERT INTO _authOrigins (id, collectionRef, recordRef, fingerprint, created, updated)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                 ON CONFLICT (collectionRef, recordRef, fingerprint) DO UPDATE SET updated = excluded.updated",
                params![crate::random::lower_alphanumeric(15), c_id, record, fingerprint, now],
            )?;
            // The upsert reports one row either way; the origin is new if
            // the count grew, and worth an alert if there were others.
            let now_known = count(tx)?;
            Ok::<_, StoreError>(now_known > known && known > 0)
        })
        .await?;
    let Some(to) = s
        .record
        .get("email")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
    else {
        return Ok(());
    };
    if is_new_place {
        let info = if agent.is_empty() {
            ip.clone()
        } else {
            format!("{ip}, {agent}")
        };
        mailer
            .send_template(
                &s.collection,
                Template::AuthAlert,
                to,
                &s.record,
                &[("ALERT_INFO", &info)],
            )
            .await?;
    }
    Ok(())
}
