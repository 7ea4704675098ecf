-- The log as one B-tree. Every request writes a row, and each B-tree a row
-- lands in is paid on that request: a rowid table with a text primary key
-- and an index on `created` is three. Now the rows are kept in
-- `_log_entries`, keyed by an integer that orders by time, `seq` (the
-- millisecond since 1970 shifted left 18 bits, then a count within the
-- millisecond), and `_logs` is a view in PocketBase's shape that reads
-- `id` and `created` from it: `id` is `seq` in 15 hex digits (PocketBase's
-- ids are 15 lowercase letters and digits, and these sort as `seq` does),
-- `created` its millisecond in PocketBase's format. A view rather than
-- generated columns, which SQLite computes on every insert. Sorting,
-- paging, retention and `created` ranges are served by `seq` itself
-- (src/ops/logs/query.rs turns a range on `created` into one on `seq`).
CREATE TABLE _log_entries (
    seq     INTEGER PRIMARY KEY,
    level   INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    data    JSON NOT NULL DEFAULT '{}'
);

-- The rows kept so far, in their order (by `created`, then as written),
-- each keyed at its millisecond, or just after the row before it when that
-- key is taken (`i` + the greatest `base - i` so far: keys that only grow).
-- Their ids change (they are read from `seq` now); their contents do not.
-- A row whose `created` is not a time (none that Cairn wrote) follows the
-- row before it.
WITH numbered AS (
    SELECT level, message, data, ms << 18 AS base,
           row_number() OVER (ORDER BY created, rowid) - 1 AS i
    FROM (
        SELECT rowid, created, level, message, data,
               coalesce(CAST(round(unixepoch(created, 'subsec') * 1000) AS INTEGER), 0) AS ms
        FROM _logs
    )
)
INSERT INTO _log_entries (seq, level, message, data)
SELECT i + max(base - i) OVER (ORDER BY i), level, message, data
FROM numbered
ORDER BY i;

DROP TABLE _logs;
CREATE VIEW _logs AS
SELECT seq,
       printf('%015x', seq) AS id,
       level,
       message,
       data,
       strftime('%Y-%m-%d %H:%M:%fZ', (seq >> 18) / 1000.0, 'unixepoch') AS created
FROM _log_entries;
