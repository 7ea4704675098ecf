//! Multi-factor sign-in, per the collection's `mfa` options: when it is
//! enabled (and `mfa.rule` matches the account, `""` matching every
//! account), a first proven factor does not sign in. It answers 401 with
//! `{mfaId}`; a second sign-in with a different method that presents that
//! `mfaId` within `mfa.duration` completes it. This is PocketBase's flow,
//! so the SDKs' `mfaId` option works unchanged.

use rusqlite::{OptionalExtension, params};

use super::{
    caller::load_auth_record,
    signin::{RequestMeta, SignInError, SignedIn},
};
use crate::{
    identity::{Caller, Presented},
    query::compile::RequestInfo,
    records::{
        access::{Access, Requester},
        service::{matches_rule, rule_conditions},
    },
    schema::{Collection, Schema, auth_options::MfaOptions},
    store::{Database, StoreError},
};

/// What the sign-in may do next.
pub enum Outcome {
    /// No (further) factor is needed.
    Passed,
    /// The first factor is recorded; the client must prove a second one.
    SecondFactor(String),
}

/// The collection's `mfa` options (every auth collection has them).
fn options(c: &Collection) -> Option<&MfaOptions> {
    c.auth().map(|a| &a.mfa)
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Removes expired MFA sign-in states (the scheduled cleanup). Returns
/// how many went.
pub async fn purge_expired(db: &crate::store::Database) -> Result<usize, StoreError> {
    db.write(|tx| Ok(tx.execute("DELETE FROM _mfas WHERE expires <= ?1", [now_secs()])?))
        .await
}

/// Whether `mfa.rule` asks this account for a second factor. The rule sees
/// the account as `@request.auth`, as it would once signed in.
async fn rule_applies(schema: &Schema, db: &Database, s: &SignedIn) -> Result<bool, SignInError> {
    let expr = options(&s.collection).map(|m| m.rule.clone()).unwrap_or_default();
    if expr.is_empty() {
        return Ok(true);
    }
    // The rule sees the whole record, hidden fields too, as every rule
    // does; the sign-in only carries the shape a client sees, so read it.
    let Some(account) = load_auth_record(db, s.collection.clone(), s.id.clone()).await? else {
        // Gone mid-sign-in: ask for the second factor, which cannot succeed.
        return Ok(true);
    };
    let auth = account.whole.clone();
    let requester = Requester {
        caller: Caller::Record(
            account,
            Presented {
                token: String::new(),
                refreshable: false,
                session: None,
                key: None,
            },
        ),
        info: RequestInfo {
            auth: Some(auth),
            method: "POST".into(),
            context: s.method.rule_context(),
            ..RequestInfo::default()
        }
        .into(),
    };
    let Some(conditions) =
        rule_conditions(&schema.catalog(), &s.collection, &requester, &Access::Rule(expr))?
    else {
        return Ok(true);
    };
    let (c, id) = (s.collection.clone(), s.id.clone());
    db.read(move |conn| matches_rule(conn, &c, &id, &conditions).map_err(StoreError::from))
        .await
        .map_err(SignInError::from)
}

/// The `mfaId` of a sign-in: from its body, or from the query string,
/// where the SDKs put it (`{mfaId}` in their options becomes `?mfaId=`).
fn presented_mfa_id(meta: &RequestMeta, s: &SignedIn) -> Option<String> {
    s.mfa_id
        .clone()
        .or_else(|| meta.mfa_id.clone())
        .filter(|m| !m.is_empty())
}

/// Decides whether this sign-in completes, needs a second factor, or
/// presents an `mfaId` that does not fit.
pub async fn check(
    schema: &Schema,
    db: &Database,
    meta: &RequestMeta,
    s: &SignedIn,
) -> Result<Outcome, SignInError> {
    let Some(options) = options(&s.collection).filter(|m| m.enabled) else {
        return Ok(Outcome::Passed);
    };
    if let Some(mfa_id) = presented_mfa_id(meta, s) {
        return second_factor(db, s, mfa_id).await;
    }
    if !rule_applies(schema, db, s).await? {
        return Ok(Outcome::Passed);
    }
    let duration = i64::try_from(options.duration).unwrap_or(i64::MAX);
    let id = crate::random::lower_alphanumeric(15);
    let (id2, c_id, record, method) = (
        id.clone(),
        s.collection.id.clone(),
        s.id.clone(),
        s.method.as_str(),
    );
    db.write(move |tx| {
        // Expired first factors of anyone are dropped on the way.
        tx.execute("DELETE FROM _mfas WHERE expires <= ?1", [now_secs()])?;
        tx.execute(
            "INSERT INTO _mfas (id, collectionRef, recordRef, method, expires, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                id2,
                c_id,
                record,
                method,
                now_secs().saturating_add(duration),
                crate::datetime::now()
            ],
        )?;
        Ok::<_, StoreError>(())
    })
    .await?;
    Ok(Outcome::SecondFactor(id))
}

async fn second_factor(db: &Database, s: &SignedIn, mfa_id: String) -> Result<Outcome, SignInError> {
    let id = mfa_id.clone();
    let first: Option<(String, String, String)> = db
        .read(move |conn| {
            conn.query_row(
                "SELECT collectionRef, recordRef, method FROM _mfas WHERE id = ?1 AND expires > ?2",
                params![id, now_secs()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(StoreError::from)
        })
        .await?;
    let Some((collection_ref, record_ref, method)) = first else {
        return Err(SignInError::MfaExpired);
    };
    if collection_ref != s.collection.id || record_ref != s.id {
        return Err(SignInError::MfaMismatch);
    }
    if method == s.method.as_str() {
        return Err(SignInError::MfaSameMethod);
    }
    db.write(move |tx| {
        tx.execute("DELETE FROM _mfas WHERE id = ?1", [&mfa_id])?;
        Ok::<_, StoreError>(())
    })
    .await?;
    Ok(Outcome::Passed)
}
