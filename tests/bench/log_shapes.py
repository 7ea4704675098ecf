#!/usr/bin/env python3
"""What a request-log row costs SQLite by the shape of its table: the
instructions (callgrind) to insert N rows like the request log's, in
transactions of 1,000 as the log's writer batches them, into

  now      the shape `_logs` had before migrations/auxiliary/0005: a text
           primary key on a rowid table (two B-trees) and an index on
           `created`;
  norowid  the same WITHOUT ROWID (the text key holds the row);
  seq      the shape 0005 gave it: one B-tree (`_log_entries`), an integer
           key that orders by time, and a view `_logs` that reads `id` and
           `created` from the key;

less a run that builds the same rows and inserts none. Python's sqlite3
module does the inserts (the system's SQLite, not Cairn's build), so the
per-row figure includes its binding; the differences between shapes are
SQLite's.

    python3 tests/bench/log_shapes.py [--rows 100000]
"""
import argparse, os, re, shutil, subprocess, sys, tempfile, time

SHAPES = {
    "now": ["CREATE TABLE _logs (id TEXT PRIMARY KEY NOT NULL, level INTEGER NOT NULL DEFAULT 0,"
            " message TEXT NOT NULL DEFAULT '', data JSON NOT NULL DEFAULT '{}', created TEXT NOT NULL)",
            "CREATE INDEX idx_logs_created ON _logs (created)"],
    "norowid": ["CREATE TABLE _logs (id TEXT PRIMARY KEY NOT NULL, level INTEGER NOT NULL DEFAULT 0,"
                " message TEXT NOT NULL DEFAULT '', data JSON NOT NULL DEFAULT '{}', created TEXT NOT NULL)"
                " WITHOUT ROWID",
                "CREATE INDEX idx_logs_created ON _logs (created)"],
    "seq": ["CREATE TABLE _log_entries (seq INTEGER PRIMARY KEY, level INTEGER NOT NULL DEFAULT 0,"
            " message TEXT NOT NULL DEFAULT '', data JSON NOT NULL DEFAULT '{}')",
            "CREATE VIEW _logs AS SELECT seq, printf('%015x', seq) AS id, level, message, data,"
            " strftime('%Y-%m-%d %H:%M:%fZ', (seq >> 18) / 1000.0, 'unixepoch') AS created FROM _log_entries"],
}
DATA = ('{"auth":"","execTime":0.123,"method":"GET","referer":"","remoteIP":"127.0.0.1",'
        '"requestId":"a8f3k2m1q9z0x7c","status":200,"type":"request",'
        '"url":"/api/collections/bench_read/records/r00000000001234","userAgent":"wrk/4.2","userIP":"127.0.0.1"}')


def insert(shape, rows, path):
    """The measured program: run under callgrind by `main`."""
    import sqlite3
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=NORMAL")
    for sql in SHAPES.get(shape, []):
        c.execute(sql)
    base = 1_765_000_000_000
    made = []
    for i in range(rows):
        ms = base + i // 5  # five requests a millisecond
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"
        made.append((ms << 18 | i % 5, f"{ms:x}{i:07d}"[-15:], 0,
                     "GET /api/collections/bench_read/records/r00000000001234", DATA, created))
    if shape == "none":
        return
    if shape == "seq":
        sql, take = "INSERT INTO _log_entries (seq, level, message, data) VALUES (?, ?, ?, ?)", lambda r: (r[0], *r[2:5])
    else:
        sql, take = "INSERT INTO _logs (id, level, message, data, created) VALUES (?, ?, ?, ?, ?)", lambda r: r[1:]
    for b in range(0, rows, 1000):
        c.execute("BEGIN")
        c.executemany(sql, [take(r) for r in made[b:b + 1000]])
        c.execute("COMMIT")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        insert(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="cairn-log-shapes-")
    totals = {}
    for shape in ["none", *SHAPES]:
        out = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={work}/cg.{shape}",
                              sys.executable, os.path.abspath(__file__), "--child", shape, str(args.rows),
                              f"{work}/{shape}.db"], capture_output=True, text=True, timeout=1800)
        totals[shape] = int(re.search(r"Collected : (\d+)", out.stderr).group(1))
    print("| shape | instructions per row (less building it) |\n|---|---:|")
    for shape in SHAPES:
        print(f"| {shape} | {(totals[shape] - totals['none']) / args.rows:,.0f} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
