//! WAL checkpoints, kept off the writer's path.
//!
//! SQLite's automatic checkpoint runs inside the `COMMIT` that pushes the
//! WAL past its threshold, on the committing connection: the writer then
//! copies pages into the main file and waits for two fsyncs while every
//! queued write waits behind it. With `synchronous = NORMAL` a WAL commit
//! itself never syncs, so those checkpoints were the only time the writer
//! blocked on the disk (measured: most of its off-CPU time under a flood
//! of creates, and the gap between Cairn on disk and on tmpfs).
//!
//! So the writer's connection has no automatic checkpoint. A WAL hook
//! tells the writer how long the WAL is after each commit; every
//! `NUDGE_FRAMES` new frames it wakes this module's thread, which runs a
//! `PASSIVE` checkpoint on its own connection: it copies what it can
//! without taking the write lock, so commits go on meanwhile. A passive
//! checkpoint can never finish while writes keep arriving, and SQLite
//! only rewinds the WAL after one that finished, so past `CATCH_UP_FRAMES`
//! the writer runs one itself, between transactions (short: the
//! background has copied almost everything), and the WAL starts over.
//!
//! When writes stop, the thread also copies what is left once the writer
//! has been idle for an `IDLE_TICK`. Until every frame is back in the main
//! file, each read looks up every page it touches in the WAL's index,
//! whose probe chains grow with every version of a hot page; once all are
//! copied, readers skip the WAL altogether. Without it, the frames after
//! the last nudge stayed until the next burst of writes: a view by id then
//! spent about a seventh of its instructions in that lookup (callgrind).
//!
//! Litestream (see the store's module doc) follows the WAL from another
//! process and must see every frame before the WAL starts over. Every
//! checkpoint above is `PASSIVE`, which never rewinds the WAL itself;
//! SQLite rewinds it at the next write only when no reader of an older
//! snapshot is left, and Litestream holds one at all times but inside
//! its own checkpoint, so while it runs only its checkpoints let the WAL
//! start over. The one `TRUNCATE` is at shutdown (`at_rest`), and it is left
//! out when Litestream's tables are in the database.

use std::{
    cell::Cell,
    path::Path,
    sync::{
        Arc, Mutex, PoisonError, TryLockError,
        atomic::{AtomicU64, Ordering},
        mpsc::{self, RecvTimeoutError},
    },
    thread,
    time::Duration,
};

use rusqlite::{Connection, OpenFlags, hooks::Wal};

use super::StoreError;

/// New WAL frames (pages) between background checkpoints: SQLite's own
/// automatic-checkpoint threshold.
const NUDGE_FRAMES: i32 = 1000;
/// WAL length (frames) at which the writer stops for a checkpoint that
/// finishes, so the WAL is rewound: about 128 MiB with 4 KiB pages. That
/// stop (copying the last frames and syncing) is the one time writes wait
/// for the disk, so it is made rare: at 8000 frames it came four times a
/// second under a flood of creates and set their p99 (11 ms, against
/// 5.6 ms at this length; reads were no slower). Unit tests use a short
/// WAL so that they can fill it quickly.
#[cfg(not(test))]
const CATCH_UP_FRAMES: i32 = 32_000;
#[cfg(test)]
const CATCH_UP_FRAMES: i32 = 4_000;
/// How long the writer must have committed nothing before the WAL's
/// remaining frames are copied back.
const IDLE_TICK: Duration = Duration::from_millis(100);

thread_local! {
    /// Frames in the WAL after the last commit on this thread's
    /// connection. The hook gets no state of its own, and each writer
    /// owns its thread, so the thread is the state.
    static WAL_FRAMES: Cell<i32> = const { Cell::new(0) };
}

fn note_wal_frames(_: &Wal, frames: std::ffi::c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.with(|f| f.set(frames));
    Ok(())
}

/// Checkpoints one database: from its own thread when nudged, or at once
/// on the caller's thread. Both go through one connection, so they never
/// race (a checkpoint that finds another running fails at once with
/// `SQLITE_BUSY` rather than waiting).
pub(super) struct Checkpointer {
    conn: Arc<Mutex<Connection>>,
    wake: Option<mpsc::SyncSender<()>>,
    thread: Option<thread::JoinHandle<()>>,
    /// WAL length when the background was last woken.
    nudged_at: i32,
}

