//! The writer's tests: jobs that share a commit and fail alone, a lone
//! job's commit, and statement jobs, which run without savepoints.

use std::{sync::Arc, time::Duration};

use super::*;

fn writer(dir: &Path) -> (Arc<Writer>, std::path::PathBuf) {
    let path = dir.join("w.db");
    let conn = super::super::connection::open_writer(&path).expect("open");
    conn.execute_batch("CREATE TABLE t (x INTEGER UNIQUE)")
        .expect("table");
    (Arc::new(Writer::spawn(conn, &path).expect("spawn")), path)
}

fn committed_rows(path: &Path) -> i64 {
    let conn = Connection::open(path).expect("reader");
    conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .expect("count")
}

/// Occupies the writer until `release` is sent, so that the jobs sent
/// meanwhile queue up and run as one group.
async fn hold(w: &Arc<Writer>) -> std::sync::mpsc::Sender<()> {
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let (started, is_started) = oneshot::channel();
    let w2 = w.clone();
    tokio::spawn(async move {
        w2.transaction(Isolation::Savepoint, move |_| {
            let _ = started.send(());
            let _ = wait.recv_timeout(Duration::from_secs(10));
            Ok::<_, StoreError>(())
        })
        .await
    });
    is_started.await.expect("the holder runs");
    release
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_jobs_share_a_commit_and_fail_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (w, path) = writer(dir.path());
    let release = hold(&w).await;
    let mut jobs = Vec::new();
    for i in 0..20_i64 {
        let (w, path) = (w.clone(), path.clone());
        jobs.push(tokio::spawn(async move {
            w.transaction(Isolation::Savepoint, move |conn| {
                // Every 5th job inserts a duplicate and fails.
                let x = if i % 5 == 4 { i - 1 } else { i };
                conn.execute("INSERT INTO t (x) VALUES (?1)", [x])?;
                if i == 7 {
                    panic!("job 7 fails hard");
                }
                // What another connection sees: the group is not
                // committed yet, whichever job of it this is.
                Ok::<_, StoreError>(committed_rows(&path))
            })
            .await
        }));
        // Keep the queue in order.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    release.send(()).expect("release");
    let mut seen_committed = Vec::new();
    for (i, job) in jobs.into_iter().enumerate() {
        match job.await.expect("task") {
            Ok(before) => seen_committed.push(before),
            Err(StoreError::Sqlite(_)) => assert_eq!(i % 5, 4, "job {i}"),
            Err(StoreError::WorkerLost) => assert_eq!(i, 7),
            Err(other) => panic!("job {i}: {other}"),
        }
    }
    assert_eq!(seen_committed.len(), 15);
    assert!(
        seen_committed.iter().all(|n| *n == 0),
        "no job saw another's commit, so they shared one: {seen_committed:?}"
    );
    // The failed and the panicked jobs left nothing; the rest stand.
    assert_eq!(committed_rows(&path), 15);
    let count = w
        .transaction(Isolation::Savepoint, |conn| {
            Ok::<_, StoreError>(
                conn.query_row("SELECT count(*) FROM t WHERE x = 7", [], |r| r.get::<_, i64>(0))?,
            )
        })
        .await
        .expect("count");
    assert_eq!(count, 0, "the panicked job's insert was rolled back");
}

#[tokio::test]
async fn a_lone_job_commits_before_it_is_answered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (w, path) = writer(dir.path());
    w.transaction(Isolation::Statement, |conn| {
        Ok::<_, StoreError>(conn.execute("INSERT INTO t (x) VALUES (1)", [])?)
    })
    .await
    .expect("insert");
    assert_eq!(committed_rows(&path), 1);
    w.close().await.expect("checkpoint");
}

/// Sends `job` with `isolation` and waits a little, so that jobs
/// reach the queue in the order they were sent.
async fn send(
    w: &Arc<Writer>,
    isolation: Isolation,
    job: impl FnOnce(&Connection) -> Result<(), StoreError> + Send + 'static,
) -> tokio::task::JoinHandle<Result<(), StoreError>> {
    let w = w.clone();
    let handle = tokio::spawn(async move { w.transaction(isolation, job).await });
    tokio::time::sleep(Duration::from_millis(5)).await;
    handle
}

fn insert(conn: &Connection, x: i64) -> Result<(), StoreError> {
    conn.execute("INSERT INTO t (x) VALUES (?1)", [x])?;
    Ok(())
}

fn stored(path: &Path) -> Vec<i64> {
    let conn = Connection::open(path).expect("reader");
    let mut stmt = conn.prepare("SELECT x FROM t ORDER BY x").expect("prepare");
    stmt.query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_jobs_fail_alone_without_savepoints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (w, path) = writer(dir.path());
    let release = hold(&w).await;
    let commits = w.commits();
    let mut jobs = Vec::new();
    for x in [1, 2, 2, 3, 1, 4] {
        jobs.push(send(&w, Isolation::Statement, move |conn| insert(conn, x)).await);
    }
    release.send(()).expect("release");
    let mut outcomes = Vec::new();
    for job in jobs {
        outcomes.push(match job.await.expect("task") {
            Ok(()) => "ok",
            Err(StoreError::Sqlite(e)) if e.to_string().contains("UNIQUE") => "duplicate",
            Err(other) => panic!("{other}"),
        });
    }
    assert_eq!(outcomes, ["ok", "ok", "duplicate", "ok", "duplicate", "ok"]);
    assert_eq!(stored(&path), [1, 2, 3, 4]);
    // The six arrived while the holder ran, and joined its group.
    assert_eq!(
        w.commits(),
        commits + 1,
        "the holder and the six jobs shared one commit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_job_failing_after_its_change_takes_its_group_down() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (w, path) = writer(dir.path());
    let release = hold(&w).await;
    let before = send(&w, Isolation::Statement, |conn| insert(conn, 1)).await;
    let breaks_promise = send(&w, Isolation::Statement, |conn| {
        insert(conn, 2)?;
        Err(StoreError::Corrupt("fails after its change".into()))
    })
    .await;
    let panics = send(&w, Isolation::Statement, |conn| {
        insert(conn, 3)?;
        panic!("panics after its change")
    })
    .await;
    let after = send(&w, Isolation::Savepoint, |conn| insert(conn, 4)).await;
    release.send(()).expect("release");
    assert!(
        matches!(before.await.expect("task"), Err(StoreError::CommitFailed(_))),
        "a job that went through is failed with its transaction"
    );
    assert!(matches!(
        breaks_promise.await.expect("task"),
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(panics.await.expect("task"), Err(StoreError::WorkerLost)));
    after
        .await
        .expect("task")
        .expect("the jobs still queued commit in a transaction of their own");
    assert_eq!(stored(&path), [4], "nothing of the broken group is kept");
}
