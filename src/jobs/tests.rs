//! The queue against a real database: the outbox rule, order per key,
//! retries, giving up, timeouts, a job cut short running again, and one
//! that kills its process given up once its attempts are used.
//!
//! A little over 500 lines, and kept whole: every test shares the queue
//! fixtures below (`Recorder`, `settle`, `fast`), and each is one
//! scenario with its control.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use futures_util::future::BoxFuture;

use super::*;
use crate::store::Store;

fn open() -> (tempfile::TempDir, Arc<Database>) {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path()).expect("store");
    (dir, store.data)
}

fn fast() -> Limits {
    Limits {
        workers: 4,
        retry_base: Duration::from_millis(20),
        retry_cap: Duration::from_millis(100),
        poll: Duration::from_millis(50),
        idle: Duration::from_secs(30),
    }
}

fn job(key: Option<&str>, payload: &str, max_attempts: u32) -> NewJob {
    NewJob {
        kind: "test",
        key: key.map(str::to_owned),
        tag: Some("owner".into()),
        payload: payload.into(),
        max_attempts,
    }
}

async fn add(db: &Database, jobs: Vec<NewJob>) -> Vec<i64> {
    db.write(move |tx| -> Result<Vec<i64>, StoreError> {
        Ok(jobs
            .iter()
            .map(|j| enqueue(tx, j))
            .collect::<rusqlite::Result<_>>()?)
    })
    .await
    .expect("enqueue")
}

async fn rows(db: &Database) -> Vec<JobRow> {
    let mut all = db
        .read(|c| -> Result<_, StoreError> { Ok(list(c, "test", None, 1000, None)?) })
        .await
        .expect("list");
    all.reverse();
    all
}

/// Waits until every job is finished (done or dead).
async fn settle(db: &Database) -> Vec<JobRow> {
    for _ in 0..200 {
        let all = rows(db).await;
        if all
            .iter()
            .all(|j| matches!(j.status, Status::Done | Status::Dead))
        {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("jobs did not finish: {:?}", rows(db).await);
}

/// Records the payloads it runs; fails a payload as often as `fail` says.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<String>>,
    fail: Mutex<std::collections::HashMap<String, u32>>,
    delay: Duration,
}

impl Handler for Recorder {
    fn run<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<Done, Failure>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            self.seen.lock().unwrap().push(job.payload.clone());
            if job.payload == "permanent" {
                return Err(Failure::permanent("no"));
            }
            let mut fail = self.fail.lock().unwrap();
            if let Some(n) = fail.get_mut(&job.payload).filter(|n| **n > 0) {
                *n -= 1;
                return Err(Failure {
                    error: format!("failing {}", job.payload),
                    note: "503".into(),
                    permanent: false,
                });
            }
            Ok(Done {
                note: format!("ran {}", job.payload),
            })
        })
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(500)
    }
}

#[tokio::test]
async fn a_rolled_back_write_enqueues_nothing_and_a_committed_one_does() {
    let (_dir, db) = open();
    let failed: Result<(), StoreError> = db
        .write(|tx| {
            enqueue(tx, &job(None, "lost", 3))?;
            Err(StoreError::WorkerLost)
        })
        .await;
    assert!(failed.is_err());
    assert!(rows(&db).await.is_empty(), "the rolled-back job is not there");
    add(&db, vec![job(None, "kept", 3)]).await;
    let all = rows(&db).await;
    assert_eq!(all.len(), 1);
    assert_eq!(
        (all[0].payload.as_str(), all[0].status),
        ("kept", Status::Pending)
    );
}

