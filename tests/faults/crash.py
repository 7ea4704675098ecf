#!/usr/bin/env python3
"""Crash safety: SIGKILL `cairn serve` at random moments under a concurrent
write load, restart it on the same folder, and check what survived.

Every round, worker threads create (JSON and multipart with a file),
update, delete and batch-create records, each worker on its own records
and one request at a time, so at any moment a worker has at most one
request whose outcome it does not know. The server is killed with SIGKILL
at a random moment, restarted, and then:

- every write that was acknowledged (a 200/204 answer received) is there,
  with the acknowledged value; a write that was in flight may be there
  or not, but never half (a batch's records all or none);
- no record exists that no worker ever sent (ids are chosen by the client);
- every record's file is on disk and downloads with the bytes sent;
- files on disk that no record names (a crash between writing a file and
  committing its record, or between a commit and removing the files it
  dropped) are gone a few seconds after the restart (`files::sweep`);
- `PRAGMA integrity_check` on data.db answers `ok`.

Usage: python3 tests/faults/crash.py [--rounds 100] [--bin target/debug/cairn]
CI runs a few rounds (tests/run.sh); `--rounds 100` is the on-demand run
whose result is recorded in tests/faults/RESULTS.md.
Only loopback traffic; every wait is bounded.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import sqlite3
import string
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ALPHABET = string.ascii_lowercase + string.digits


def new_id(rng):
    return "".join(rng.choice(ALPHABET) for _ in range(15))


class Server:
    def __init__(self, binary, data_dir):
        self.binary, self.data_dir = binary, data_dir
        self.proc = None
        self.port = None

    def start(self):
        log = open(os.path.join(os.path.dirname(self.data_dir), "serve.log"), "ab")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--http", "127.0.0.1:0", "--dir", self.data_dir],
            stdout=subprocess.PIPE,
            stderr=log,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode()
            if not line:
                raise SystemExit(f"cairn exited at start (code {self.proc.wait()}); see serve.log")
            if line.startswith("Server started at http://"):
                self.port = int(line.strip().rsplit(":", 1)[1])
                # Drain the rest of stdout so the server never blocks on it.
                threading.Thread(target=self.proc.stdout.read, daemon=True).start()
                return
        raise SystemExit("cairn did not start within 60 s")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        if code != 0:
            raise SystemExit(f"cairn exited with {code} on TERM")


class Api:
    """One keep-alive connection; any transport failure raises OSError-like."""

    def __init__(self, port, token=None, timeout=30):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.token = token

    def call(self, method, path, body=None, headers=None, raw=None):
        h = {"Authorization": self.token} if self.token else {}
        h.update(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=h)
        resp = self.conn.getresponse()
        payload = resp.read()
        return resp.status, payload

    def json(self, method, path, body=None, expect=200):
        status, payload = self.call(method, path, body)
        if status != expect:
            raise RuntimeError(f"{method} {path}: {status} {payload[:300]!r}")
        return json.loads(payload) if payload else None


def multipart(fields, file_field, file_name, content):
    boundary = uuid.uuid4().hex
    parts = []
    for k, v in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{file_name}"\r\n'
        f"Content-Type: text/plain\r\n\r\n".encode() + content + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


class Worker(threading.Thread):
    """Writes to its own records, one request at a time, and remembers what
    was acknowledged (`model`) and what was in flight when the server died."""

    def __init__(self, index, port, token, model, seed):
        super().__init__(daemon=True)
        self.index, self.port, self.token = index, port, token
        self.model = model  # id -> {"n": int, "file": bytes | None}
        self.rng = random.Random(seed)
        self.inflight = None
        self.acked = 0
        self.error = None

    def run(self):
        try:
            api = Api(self.port, self.token)
            while True:
                self.step(api)
        except (OSError, http.client.HTTPException):
            return  # the server went away: what was in flight stays in self.inflight
        except Exception as err:  # an answer we did not expect: a finding
            self.error = repr(err)

    def step(self, api):
        rng, ids = self.rng, list(self.model)
        op = rng.choices(["create", "upload", "update", "delete", "batch"], [3, 2, 4, 1, 1])[0]
        if op in ("update", "delete") and not ids:
            op = "create"
        if op == "create":
            rid = new_id(rng)
            self.inflight = ("create", [rid])
            api.json("POST", "/api/collections/items/records", {"id": rid, "owner": self.index, "n": 0})
            self.model[rid] = {"n": 0, "file": None}
        elif op == "upload":
            rid = new_id(rng)
            content = os.urandom(rng.randint(10, 20000))
            body, headers = multipart({"id": rid, "owner": self.index, "n": 0}, "doc", "f.bin", content)
            self.inflight = ("create", [rid])
            status, payload = api.call("POST", "/api/collections/items/records", raw=body, headers=headers)
            if status != 200:
                raise RuntimeError(f"upload: {status} {payload[:300]!r}")
            self.model[rid] = {"n": 0, "file": content}
        elif op == "update":
            rid = rng.choice(ids)
            n = self.model[rid]["n"] + 1
            self.inflight = ("update", [rid], n)
            api.json("PATCH", f"/api/collections/items/records/{rid}", {"n": n})
            self.model[rid]["n"] = n
        elif op == "delete":
            rid = rng.choice(ids)
            self.inflight = ("delete", [rid])
            api.json("DELETE", f"/api/collections/items/records/{rid}", expect=204)
            del self.model[rid]
        else:
            rids = [new_id(rng) for _ in range(3)]
            self.inflight = ("create", rids)
            requests = [
                {"method": "POST", "url": "/api/collections/items/records", "body": {"id": r, "owner": self.index, "n": 0}}
                for r in rids
            ]
            api.json("POST", "/api/batch", {"requests": requests})
            for r in rids:
                self.model[r] = {"n": 0, "file": None}
        self.inflight = None
        self.acked += 1


def setup(binary, data_dir):
    subprocess.run(
        [binary, "superuser", "upsert", "crash@example.com", "crash-pass-123", "--dir", data_dir],
        check=True,
        capture_output=True,
        timeout=60,
    )
    server = Server(binary, data_dir)
    server.start()
    token = sign_in(server.port)
    api = Api(server.port, token)
    api.json("PATCH", "/api/settings", {"rateLimits": {"enabled": False}, "batch": {"enabled": True, "maxRequests": 50}})
    api.json(
        "POST",
        "/api/collections",
        {
            "name": "items",
            "type": "base",
            "fields": [
                {"name": "owner", "type": "number"},
                {"name": "n", "type": "number"},
                {"name": "doc", "type": "file", "maxSelect": 1, "maxSize": 1048576},
            ],
        },
    )
    server.stop()


def sign_in(port):
    body = Api(port).json(
        "POST",
        "/api/collections/_superusers/auth-with-password",
        {"identity": "crash@example.com", "password": "crash-pass-123"},
    )
    return body["token"]


def unnamed_files(storage, named):
    found = []
    if os.path.isdir(storage):
        for rid in os.listdir(storage):
            for name in os.listdir(os.path.join(storage, rid)):
                if not name.startswith("thumbs_") and (rid, name) not in named:
                    found.append(f"{rid}/{name}")
    return found


def verify(port, token, data_dir, workers, models):
    """Returns a list of findings (empty: the round passed), and brings each
    model to what the server holds for the in-flight write."""
    api = Api(port, token, timeout=60)
    items = {}
    page = 1
    while True:
        body = api.json("GET", f"/api/collections/items/records?perPage=1000&page={page}&skipTotal=1")
        for r in body["items"]:
            items[r["id"]] = r
        if len(body["items"]) < 1000:
            break
        page += 1
    collection_id = api.json("GET", "/api/collections/items")["id"]
    problems = []
    known = set()
    for w, model in zip(workers, models):
        inflight = w.inflight
        uncertain = set(inflight[1]) if inflight else set()
        known |= set(model) | uncertain
        for rid, want in list(model.items()):
            got = items.get(rid)
            if got is None:
                if inflight and inflight[0] == "delete" and rid in uncertain:
                    del model[rid]  # the delete committed before the kill
                    continue
                problems.append(f"acknowledged record {rid} (worker {w.index}) is missing")
                continue
            ns = {want["n"]}
            if inflight and inflight[0] == "update" and rid in uncertain:
                ns.add(inflight[2])
            if got["n"] not in ns:
                problems.append(f"record {rid}: n={got['n']}, expected one of {sorted(ns)}")
            model[rid]["n"] = got["n"]
        if inflight and inflight[0] == "create":
            present = [r for r in inflight[1] if r in items]
            if present and len(present) != len(inflight[1]):
                problems.append(f"half a batch committed: {present} of {inflight[1]}")
            for r in present:
                model[r] = {"n": items[r]["n"], "file": "unknown" if items[r]["doc"] else None}
    strangers = set(items) - known
    if strangers:
        problems.append(f"records no worker sent: {sorted(strangers)[:5]}")
    # Files: every record's file is on disk and downloads with its bytes.
    storage = os.path.join(data_dir, "storage", collection_id)
    named = set()
    for rid, r in items.items():
        if not r["doc"]:
            continue
        named.add((rid, r["doc"]))
        path = os.path.join(storage, rid, r["doc"])
        if not os.path.isfile(path):
            problems.append(f"record {rid} names {r['doc']}, which is not on disk")
            continue
        want = next((m[rid]["file"] for m in models if rid in m), None)
        status, content = api.call("GET", f"/api/files/{collection_id}/{rid}/{r['doc']}")
        if status != 200:
            problems.append(f"file of {rid}: download answered {status}")
        elif isinstance(want, bytes) and content != want:
            problems.append(f"file of {rid}: downloaded bytes differ from those sent")
    # Files no record names: the sweep after start removes them (all
    # predate this server process); give it a few seconds.
    deadline = time.monotonic() + 10
    while True:
        orphans = unnamed_files(storage, named)
        if not orphans or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if orphans:
        problems.append(f"{len(orphans)} files no record names are still on disk, e.g. {orphans[:3]}")
    db = sqlite3.connect(f"file:{os.path.join(data_dir, 'data.db')}?mode=ro", uri=True, timeout=30)
    check = db.execute("PRAGMA integrity_check").fetchall()
    db.close()
    if check != [("ok",)]:
        problems.append(f"integrity_check: {check[:5]}")
    return problems, len(items)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bin", default=os.path.join(root, "target", "debug", "cairn"))
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--min-load", type=float, default=0.2, help="shortest load before the kill, seconds")
    parser.add_argument("--max-load", type=float, default=2.0, help="longest load before the kill, seconds")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the data folder")
    parser.add_argument(
        "--plant",
        action="store_true",
        help="self-check: after each kill, delete one acknowledged record behind the server's back; "
        "every round must then FAIL, proving the check sees a lost write",
    )
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="cairn-crash-")
    data_dir = os.path.join(work, "data")
    print(f"crash safety: {args.rounds} rounds, {args.workers} workers, seed {seed}, folder {work}")
    setup(args.bin, data_dir)
    models = [dict() for _ in range(args.workers)]
    failures, acked_total = 0, 0
    for round_no in range(1, args.rounds + 1):
        server = Server(args.bin, data_dir)
        server.start()
        token = sign_in(server.port)
        workers = [Worker(i, server.port, token, models[i], rng.randrange(1 << 30)) for i in range(args.workers)]
        for w in workers:
            w.start()
        time.sleep(rng.uniform(args.min_load, args.max_load))
        server.kill()
        for w in workers:
            w.join(timeout=60)
        acked = sum(w.acked for w in workers)
        acked_total += acked
        errors = [f"worker {w.index}: {w.error}" for w in workers if w.error]
        if args.plant:
            victim = next((rid for m in models for rid in m), None)
            if victim:
                db = sqlite3.connect(os.path.join(data_dir, "data.db"), timeout=30)
                db.execute("DELETE FROM items WHERE id = ?", (victim,))
                db.commit()
                db.close()
        server = Server(args.bin, data_dir)
        server.start()
        token = sign_in(server.port)
        problems, count = verify(server.port, token, data_dir, workers, models)
        problems += errors
        server.stop()
        status = "ok" if not problems else "FAIL"
        print(f"round {round_no}: {acked} writes acknowledged, {count} records: {status}")
        for p in problems:
            print(f"  - {p}")
        failures += bool(problems)
    print(f"{args.rounds - failures} of {args.rounds} rounds ok; {acked_total} acknowledged writes checked")
    print(f"# pass {args.rounds - failures}")
    print(f"# fail {failures}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
