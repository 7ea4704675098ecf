#!/usr/bin/env python3
"""How long a truncate of a large collection takes, and the server's
memory after it: a collection nothing points at, N records written
straight into its table, then `DELETE /api/collections/big/truncate`
(each record deleted with its events, in chunks; see
src/records/delete.rs). One server per binary, in turn.

    python3 tests/bench/truncate.py --bins target/release/cairn[,OTHER] [--records 200000]
"""
import argparse, json, os, random, shutil, sqlite3, string, tempfile, time, urllib.request

from bench import Server


def call(base, method, path, body=None, token=None, timeout=600):
    """bench.call, with a status and a truncate's long timeout."""
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    if body is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", token)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        text = resp.read()
        return resp.status, json.loads(text) if text else None


def measure(binary, records):
    work = tempfile.mkdtemp(prefix="cairn-truncate-")
    data = os.path.join(work, "data")
    server = Server(binary, [binary, "serve"], [binary, "superuser", "upsert"], data)
    base, token = server.base, server.token
    try:
        call(base, "POST", "/api/collections", {"name": "big", "fields": [{"name": "t", "type": "text"}]}, token)
        db = sqlite3.connect(os.path.join(data, "data.db"), timeout=30)
        alphabet = string.ascii_lowercase + string.digits
        db.executemany("INSERT INTO big (id, t) VALUES (?, ?)",
                       ((''.join(random.choices(alphabet, k=15)), f"text {i}") for i in range(records)))
        db.commit()
        db.close()
        started = time.monotonic()
        status, _ = call(base, "DELETE", "/api/collections/big/truncate", token=token)
        took = time.monotonic() - started
        _, left = call(base, "GET", "/api/collections/big/records?perPage=1", token=token)
        with open(f"/proc/{server.proc.pid}/status") as f:
            rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        return status, took, left["totalItems"], rss
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bins", required=True, help="comma-separated paths of cairn binaries")
    ap.add_argument("--records", type=int, default=200_000)
    args = ap.parse_args()
    print("| binary | records | status | seconds | left | RSS after (MB) |\n|---|---:|---:|---:|---:|---:|")
    for binary in args.bins.split(","):
        status, took, left, rss = measure(binary, args.records)
        print(f"| {binary} | {args.records} | {status} | {took:.1f} | {left} | {rss / 1024:.0f} |")


if __name__ == "__main__":
    main()