#[tokio::test]
async fn jobs_run_once_each_and_in_order_per_key() {
    let (_dir, db) = open();
    let queue = Queue::new(db.clone(), fast());
    let handler = Arc::new(Recorder {
        delay: Duration::from_millis(5),
        ..Recorder::default()
    });
    // The second job of key "a" fails twice: the third must still wait.
    handler.fail.lock().unwrap().insert("a2".into(), 2);
    queue.register("test", handler.clone());
    let jobs = ["a1", "a2", "a3", "b1", "a4", "b2"]
        .iter()
        .map(|p| job(Some(&p[..1]), p, 5))
        .collect();
    add(&db, jobs).await;
    queue.start();
    queue.wake();
    let all = settle(&db).await;
    assert!(all.iter().all(|j| j.status == Status::Done), "{all:?}");
    let seen = handler.seen.lock().unwrap().clone();
    let of = |k: char| {
        seen.iter()
            .filter(|p| p.starts_with(k))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(of('a'), ["a1", "a2", "a2", "a2", "a3", "a4"], "{seen:?}");
    assert_eq!(of('b'), ["b1", "b2"]);
    let a2 = all.iter().find(|j| j.payload == "a2").unwrap();
    assert_eq!(a2.attempts, 3);
    assert_eq!(a2.result, "ran a2");
    assert_eq!(a2.last_error, "", "a success clears the last error");
    queue.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_job_is_given_up_after_its_attempts_or_at_once_when_permanent() {
    let (_dir, db) = open();
    let queue = Queue::new(db.clone(), fast());
    let handler = Arc::new(Recorder::default());
    handler.fail.lock().unwrap().insert("flaky".into(), 100);
    queue.register("test", handler.clone());
    add(&db, vec![job(None, "flaky", 3), job(None, "permanent", 5)]).await;
    queue.start();
    let all = settle(&db).await;
    let flaky = &all[0];
    assert_eq!((flaky.status, flaky.attempts), (Status::Dead, 3));
    assert_eq!(flaky.last_error, "failing flaky");
    assert_eq!(flaky.result, "503", "the failure's note is kept");
    assert_eq!((all[1].status, all[1].attempts), (Status::Dead, 1));
    queue.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_job_over_its_timeout_fails_and_a_missing_handler_kills_it() {
    let (_dir, db) = open();
    let queue = Queue::new(db.clone(), fast());
    queue.register(
        "test",
        Arc::new(Recorder {
            delay: Duration::from_secs(5),
            ..Recorder::default()
        }),
    );
    add(&db, vec![job(None, "slow", 2)]).await;
    let orphan = NewJob {
        kind: "nobody",
        ..job(None, "x", 5)
    };
    let orphan_id = add(&db, vec![orphan]).await[0];
    queue.start();
    let all = settle(&db).await;
    assert_eq!((all[0].status, all[0].attempts), (Status::Dead, 2));
    assert!(all[0].last_error.contains("timed out"), "{}", all[0].last_error);
    let orphan = db
        .read(move |c| -> Result<_, StoreError> { Ok(get(c, orphan_id)?) })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(orphan.status, Status::Dead);
    assert!(orphan.last_error.contains("no handler"), "{}", orphan.last_error);
    queue.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_job_cut_short_by_a_stop_runs_again_at_the_next_start_with_its_uid() {
    let (_dir, db) = open();
    add(&db, vec![job(None, "interrupted", 3)]).await;
    // A first process claims it and never finishes: its handler outlives
    // the stop's grace, as work cut short by a crash does.
    let first = Queue::new(db.clone(), fast());
    let stuck = Arc::new(Recorder {
        delay: Duration::from_secs(60),
        ..Recorder::default()
    });
    first.register("test", stuck);
    first.start();
    for _ in 0..100 {
        if first.running() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(first.running(), 1, "the first queue claimed the job");
    first.stop(Duration::from_millis(50)).await;
    let left = rows(&db).await;
    // Still to run, with the attempt the stop cut short counted (when it
    // began: the stop does not count it again).
    assert_eq!(
        (left[0].status, left[0].attempts),
        (Status::Pending, 1),
        "{left:?}"
    );
    let before = left[0].uid.clone();

    let second = Queue::new(db.clone(), fast());
    let handler = Arc::new(Recorder::default());
    second.register("test", handler.clone());
    second.start();
    let all = settle(&db).await;
    assert_eq!((all[0].status, all[0].attempts), (Status::Done, 2));
    assert_eq!(all[0].uid, before);
    assert_eq!(handler.seen.lock().unwrap().as_slice(), ["interrupted"]);
    second.stop(Duration::from_secs(1)).await;
}

/// Runs the jobs of kind `test` as told by their payload: `crash` never
/// ends (its process dies while it runs), `flaky` fails its first
/// attempt, anything else succeeds. Records each start with its attempt.
#[derive(Default)]
struct Crasher {
    started: Mutex<Vec<(String, u32)>>,
}

impl Handler for Crasher {
    fn run<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<Done, Failure>> {
        Box::pin(async move {
            self.started
                .lock()
                .unwrap()
                .push((job.payload.clone(), job.attempt));
            match job.payload.as_str() {
                "crash" => std::future::pending().await,
                "flaky" if job.attempt == 1 => Err(Failure::retry("flaky")),
                _ => Ok(Done::default()),
            }
        })
    }
}

impl Crasher {
    fn starts(&self, payload: &str) -> Vec<u32> {
        let started = self.started.lock().unwrap();
        started
            .iter()
            .filter(|(p, _)| p == payload)
            .map(|(_, a)| *a)
            .collect()
    }
}

/// One life of a process on data folder `dir`: opens it, runs a queue
/// with `handler` until `done` holds for the jobs, then dies. Its runtime
/// is dropped with whatever was running still running, so no outcome of
/// it is recorded: to the queue, a crash.
fn life(dir: &std::path::Path, handler: Arc<Crasher>, done: impl Fn(&[JobRow]) -> bool) -> Vec<JobRow> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let all = rt.block_on(async {
        let store = Store::open(dir).expect("store");
        let queue = Queue::new(store.data.clone(), fast());
        queue.register("test", handler);
        queue.start();
        for _ in 0..200 {
            let all = rows(&store.data).await;
            if done(&all) {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("not done: {:?}", rows(&store.data).await);
    });
    drop(rt);
    all
}

#[test]
fn a_job_that_kills_its_process_uses_an_attempt_each_time_then_is_given_up() {
    let dir = tempfile::tempdir().expect("dir");
    let handler = Arc::new(Crasher::default());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = Store::open(dir.path()).expect("store");
        add(&store.data, vec![job(None, "crash", 2)]).await;
    });
    drop(rt);
    // Two lives, each dying while the job runs: each used an attempt.
    for n in 1..=2 {
        let h = handler.clone();
        let all = life(dir.path(), handler.clone(), move |_| h.starts("crash").len() == n);
        assert_eq!(
            (all[0].status, all[0].attempts),
            (Status::Pending, n as u32),
            "{all:?}"
        );
    }
    assert_eq!(handler.starts("crash"), [1, 2], "each life ran the next attempt");

    // The third finds none left: given up, not run again. Beside it, the
    // control: jobs that end count one attempt each, no more.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = Store::open(dir.path()).expect("store");
        add(&store.data, vec![job(None, "fine", 3), job(None, "flaky", 3)]).await;
    });
    drop(rt);
    let all = life(dir.path(), handler.clone(), |all| {
        all.iter()
            .all(|j| matches!(j.status, Status::Done | Status::Dead))
    });
    assert_eq!((all[0].status, all[0].attempts), (Status::Dead, 2), "{all:?}");
    assert_eq!(all[0].last_error, claims::CUT_SHORT);
    assert_eq!(handler.starts("crash"), [1, 2], "not run a third time");
    assert_eq!((all[1].status, all[1].attempts), (Status::Done, 1), "{all:?}");
    assert_eq!((all[2].status, all[2].attempts), (Status::Done, 2), "{all:?}");
    assert_eq!(handler.starts("flaky"), [1, 2]);
}

#[tokio::test]
async fn requeue_copies_a_finished_job_with_its_uid_and_refuses_an_unfinished_one() {
    let (_dir, db) = open();
    let id = add(&db, vec![job(Some("k"), "again", 3)]).await[0];
    let pending = db
        .write(move |tx| -> Result<_, StoreError> { Ok(requeue(tx, id)?) })
        .await
        .unwrap();
    assert_eq!(pending, None, "a pending job is not copied");
    let queue = Queue::new(db.clone(), fast());
    queue.register("test", Arc::new(Recorder::default()));
    queue.start();
    settle(&db).await;
    let copy = db
        .write(move |tx| -> Result<_, StoreError> { Ok(requeue(tx, id)?) })
        .await
        .unwrap()
        .expect("a done job is copied");
    queue.wake();
    let all = settle(&db).await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].id, copy);
    assert_eq!(
        (all[1].uid.as_str(), all[1].status),
        (all[0].uid.as_str(), Status::Done)
    );
    assert_eq!(all[1].tag.as_deref(), Some("owner"));
    queue.stop(Duration::from_secs(1)).await;
}

