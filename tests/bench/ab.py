#!/usr/bin/env python3
"""A/B of two (or more) Cairn builds on the bench's workloads: is a change
faster, and by how much?

    python3 tests/bench/ab.py --bins OLD,NEW [--workloads create,view\\ by\\ id]
                              [--rounds 3] [--duration 5]

Each binary gets its own seeded server (bench.py's schema and data); every
round runs each workload against each binary in turn, the order flipping
every round, after waiting for all of them to go idle. Reported per
binary and workload, as medians over the rounds: requests/s, the server's
CPU time per request (user + system, from /proc, so it counts what the
server spent whatever wrk and the machine did meanwhile), and p99. On a
noisy machine CPU per request is the steadier figure; trust a difference
only when it holds in every round (each round is printed as it runs).

A binary may be a wrapper script that `exec`s the real one (to set an
environment variable, say): the process measured is the one started.
The PocketBase binary takes the same arguments, so it can be one of them.
"""
import argparse, os, shutil, statistics, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bins", required=True, help="comma-separated paths of cairn binaries")
    ap.add_argument("--workloads", default="create,view by id",
                    help="comma-separated names from bench.py's WORKLOADS")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()
    bins = args.bins.split(",")
    known = {w[0]: w for w in bench.WORKLOADS}
    names = args.workloads.split(",")
    for n in names:
        if n not in known:
            raise SystemExit(f"unknown workload {n!r}; known: {', '.join(known)}")

    work = tempfile.mkdtemp(prefix="cairn-ab-")
    servers = []
    try:
        # One public folder beside every data folder (they share a parent).
        bench.public_site(os.path.join(work, "data0"))
        for i, b in enumerate(bins):
            s = bench.Server(f"{i}", [b, "serve"], [b, "superuser", "upsert"], os.path.join(work, f"data{i}"))
            servers.append(s)
            bench.seed(s)
        results = {n: [[] for _ in bins] for n in names}
        for r in range(args.rounds):
            for n in names:
                order = range(len(bins)) if r % 2 == 0 else reversed(range(len(bins)))
                for i in order:
                    s = servers[i]
                    bench.settle(servers)
                    rps, _, p99, _, _, cpu = bench.run_workload(s, work, known[n], args.duration,
                                                                args.connections)
                    results[n][i].append((rps, cpu, p99))
                    print(f"round {r + 1} {n:<24} {bins[i]:<32} {rps:>9.0f} req/s {results[n][i][-1][1]:>7.1f} "
                          f"us CPU/request  p99 {p99:.2f} ms", file=sys.stderr)
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)

    print("| workload | binary | req/s | CPU µs/request | p99 ms |")
    print("|---|---|---:|---:|---:|")
    for n in names:
        for i, b in enumerate(bins):
            runs = results[n][i]
            med = [statistics.median(x[k] for x in runs) for k in range(3)]
            print(f"| {n} | {b} | {med[0]:.0f} | {med[1]:.1f} | {med[2]:.2f} |")


if __name__ == "__main__":
    main()
