#!/usr/bin/env python3
"""A long run under a mixed load: is Cairn still the same server after
ten minutes at 80% of its peak?

The load (examples/soak_load.rs): 58% record views, 15% filtered lists,
10% creates, 6% updates, 10% deletes (the collection stays near 2,000
records, so the work per request does not grow with time), 1% password
sign-ins, plus realtime clients subscribed to the collection. First the peak is measured (closed
loop, --concurrency workers, --peak-seconds); then that rate times
--fraction is held open-loop (requests start on schedule whether or not
the server keeps up) for --seconds, while this script samples the server's
RSS and open files once a second. `--rate N` holds N requests/s instead,
with no peak phase: two builds compared under one and the same load.

Before the load, the server writes --prefill-mb of records into a
collection of their own (which the load never touches), so the database
is larger than the writers' page caches (32 MiB each, store/connection.rs)
and they are full when the run starts, as on any server that has been up
for a while with real data. Without it, the writers' caches fill with
the load's own growth (its sign-ins add sessions) during the run, and
the verdict would count that filling as growth.

Verdict (--check): no failed request; RSS after warm-up (the first
--warmup fraction of the run) stays within 10% of its value at the end of
warm-up (the median of warm-up's last ten samples); the p99 of the last minute is at most twice the p99 of the first
minute after warm-up; realtime clients stayed connected and got events.

Usage:
  cargo build --release --bin cairn --example soak_load
  python3 tests/bench/soak.py --bin target/release/cairn \\
      --load target/release/examples/soak_load --seconds 600 --check --out soak.csv
Only loopback traffic; every wait is bounded.
"""
import argparse, json, os, shutil, socket, statistics, subprocess, sys, tempfile, threading, time, urllib.request

EMAIL, PASSWORD = "soak@example.com", "soak-pass-1234"
USER, USER_PASSWORD = "reader@example.com", "reader-pass-1234"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, token=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body is not None else None, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", token)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def start(binary, data_dir):
    subprocess.run([binary, "superuser", "upsert", EMAIL, PASSWORD, "--dir", data_dir], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    port = free_port()
    proc = subprocess.Popen([binary, "serve", "--http", f"127.0.0.1:{port}", "--dir", data_dir],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(data_dir, "server.log"), "w"))
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            call(base, "GET", "/api/health")
            return proc, base
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.1)


def setup(base):
    admin = call(base, "POST", "/api/collections/_superusers/auth-with-password",
                 {"identity": EMAIL, "password": PASSWORD})["token"]
    # The soak measures the server, not the limiter's refusals.
    call(base, "PATCH", "/api/settings", {"rateLimits": {"enabled": False}}, admin)
    signed_in = "@request.auth.id != ''"
    call(base, "POST", "/api/collections", {
        "name": "posts", "type": "base",
        "fields": [{"name": "title", "type": "text"}, {"name": "body", "type": "text"},
                   {"name": "score", "type": "number"},
                   {"name": "created", "type": "autodate", "onCreate": True}],
        "indexes": ["CREATE INDEX idx_posts_score ON posts (score)"],
        "listRule": "", "viewRule": "", "createRule": signed_in, "updateRule": signed_in, "deleteRule": signed_in,
    }, admin)
    call(base, "POST", "/api/collections/users/records",
         {"email": USER, "password": USER_PASSWORD, "passwordConfirm": USER_PASSWORD})
    user = call(base, "POST", "/api/collections/users/auth-with-password",
                {"identity": USER, "password": USER_PASSWORD})["token"]
    return admin, user


