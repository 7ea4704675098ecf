#!/usr/bin/env python3
"""The cost of `--durability full` (a WAL sync at every commit) against the
default `normal`, on the create workload of tests/bench, with PocketBase
(which runs as `normal` does) in the same run for scale.

Each round runs the workload against every server in turn, for the same
duration, with wrk; figures are medians over the rounds, and the ratio
is the median of each round's ratio.

Usage: python3 tests/faults/durability.py --cairn-bin target/release/cairn \
           [--pocketbase-bin PATH] [--rounds 5] [--duration 5]
"""
import argparse, os, statistics, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
import bench  # noqa: E402  (tests/bench/bench.py: Server, wrk, the create workload)

CREATE = next(w for w in bench.WORKLOADS if w[0] == "create")


def start(name, argv_serve, argv_superuser, env=None):
    work = tempfile.mkdtemp(prefix=f"cairn-durability-{name}-")
    s = bench.Server(name, argv_serve, argv_superuser, os.path.join(work, "data"), env=env)
    admin = lambda m, p, b=None: bench.call(s.base, m, p, b, s.token)
    admin("PATCH", "/api/settings", {"rateLimits": {"enabled": False}})
    admin("POST", "/api/collections", {"name": "bench_write", "createRule": "", "fields": [
        {"name": "title", "type": "text"}, {"name": "n", "type": "number"}]})
    s.user_token = None
    s.work = work
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cairn-bin", required=True)
    ap.add_argument("--pocketbase-bin")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()
    cairn = lambda: ([args.cairn_bin, "serve"], [args.cairn_bin, "superuser", "upsert"])
    servers = [
        start("normal", *cairn(), env=dict(os.environ, CAIRN_DURABILITY="normal")),
        start("full", *cairn(), env=dict(os.environ, CAIRN_DURABILITY="full")),
    ]
    if args.pocketbase_bin:
        servers.append(start("pocketbase", [args.pocketbase_bin, "serve"], [args.pocketbase_bin, "superuser", "upsert"]))
    runs = {s.name: [] for s in servers}
    try:
        for r in range(args.rounds):
            for s in servers:
                bench.settle(servers)
                runs[s.name].append(bench.run_workload(s, s.work, CREATE, args.duration, args.connections))
            print(f"round {r + 1}: " + ", ".join(f"{n} {v[-1][0]:.0f} req/s" for n, v in runs.items()), flush=True)
    finally:
        for s in servers:
            s.stop()
    med = lambda name, i: statistics.median(run[i] for run in runs[name])
    print("\n| server | creates/s | p50 ms | p99 ms | full/normal (throughput) |")
    print("|---|---|---|---|---|")
    for name in runs:
        ratio = statistics.median(a[0] / b[0] for a, b in zip(runs[name], runs["normal"]))
        print(f"| {name} | {med(name, 0):.0f} | {med(name, 1):.2f} | {med(name, 2):.2f} | {ratio:.2f} |")
    errors = sum(run[3] for v in runs.values() for run in v)
    if errors:
        print(f"{errors} non-2xx answers")
        sys.exit(1)


if __name__ == "__main__":
    main()
