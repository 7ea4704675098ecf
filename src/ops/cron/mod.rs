//! Cairn's scheduled jobs: a small scheduler that wakes at the start of
//! every minute (UTC) and starts the jobs whose expression matches it.
//! Jobs are Cairn's own (retention, cleanups), registered at start with a
//! stable id that `GET /api/crons` lists and `POST /api/crons/{id}` runs.
//!
//! A job that fails is logged (as an error, which the server log forwards
//! to the request log) and simply runs again at its next time. A job still
//! running when it is due again, or asked to run now, is not started a
//! second time: its run is skipped, so a slow job never overlaps itself.

mod expression;

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Timelike, Utc};
use tokio_util::sync::CancellationToken;

pub use self::expression::{CronError, Schedule};

pub type JobFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
/// What a job does; called once per run.
pub type JobFn = Arc<dyn Fn() -> JobFuture + Send + Sync>;
/// A schedule read when it is needed (from the settings): `None` while
/// the job is off.
pub type ExpressionFn = Arc<dyn Fn() -> Option<String> + Send + Sync>;

/// When a job runs: fixed at registration, or read from the settings at
/// every minute, so a change to them takes effect without a restart.
enum When {
    Fixed { expression: String, schedule: Schedule },
    Settings(ExpressionFn),
}

impl When {
    /// The expression in force, and its schedule; `None` if off (or if
    /// the settings hold one that does not parse: they refuse those when
    /// saved, so only a hand-edited database gets here).
    fn now(&self) -> Option<(String, Schedule)> {
        match self {
            Self::Fixed { expression, schedule } => Some((expression.clone(), schedule.clone())),
            Self::Settings(read) => {
                let expression = read().filter(|e| !e.trim().is_empty())?;
                let schedule = expression.parse().ok()?;
                Some((expression, schedule))
            }
        }
    }
}

struct Job {
    id: String,
    when: When,
    run: JobFn,
    running: AtomicBool,
}

/// `POST /api/crons/{id}` named no registered job.
#[derive(Debug, thiserror::Error)]
#[error("no scheduled job has this id")]
pub struct UnknownJob;

/// The registered jobs.
#[derive(Default)]
pub struct Scheduler {
    jobs: Vec<Arc<Job>>,
}

/// Clears a job's running flag when its run ends, even by a panic.
struct Running(Arc<Job>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::Release);
    }
}

impl Scheduler {
    /// Registers job `id` on `expression` (a refused expression is an
    /// error, so a bad built-in schedule fails at start, not never runs).
    pub fn add(&mut self, id: &str, expression: &str, run: JobFn) -> Result<(), CronError> {
        let when = When::Fixed {
            expression: expression.to_owned(),
            schedule: expression.parse()?,
        };
        self.push(id, when, run);
        Ok(())
    }

    /// Registers job `id` on the expression `expression` reads each time
    /// (the scheduled backups' `settings.backups.cron`); while it reads
    /// `None` or blank the job is off, and neither listed nor runnable.
    pub fn add_from_settings(&mut self, id: &str, expression: ExpressionFn, run: JobFn) {
        self.push(id, When::Settings(expression), run);
    }

    fn push(&mut self, id: &str, when: When, run: JobFn) {
        self.jobs.retain(|j| j.id != id);
        self.jobs.push(Arc::new(Job {
            id: id.to_owned(),
            when,
            run,
            running: AtomicBool::new(false),
        }));
    }

    /// `(id, expression)` of every job that is on, in registration order.
    pub fn list(&self) -> Vec<(String, String)> {
        self.jobs
            .iter()
            .filter_map(|j| Some((j.id.clone(), j.when.now()?.0)))
            .collect()
    }

    /// Starts job `id` now, in the background (unless it is running).
    pub fn run_now(&self, id: &str) -> Result<(), UnknownJob> {
        let job = self
            .jobs
            .iter()
            .find(|j| j.id == id && j.when.now().is_some())
            .ok_or(UnknownJob)?;
        spawn(job.clone());
        Ok(())
    }

    /// Runs the jobs on their schedules until `stop` is cancelled.
    pub fn start(self: &Arc<Self>, stop: CancellationToken) {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                let wait = until_next_minute(Utc::now());
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
                // Woken a hair early or late, the minute is the nearest one.
                let now = Utc::now() + chrono::Duration::seconds(1);
                let due = this
                    .jobs
                    .iter()
                    .filter(|j| j.when.now().is_some_and(|(_, s)| s.matches(now)));
                for job in due {
                    spawn(job.clone());
                }
            }
        });
    }
}

/// How long from `now` until the next minute starts.
fn until_next_minute(now: DateTime<Utc>) -> Duration {
    let into = Duration::from_secs(u64::from(now.second()))
        + Duration::from_nanos(u64::from(now.nanosecond() % 1_000_000_000));
    Duration::from_secs(60)
        .saturating_sub(into)
        .max(Duration::from_millis(10))
}

fn spawn(job: Arc<Job>) {
    if job.running.swap(true, Ordering::AcqRel) {
        tracing::info!(job = %job.id, "scheduled job still running; this run is skipped");
        return;
    }
    let guard = Running(job);
    tokio::spawn(async move {
        let job = guard.0.clone();
        let result = (job.run)().await;
        drop(guard);
        if let Err(error) = result {
            tracing::error!(job = %job.id, %error, "scheduled job failed; it runs again at its next time");
        }
    });
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[tokio::test]
    async fn a_running_job_is_not_started_again() {
        let runs = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::watch::channel(false);
        let mut s = Scheduler::default();
        let counted = runs.clone();
        s.add(
            "slow",
            "* * * * *",
            Arc::new(move || {
                let (runs, mut released) = (counted.clone(), released.clone());
                Box::pin(async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    let _ = released.wait_for(|r| *r).await;
                    Err("failed on purpose".into())
                })
            }),
        )
        .expect("add");
        assert_eq!(s.list(), vec![("slow".to_owned(), "* * * * *".to_owned())]);
        assert!(s.run_now("nope").is_err());
        s.run_now("slow").expect("run");
        tokio::time::sleep(Duration::from_millis(50)).await;
        s.run_now("slow").expect("run");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1, "overlapping run skipped");
        release.send_replace(true);
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Failed, and free to run again.
        s.run_now("slow").expect("run");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_job_from_the_settings_is_on_only_while_they_name_a_schedule() {
        let expression = Arc::new(std::sync::Mutex::new(String::new()));
        let read = expression.clone();
        let mut s = Scheduler::default();
        s.add_from_settings(
            "auto",
            Arc::new(move || Some(read.lock().expect("lock").clone())),
            Arc::new(|| Box::pin(async { Ok(()) })),
        );
        assert!(s.list().is_empty(), "off while blank");
        assert!(s.run_now("auto").is_err());
        *expression.lock().expect("lock") = "0 3 * * *".into();
        assert_eq!(s.list(), vec![("auto".to_owned(), "0 3 * * *".to_owned())]);
        *expression.lock().expect("lock") = "not a schedule".into();
        assert!(s.list().is_empty(), "a schedule that does not parse is off");
    }

    #[test]
    fn waits_until_the_minute_turns() {
        let t = DateTime::parse_from_rfc3339("2026-01-01T10:00:45.500Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(until_next_minute(t), Duration::from_millis(14_500));
        assert!("61 * * * *".parse::<Schedule>().is_err());
    }
}
