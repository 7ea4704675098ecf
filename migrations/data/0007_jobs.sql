-- The durable job queue (src/jobs): work that must happen after a write
-- commits (mail, webhook deliveries), enqueued in the write's own
-- transaction. `id` only grows (AUTOINCREMENT: a pruned id is never
-- handed out again), so jobs that share a `key` run in the order they
-- were enqueued. `uid` is what receivers deduplicate on: a retry or a
-- manual redelivery keeps it.
CREATE TABLE _jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    uid         TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    key         TEXT,
    tag         TEXT,
    payload     TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    maxAttempts INTEGER NOT NULL,
    runAt       INTEGER NOT NULL,
    lastError   TEXT    NOT NULL DEFAULT '',
    result      TEXT    NOT NULL DEFAULT '',
    created     TEXT    NOT NULL,
    updated     TEXT    NOT NULL
);
-- What is due, in order: only pending jobs are in it.
CREATE INDEX idx__jobs_due ON _jobs (runAt, id) WHERE status = 'pending';
-- Whether an earlier job of the same key is still to finish.
CREATE INDEX idx__jobs_key ON _jobs (key, id) WHERE key IS NOT NULL AND status IN ('pending', 'running');
-- A kind's jobs for one owner (a webhook's deliveries), newest first.
CREATE INDEX idx__jobs_tag ON _jobs (kind, tag, id);
-- Finished jobs, for the pruning.
CREATE INDEX idx__jobs_finished ON _jobs (updated) WHERE status IN ('done', 'dead');