#[test]
fn backoff_doubles_with_jitter_up_to_the_cap() {
    let limits = Limits {
        retry_base: Duration::from_secs(10),
        retry_cap: Duration::from_secs(60),
        ..Limits::default()
    };
    for _ in 0..50 {
        let first = limits.backoff(1);
        assert!(
            first >= Duration::from_secs(5) && first <= Duration::from_secs(10),
            "{first:?}"
        );
        let third = limits.backoff(3);
        assert!(
            third >= Duration::from_secs(20) && third <= Duration::from_secs(40),
            "{third:?}"
        );
        let late = limits.backoff(30);
        assert!(
            late >= Duration::from_secs(30) && late <= Duration::from_secs(60),
            "{late:?}"
        );
    }
}

#[tokio::test]
async fn prune_deletes_only_old_finished_jobs() {
    let (_dir, db) = open();
    add(
        &db,
        vec![job(None, "old", 1), job(None, "new", 1), job(None, "waiting", 1)],
    )
    .await;
    db.write(|tx| -> Result<(), StoreError> {
        tx.execute_batch(
            "UPDATE _jobs SET status = 'done', updated = '2000-01-01 00:00:00.000Z' WHERE payload = 'old';
             UPDATE _jobs SET status = 'dead' WHERE payload = 'new';
             UPDATE _jobs SET updated = '2000-01-01 00:00:00.000Z' WHERE payload = 'waiting';",
        )?;
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(prune(&db, KEEP_FINISHED_DAYS).await.unwrap(), 1);
    let left: Vec<String> = rows(&db).await.into_iter().map(|j| j.payload).collect();
    assert_eq!(left, ["new", "waiting"]);
}

/// The dispatcher claims on every wake-up, so its statements must stay
/// prepared: a query SQLite re-plans on every run costs more than the
/// job it claims (it did, once: a bound value compared against a partial
/// index's condition made SQLite re-prepare the claim at each step).
#[tokio::test]
async fn claims_are_not_prepared_again_on_every_run() {
    let (_dir, db) = open();
    add(
        &db,
        vec![job(Some("a"), "1", 3), job(Some("a"), "2", 3), job(None, "3", 3)],
    )
    .await;
    let counts = db
        .read(|conn| -> Result<(i32, i32), StoreError> {
            for i in 0..20 {
                claims::claim_in(conn, now_ms() + i, 4, &[])?;
                claims::claim_in(conn, 0, 4, &[])?;
            }
            let claim = conn.prepare_cached(&claims::claim_sql(4))?;
            let next = conn.prepare_cached(claims::NEXT_DUE)?;
            Ok((
                claim.get_status(rusqlite::StatementStatus::RePrepare),
                next.get_status(rusqlite::StatementStatus::RePrepare),
            ))
        })
        .await
        .expect("claims");
    assert_eq!(
        counts,
        (0, 0),
        "re-prepares of the claim and of the next-due query"
    );
    let uid = rows(&db).await[2].uid.clone();
    let recounts = db
        .write(move |tx| -> Result<i32, StoreError> {
            for _ in 0..20 {
                claims::count_attempts(tx, &[(3, uid.clone()), (1, "not its uid".into())])?;
            }
            let count = tx.prepare_cached(claims::COUNT_ATTEMPTS)?;
            Ok(count.get_status(rusqlite::StatementStatus::RePrepare))
        })
        .await
        .expect("counts");
    assert_eq!(recounts, 0, "re-prepares of the claim's write");
    let all = rows(&db).await;
    assert_eq!(
        (all[0].attempts, all[2].attempts, all[2].status),
        (0, 3, Status::Dead),
        "{all:?}"
    );
}

#[tokio::test]
async fn an_idle_queue_does_not_look_until_woken_and_a_retry_needs_no_wake() {
    let (_dir, db) = open();
    // An idle look after 3 s: longer than the half second the negative
    // below waits, shorter than the test's patience overall.
    let limits = Limits {
        poll: Duration::from_millis(20),
        idle: Duration::from_secs(3),
        ..fast()
    };
    let queue = Queue::new(db.clone(), limits);
    let handler = Arc::new(Recorder::default());
    handler.fail.lock().unwrap().insert("retried".into(), 1);
    queue.register("test", handler.clone());
    queue.start();
    // Let the first look find nothing, so the queue is idle.
    tokio::time::sleep(Duration::from_millis(100)).await;
    add(&db, vec![job(None, "unannounced", 3)]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        handler.seen.lock().unwrap().is_empty(),
        "an idle queue looked without being woken (it polled at `poll`)"
    );
    // The control: a wake, as every enqueue gives after its commit.
    queue.wake();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(*handler.seen.lock().unwrap(), ["unannounced"]);
    // A failed job's retry is a pending job with a time: the queue waits
    // for that time, not for a wake or its idle look.
    add(&db, vec![job(None, "retried", 3)]).await;
    queue.wake();
    let all = tokio::time::timeout(Duration::from_secs(2), settle(&db))
        .await
        .expect("the retry ran within two seconds, before the idle look");
    assert!(all.iter().all(|j| j.status == Status::Done), "{all:?}");
    assert_eq!(
        *handler.seen.lock().unwrap(),
        ["unannounced", "retried", "retried"]
    );
    queue.stop(Duration::from_secs(1)).await;
}
