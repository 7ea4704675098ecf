#!/usr/bin/env python3
"""What the request log costs: two Cairn servers side by side, the same
schema and data, one keeping request logs (the default, `maxDays` 5) and
one not (`maxDays` 0), then the create and view-by-id workloads against
each in turn, alternating who goes first, for `--rounds` rounds (see
run.sh --logs-overhead). Reported: the median requests/s and CPU µs per
request of each, and the median of each round's throughput ratio (so a
drift of the machine's speed between rounds cancels out). The issue's
budget: logging on loses at most 5%.
"""
import argparse, os, shutil, statistics, sys, tempfile

from bench import Server, WORKLOADS, call, run_workload, seed, settle

MEASURED = ("create", "view by id")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cairn-bin", required=True)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="cairn-logs-bench-")
    servers = []
    try:
        for name, max_days in (("logs on", 5), ("logs off", 0)):
            s = Server(name.replace(" ", "_"), [args.cairn_bin, "serve"], [args.cairn_bin, "superuser", "upsert"],
                       os.path.join(work, name.replace(" ", "_")))
            s.label = name
            servers.append(s)
            seed(s)
            call(s.base, "PATCH", "/api/settings", {"logs": {"maxDays": max_days}}, s.token)
        workloads = [w for w in WORKLOADS if w[0] in MEASURED]
        runs = {w[0]: [] for w in workloads}
        for round_no in range(1, args.rounds + 1):
            for workload in workloads:
                result = {}
                for s in servers if round_no % 2 else servers[::-1]:
                    settle(servers)
                    result[s.label] = run_workload(s, work, workload, args.duration, args.connections)
                runs[workload[0]].append(result)
                on, off = result["logs on"], result["logs off"]
                print(f"round {round_no} {workload[0]:<12} on {on[0]:>8.0f} rps  off {off[0]:>8.0f} rps  "
                      f"x{on[0] / off[0]:.3f}", file=sys.stderr)
        logged = call(servers[0].base, "GET", "/api/logs?perPage=1", None, servers[0].token)["totalItems"]
        unlogged = call(servers[1].base, "GET", "/api/logs?perPage=1", None, servers[1].token)["totalItems"]
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)

    print("| workload | logs on req/s | logs off req/s | on / off (median of rounds) | per round | CPU µs/request (on / off) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, results in runs.items():
        med = lambda label, i: statistics.median(r[label][i] for r in results)
        ratios = [r["logs on"][0] / r["logs off"][0] for r in results]
        print(f"| {name} | {med('logs on', 0):.0f} | {med('logs off', 0):.0f} | **{statistics.median(ratios):.3f}** | "
              f"{' '.join(f'{x:.3f}' for x in ratios)} | {med('logs on', 5):.1f} / {med('logs off', 5):.1f} |")
    print(f"\nEntries in the log afterwards: logs on {logged}, logs off {unlogged}.")


if __name__ == "__main__":
    main()