impl Checkpointer {
    /// Takes over checkpointing `writer`'s database. The thread that
    /// commits on `writer` counts each commit in `commits` (which tells
    /// this one when writes have stopped) and then calls `after_commit`.
    pub(super) fn start(
        writer: &Connection,
        path: &Path,
        commits: Arc<AtomicU64>,
    ) -> Result<Self, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // A checkpoint waits for readers of old snapshots; not forever.
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let conn = Arc::new(Mutex::new(conn));
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let background = conn.clone();
        let name = format!(
            "cairn-ckpt-{}",
            path.file_stem().and_then(|s| s.to_str()).unwrap_or("db")
        );
        let thread = thread::Builder::new()
            .name(name)
            .spawn(move || {
                // Commits as of the last tick, and as of the start of the
                // last checkpoint that copied every frame.
                let (mut last_tick, mut all_copied) = (0, 0);
                loop {
                    let now = commits.load(Ordering::Acquire);
                    match woken.recv_timeout(IDLE_TICK) {
                        Ok(()) => {}
                        Err(RecvTimeoutError::Timeout) => {
                            let idle = now == last_tick;
                            last_tick = now;
                            if !idle || now == all_copied {
                                continue;
                            }
                        }
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                    let conn = background.lock().unwrap_or_else(PoisonError::into_inner);
                    match checkpoint(&conn, "PASSIVE") {
                        Ok(true) => all_copied = now,
                        Ok(false) => {}
                        Err(err) => tracing::warn!(error = %err, "background WAL checkpoint failed"),
                    }
                }
            })
            .map_err(|_| StoreError::WorkerLost)?;
        // Replaces SQLite's automatic checkpoint (itself a WAL hook).
        writer.wal_hook(Some(note_wal_frames));
        Ok(Self {
            conn,
            wake: Some(wake),
            thread: Some(thread),
            nudged_at: 0,
        })
    }

    /// Called by the writer after each commit, between transactions.
    pub(super) fn after_commit(&mut self) {
        let frames = WAL_FRAMES.with(Cell::get);
        if frames < self.nudged_at {
            // The WAL was rewound.
            self.nudged_at = 0;
        }
        if frames >= CATCH_UP_FRAMES {
            // Not behind a background pass still copying: every queued
            // write would wait for it too. The next commit tries again,
            // unless the WAL has grown far past the mark.
            let conn = match self.conn.try_lock() {
                Ok(conn) => Some(conn),
                Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
                Err(TryLockError::WouldBlock) if frames >= 2 * CATCH_UP_FRAMES => {
                    Some(self.conn.lock().unwrap_or_else(PoisonError::into_inner))
                }
                Err(TryLockError::WouldBlock) => None,
            };
            if let Some(conn) = conn {
                if let Err(err) = checkpoint(&conn, "PASSIVE") {
                    tracing::warn!(error = %err, "WAL checkpoint failed");
                }
                self.nudged_at = 0;
            }
        } else if frames - self.nudged_at >= NUDGE_FRAMES {
            self.nudged_at = frames;
            if let Some(wake) = &self.wake {
                // Full: a wake-up is already pending, which is enough.
                let _ = wake.try_send(());
            }
        }
    }

    /// Checkpoints now, on the caller's thread, after any background one
    /// in flight. `mode` is one of SQLite's: `PASSIVE`, `TRUNCATE`, ...
    #[cfg(test)]
    pub(super) fn now(&self, mode: &str) -> Result<(), StoreError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        checkpoint(&conn, mode).map(|_| ())
    }

    /// Folds the WAL back into the main file and empties it, for a
    /// shutdown: the data folder at rest is then one file. Not when
    /// Litestream follows this database: `TRUNCATE` would wait for its
    /// read transaction (the whole busy timeout, 10 s, measured), and
    /// should it win (in the moment Litestream's own checkpoint lets go
    /// of it) Litestream finds the WAL cut short behind its back and
    /// takes a full new snapshot. Then a `PASSIVE` pass copies what it
    /// can: everything when no other process reads (Litestream gone, its
    /// tables left), so `data.db` alone is complete though the `-wal`
    /// file stays; under Litestream, the rest when Litestream's own close,
    /// the last, folds the WAL.
    pub(super) fn at_rest(&self) -> Result<(), StoreError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let mode = if followed_by_litestream(&conn)? {
            "PASSIVE"
        } else {
            "TRUNCATE"
        };
        checkpoint(&conn, mode).map(|_| ())
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Closing the channel ends the thread once its checkpoint is done.
        self.wake = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Whether Litestream has taken this database in hand: it creates
/// `_litestream_seq` (which it writes to after each of its checkpoints)
/// when it starts following a database. Looked up when needed, not at
/// start-up, because Litestream may start after Cairn. A table left from
/// an earlier use of Litestream only costs the shutdown its `TRUNCATE`:
/// the `-wal` file is left, its frames all copied.
pub(super) fn followed_by_litestream(conn: &Connection) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = '_litestream_seq'",
        [],
        |r| r.get(0),
    )?)
}

