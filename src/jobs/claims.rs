//! The queue's statements: which jobs are due (a read), the claim's
//! count of their attempt, and an attempt's outcome. The dispatcher and
//! workers that run them are `queue`'s.

use std::collections::HashMap;

use rusqlite::{Connection, params};

use super::{Done, Failure, Job};
use crate::store::StoreError;

/// A pending job whose time has come, and no earlier job of its key
/// still to finish. (`running` is never stored; the condition is
/// idx__jobs_key's, so that the index serves it.)
pub(super) const CLAIMABLE: &str = "FROM _jobs j WHERE j.status = 'pending' AND j.runAt <= ?1
     AND (j.key IS NULL OR NOT EXISTS (SELECT 1 FROM _jobs e
          WHERE e.key = j.key AND e.id < j.id AND e.status IN ('pending', 'running')))";

/// What counting a claimed job's attempt found.
pub(super) enum Attempt {
    /// Its attempt number `n` is counted: run it.
    Run(u32),
    /// Its attempts were used up by runs cut short; it is now dead.
    UsedUp,
}

/// Why a job with no attempts left when claimed was given up.
pub(super) const CUT_SHORT: &str = "its last attempt did not finish: Cairn stopped while it ran";

/// The claim's write; see `count_attempts`.
pub(super) const COUNT_ATTEMPTS: &str = "UPDATE _jobs SET
         attempts = attempts + (attempts < maxAttempts),
         status = iif(attempts < maxAttempts, 'pending', 'dead'),
         lastError = iif(attempts < maxAttempts, lastError, ?2),
         updated = iif(attempts < maxAttempts, updated, ?3)
     FROM (SELECT value ->> 0 AS cid, value ->> 1 AS cuid FROM json_each(?1)) AS c
     WHERE _jobs.id = c.cid AND _jobs.uid = c.cuid AND _jobs.status = 'pending'
     RETURNING id, status, attempts";

/// The claim's write: counts an attempt of each pending job `(id, uid)`
/// in `claimed`, or gives it up as dead if it had none left.
pub(super) fn count_attempts(
    tx: &Connection,
    claimed: &[(i64, String)],
) -> Result<HashMap<i64, Attempt>, StoreError> {
    let claimed: Vec<serde_json::Value> = claimed
        .iter()
        .map(|(id, uid)| serde_json::json!([id, uid]))
        .collect();
    let claimed = serde_json::Value::Array(claimed).to_string();
    let now = crate::datetime::now();
    let mut stmt = tx.prepare_cached(COUNT_ATTEMPTS)?;
    let rows = stmt.query_map(params![claimed, CUT_SHORT, now], |r| {
        let attempt = match r.get::<_, String>(1)?.as_str() {
            "pending" => Attempt::Run(r.get(2)?),
            _ => Attempt::UsedUp,
        };
        Ok((r.get::<_, i64>(0)?, attempt))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The SQL of a claim of up to `limit` jobs (a literal: see
/// the `store` module doc).
pub(super) fn claim_sql(limit: usize) -> String {
    format!(
        "SELECT j.id, j.uid, j.kind, j.key, j.tag, j.payload, j.attempts, j.maxAttempts, j.created
         {CLAIMABLE} ORDER BY j.runAt, j.id LIMIT {limit}"
    )
}

/// `claim` on `conn`, at `now`.
pub(super) fn claim_in(
    conn: &rusqlite::Connection,
    now: i64,
    n: usize,
    skip: &[i64],
) -> Result<(Vec<Job>, Option<i64>), StoreError> {
    let jobs: Vec<Job> = conn
        .prepare_cached(&claim_sql(n + skip.len()))?
        .query_map(params![now], |r| {
            Ok(Job {
                id: r.get(0)?,
                uid: r.get(1)?,
                kind: r.get(2)?,
                key: r.get(3)?,
                tag: r.get(4)?,
                payload: r.get(5)?,
                attempt: r.get::<_, u32>(6)?.saturating_add(1),
                max_attempts: r.get(7)?,
                created: r.get(8)?,
            })
        })?
        .filter(|j| j.as_ref().map_or(true, |j| !skip.contains(&j.id)))
        .take(n)
        .collect::<rusqlite::Result<_>>()?;
    let next = if jobs.len() < n {
        conn.prepare_cached(NEXT_DUE)?.query_row([now], |r| r.get(0))?
    } else {
        None
    };
    Ok((jobs, next))
}

/// When the next pending job not yet due is.
pub(super) const NEXT_DUE: &str = "SELECT min(runAt) FROM _jobs WHERE status = 'pending' AND runAt > ?1";

pub(super) fn record(
    tx: &Connection,
    (id, uid): (i64, String),
    outcome: Result<Done, Failure>,
    retry_at: Option<i64>,
) -> Result<(), StoreError> {
    let now = crate::datetime::now();
    let (status, error, note) = match outcome {
        Ok(done) => ("done", String::new(), done.note),
        Err(f) if retry_at.is_some() => ("pending", f.error, f.note),
        Err(f) => ("dead", f.error, f.note),
    };
    tx.prepare_cached(
        "UPDATE _jobs SET status = ?3, lastError = ?4, result = ?5,
                updated = ?6, runAt = coalesce(?7, runAt)
         WHERE id = ?1 AND uid = ?2 AND status = 'pending'",
    )?
    .execute(params![id, uid, status, error, note, now, retry_at])?;
    Ok(())
}
