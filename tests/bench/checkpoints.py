#!/usr/bin/env python3
"""What a flood of creates does to Cairn's WAL checkpoints, and so to its
p99.

    python3 tests/bench/checkpoints.py [--bin target/release/cairn] [--runs 4]
                                       [--duration 5] [--dir /dev/shm]

One Cairn server, seeded as bench.py seeds it, with its data folder under
--dir (the system's temp folder by default), then --runs runs of the
create workload back to back (wrk, 16 connections). After each run:
requests/s, p50 and p99, and the slowest WAL checkpoints the server
logged meanwhile (ms, WAL frames, mode). One at or just past 32,000
frames is the writer's catch-up stop (src/store/checkpoint.rs), which
every write waits for; the others ran on the checkpoint thread. Running
once on disk and once with --dir /dev/shm (tmpfs) tells the disk's sync
latency apart from everything else.
"""
import argparse, json, os, shutil, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/cairn")
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--dir", default=None, help="where the data folder goes (default: the temp folder)")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="cairn-checkpoints-", dir=args.dir)
    log_path = os.path.join(work, "server.log")
    env = dict(os.environ, RUST_LOG="info,cairn::store::checkpoint=debug,cairn::access=off")
    create = next(w for w in bench.WORKLOADS if w[0] == "create")
    try:
        with open(log_path, "w") as log:
            s = bench.Server("cairn", [args.bin, "serve", "--log-format", "json"], [args.bin, "superuser", "upsert"],
                             os.path.join(work, "data"), log=log, env=env)
        try:
            bench.seed(s)
            for run in range(args.runs):
                bench.settle([s])
                seen = os.path.getsize(log_path)
                rps, p50, p99, *_ = bench.run_workload(s, work, create, args.duration, 16)
                time.sleep(0.3)
                with open(log_path) as f:
                    f.seek(seen)
                    passes = [json.loads(l)["fields"] for l in f if "WAL checkpoint" in l]
                slowest = sorted(passes, key=lambda p: -p["ms"])[:5]
                print(f"run {run + 1}: {rps:.0f} req/s, p50 {p50} ms, p99 {p99} ms; {len(passes)} checkpoints, "
                      "slowest: " + ", ".join(f"{p['ms']:.1f} ms at {p['frames']} frames" for p in slowest),
                      flush=True)
        finally:
            s.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