/// Runs a checkpoint; whether it copied every frame of the WAL.
fn checkpoint(conn: &Connection, mode: &str) -> Result<bool, StoreError> {
    let started = std::time::Instant::now();
    // Busy means readers of older snapshots held part of it back, which
    // the next one picks up.
    let (busy, frames, copied): (i64, i64, i64) =
        conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    tracing::debug!(
        mode,
        busy = busy != 0,
        frames,
        copied,
        ms = started.elapsed().as_secs_f64() * 1e3,
        "WAL checkpoint"
    );
    Ok(busy == 0 && copied == frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wal_len(path: &Path) -> u64 {
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        std::fs::metadata(wal).map_or(0, |m| m.len())
    }

    /// A database with one table of page-sized rows, and a writer that
    /// inserts one row per commit and reports each commit.
    struct Fixture {
        _dir: tempfile::TempDir,
        path: std::path::PathBuf,
        writer: Connection,
        commits: Arc<AtomicU64>,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("c.db");
            let writer = super::super::connection::open_writer(&path).expect("open");
            writer.execute_batch("CREATE TABLE t (x BLOB)").expect("table");
            Self {
                _dir: dir,
                path,
                writer,
                commits: Arc::default(),
            }
        }

        fn insert(&self, ckpt: &mut Checkpointer) {
            self.writer
                .execute("INSERT INTO t (x) VALUES (?1)", [vec![7u8; 3000]])
                .expect("insert");
            self.commits.fetch_add(1, Ordering::Release);
            ckpt.after_commit();
        }

        fn checkpointer(&self) -> Checkpointer {
            Checkpointer::start(&self.writer, &self.path, self.commits.clone()).expect("start")
        }
    }

    #[test]
    fn checkpoints_run_in_the_background_not_on_commit() {
        let db = Fixture::new();
        let before = std::fs::metadata(&db.path).expect("db").len();
        let mut ckpt = db.checkpointer();
        // A row fills most of a page. Had a commit checkpointed, the WAL
        // would have been rewound and never reached three thresholds.
        let mut rows = 0;
        while WAL_FRAMES.with(Cell::get) < NUDGE_FRAMES * 3 {
            db.insert(&mut ckpt);
            rows += 1;
            assert!(rows < 10_000, "the WAL stopped growing");
        }
        // Dropping waits for the pending background checkpoint.
        drop(ckpt);
        let after = std::fs::metadata(&db.path).expect("db").len();
        assert!(
            after >= before + 4096 * (rows / 4),
            "pages reached the main file: {before} -> {after} bytes, {rows} rows"
        );
    }

    #[test]
    fn what_is_left_is_copied_back_once_writes_stop() {
        let db = Fixture::new();
        let mut ckpt = db.checkpointer();
        let before = std::fs::metadata(&db.path).expect("db").len();
        // Far fewer frames than a nudge takes.
        for _ in 0..40 {
            db.insert(&mut ckpt);
        }
        assert!(WAL_FRAMES.with(Cell::get) < NUDGE_FRAMES);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&db.path).expect("db").len() < before + 4096 * 40 {
            assert!(
                std::time::Instant::now() < deadline,
                "the idle writer's frames never reached the main file"
            );
            thread::sleep(IDLE_TICK);
        }
        // Copied while the checkpointer still runs, not by its drop.
        drop(ckpt);
    }

    #[test]
    fn a_long_wal_is_caught_up_and_rewound() {
        let db = Fixture::new();
        let mut ckpt = db.checkpointer();
        let (mut most, mut last, mut rewound) = (0, 0, false);
        for _ in 0..(CATCH_UP_FRAMES * 3) {
            db.insert(&mut ckpt);
            let frames = WAL_FRAMES.with(Cell::get);
            rewound |= frames < last;
            (last, most) = (frames, most.max(frames));
        }
        assert!(rewound, "the WAL was never rewound");
        // A catch-up may wait for a background pass to end, but never past
        // twice the mark; a commit reports the frames it found plus its own.
        assert!(most < 2 * CATCH_UP_FRAMES + 16, "WAL reached {most} frames");
        ckpt.now("TRUNCATE").expect("truncate");
        assert_eq!(wal_len(&db.path), 0);
    }

    /// What Litestream does to a database it follows: its table, and a
    /// read transaction on the snapshot of the moment.
    fn follow_like_litestream(path: &Path) -> Connection {
        let follower = Connection::open(path).expect("open");
        follower
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER);
                 BEGIN; SELECT count(*) FROM _litestream_seq;",
            )
            .expect("read transaction");
        follower
    }

    #[test]
    fn under_litestream_shutdown_leaves_the_wal_whole() {
        for litestream in [false, true] {
            let db = Fixture::new();
            if litestream {
                db.writer
                    .execute_batch("CREATE TABLE _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER)")
                    .expect("table");
            }
            let mut ckpt = db.checkpointer();
            for _ in 0..20 {
                db.insert(&mut ckpt);
            }
            ckpt.at_rest().expect("at rest");
            let wal = wal_len(&db.path);
            // Without Litestream, the positive control: the WAL is emptied.
            assert_eq!(
                wal == 0,
                !litestream,
                "litestream {litestream}: WAL of {wal} bytes"
            );
        }
    }

    #[test]
    fn under_litestream_shutdown_does_not_wait_for_its_reader() {
        let db = Fixture::new();
        let mut ckpt = db.checkpointer();
        db.insert(&mut ckpt);
        let follower = follow_like_litestream(&db.path);
        // Frames past the follower's snapshot: a TRUNCATE would wait for
        // it for the whole busy timeout (10 s).
        for _ in 0..20 {
            db.insert(&mut ckpt);
        }
        let started = std::time::Instant::now();
        ckpt.at_rest().expect("at rest");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "waited {:?} for Litestream's reader",
            started.elapsed()
        );
        drop(follower);
    }
}