def prefill(base, admin, mb):
    """About `mb` MB of 2 KB records in `archive`, 200 to a batch request
    (each batch one write transaction on the server's writer)."""
    if mb <= 0:
        return
    call(base, "PATCH", "/api/settings", {"batch": {"enabled": True, "maxRequests": 200}}, admin)
    call(base, "POST", "/api/collections", {"name": "archive", "type": "base",
                                            "fields": [{"name": "text", "type": "text"}]}, admin)
    per_batch, size = 200, 2000
    for b in range(mb * 1_000_000 // (per_batch * size) + 1):
        call(base, "POST", "/api/batch", {"requests": [
            {"method": "POST", "url": "/api/collections/archive/records",
             "body": {"text": f"{b:06d}-{i:04d}-" + "x" * (size - 12)}} for i in range(per_batch)]}, admin)


def run_load(load, base, token, rate, seconds, concurrency, realtime):
    argv = [load, "--base", base, "--token", token, "--email", USER, "--password", USER_PASSWORD,
            "--rate", str(rate), "--seconds", str(seconds), "--concurrency", str(concurrency),
            "--realtime", str(realtime)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)


def proc_sample(pid):
    """RSS, open files, and RSS's anonymous (heap) and file-backed (SQLite's
    memory-mapped database pages) parts, in MB."""
    with open(f"/proc/{pid}/status") as f:
        kb = {l.split(":")[0]: int(l.split()[1]) for l in f if l.startswith(("VmRSS:", "RssAnon:", "RssFile:"))}
    return (kb["VmRSS"] / 1024, len(os.listdir(f"/proc/{pid}/fd")),
            kb.get("RssAnon", 0) / 1024, kb.get("RssFile", 0) / 1024)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/cairn")
    ap.add_argument("--load", default="target/release/examples/soak_load")
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--peak-seconds", type=int, default=10)
    ap.add_argument("--fraction", type=float, default=0.8)
    ap.add_argument("--rate", type=float, default=0,
                    help="hold this many requests/s instead of --fraction of a measured peak "
                         "(to compare two builds under one load)")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--realtime", type=int, default=20)
    ap.add_argument("--prefill-mb", type=int, default=48,
                    help="MB of records written before the load (0: start from an empty database)")
    ap.add_argument("--warmup", type=float, default=0.2, help="fraction of the run counted as warm-up")
    ap.add_argument("--check", action="store_true", help="exit 1 unless the verdict holds")
    ap.add_argument("--short", action="store_true",
                    help="CI: too short to judge memory or p99; checks only errors and realtime")
    ap.add_argument("--out", help="per-second CSV")
    ap.add_argument("--keep", help="move the data folder (request log, server.log) here instead of deleting it")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="cairn-soak-")
    proc, base = start(args.bin, work)
    try:
        admin, token = setup(base)
        prefill(base, admin, args.prefill_mb)
        if args.rate > 0:
            rate, why = args.rate, "as asked"
        else:
            peak_run = run_load(args.load, base, token, 0, args.peak_seconds, args.concurrency, args.realtime)
            peak_lines = [json.loads(l) for l in peak_run.stdout]
            peak_run.wait(timeout=60)
            steady = [l["ok"] for l in peak_lines[2:]] or [l["ok"] for l in peak_lines]
            peak = statistics.median(steady)
            rate = max(1.0, peak * args.fraction)
            why = f"{args.fraction:.0%} of a closed-loop peak of {peak:.0f} req/s with {args.concurrency} workers"
        print(f"holding {rate:.0f} req/s ({why}) for {args.seconds} s with {args.realtime} realtime clients",
              flush=True)

        rows = []
        samples = {}
        stop = threading.Event()

        def sampler():
            t0 = time.monotonic()
            while not stop.is_set():
                t = round(time.monotonic() - t0)
                try:
                    samples[t] = proc_sample(proc.pid)
                except OSError:
                    pass
                stop.wait(1.0 - ((time.monotonic() - t0) % 1.0))

        load = run_load(args.load, base, token, rate, args.seconds, args.concurrency, args.realtime)
        th = threading.Thread(target=sampler, daemon=True)
        th.start()
        for line in load.stdout:
            row = json.loads(line)
            rss, fds, anon, mapped = samples.get(row["t"], samples.get(row["t"] - 1, (0, 0, 0, 0)))
            row.update(rss_mb=round(rss, 1), fds=fds, anon_mb=round(anon, 1), file_mb=round(mapped, 1))
            rows.append(row)
            if row["t"] % 30 == 0 or row["errors"]:
                print(f"t={row['t']:4d}s ok={row['ok']:6d} err={row['errors']} p50={row['p50']:.2f} ms "
                      f"p99={row['p99']:.2f} ms rss={row['rss_mb']} MB fds={row['fds']} "
                      f"realtime={row['realtime']} events/s={row['events']}", flush=True)
        load.wait(timeout=60)
        stop.set()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()

    if args.out:
        with open(args.out, "w") as f:
            keys = ["t", "ok", "errors", "p50", "p99", "max", "rss_mb", "anon_mb", "file_mb", "fds", "realtime", "events"]
            f.write(",".join(keys) + "\n")
            for r in rows:
                f.write(",".join(str(r[k]) for k in keys) + "\n")

    errors = sum(r["errors"] for r in rows)
    total = sum(r["ok"] for r in rows)
    events = sum(r["events"] for r in rows)
    warm = max(1, int(len(rows) * args.warmup))
    after = rows[warm:] or rows

    def at_warm(key):
        """`key` at the end of warm-up: the median of its last ten samples,
        as one sample would judge the run by one moment's allocator state."""
        return statistics.median(r[key] for r in rows[max(0, warm - 10):warm])

    rss_warm = at_warm("rss_mb")
    rss_max = max(r["rss_mb"] for r in after)
    rss_end = rows[-1]["rss_mb"]
    minute = min(60, len(after))
    p99_first = statistics.median(r["p99"] for r in after[:minute])
    p99_last = statistics.median(r["p99"] for r in after[-minute:])
    fds = [r["fds"] for r in after]
    # The last second's clients are already leaving: the load has ended.
    realtime_min = min(r["realtime"] for r in (after[:-1] or after))
    print(f"\nrequests: {total} ok, {errors} failed, {total / max(1, len(rows)):.0f} req/s held "
          f"(target {rate:.0f}); realtime events received: {events}")
    print(f"RSS: {rss_warm} MB after warm-up ({warm} s), max {rss_max} MB after it, {rss_end} MB at the end "
          f"({(rss_max / rss_warm - 1) * 100 if rss_warm else 0:+.1f}% at most)")
    print(f"of which heap (RssAnon): {at_warm('anon_mb')} MB after warm-up, max "
          f"{max(r['anon_mb'] for r in after)} MB; mapped files (RssFile): {at_warm('file_mb')} MB, "
          f"max {max(r['file_mb'] for r in after)} MB")
    print(f"open files after warm-up: {min(fds)}..{max(fds)}")
    print(f"p99 (median of per-second p99s): first minute after warm-up {p99_first:.2f} ms, "
          f"last minute {p99_last:.2f} ms")
    if args.keep:
        shutil.move(work, args.keep)
        print(f"data folder kept in {args.keep}")
    else:
        shutil.rmtree(work, ignore_errors=True)

    problems = []
    if errors:
        problems.append(f"{errors} requests failed")
    if events == 0:
        problems.append("realtime: no event reached a client")
    if not args.short:
        if realtime_min < args.realtime:
            problems.append(f"realtime: {realtime_min} of {args.realtime} clients connected at worst")
        if rss_max > rss_warm * 1.10:
            problems.append(f"RSS grew {(rss_max / rss_warm - 1) * 100:.1f}% after warm-up (limit 10%)")
        if p99_last > 2 * p99_first:
            problems.append(f"p99 went from {p99_first:.2f} to {p99_last:.2f} ms")
    print("verdict: " + ("ok" if not problems else "; ".join(problems)))
    if args.check and problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
