#!/usr/bin/env python3
"""What the request log costs: two Cairn servers side by side, the same
schema and data, one keeping request logs (the default, `maxDays` 5) and
one not (`maxDays` 0), then the create and view-by-id workloads against
each in turn, alternating who goes first, for `--rounds` rounds (see
run.sh --logs-overhead). Reported: the median requests/s and CPU µs per
request of each, and the median of each round's throughput ratio (so a
drift of the machine's speed between rounds cancels out). The issue's
budget: logging on loses at most 5%.

With `--pocketbase-bin`, PocketBase runs the same pair in the same rounds
(its own request log on and off, the same setting), so the two logs'
costs can be set side by side.
"""
import argparse, os, shutil, statistics, sys, tempfile

from bench import Server, WORKLOADS, call, run_workload, seed, settle

MEASURED = ("create", "view by id")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cairn-bin", required=True)
    ap.add_argument("--pocketbase-bin")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    products = [("cairn", [args.cairn_bin, "serve"], [args.cairn_bin, "superuser", "upsert"])]
    if args.pocketbase_bin:
        products.append(("pocketbase", [args.pocketbase_bin, "serve", "--automigrate=false"],
                         [args.pocketbase_bin, "superuser", "upsert"]))
    work = tempfile.mkdtemp(prefix="cairn-logs-bench-")
    servers = []
    try:
        for product, serve, upsert in products:
            for state, max_days in (("on", 5), ("off", 0)):
                s = Server(f"{product}_{state}", serve, upsert, os.path.join(work, product, state, "pb_data"))
                s.product, s.state = product, state
                servers.append(s)
                seed(s)
                call(s.base, "PATCH", "/api/settings", {"logs": {"maxDays": max_days}}, s.token)
        workloads = [w for w in WORKLOADS if w[0] in MEASURED]
        runs = {(p, w[0]): [] for p, *_ in products for w in workloads}
        for round_no in range(1, args.rounds + 1):
            for workload in workloads:
                result = {}
                for s in servers if round_no % 2 else servers[::-1]:
                    settle(servers)
                    result[s.name] = run_workload(s, work, workload, args.duration, args.connections)
                for product, *_ in products:
                    on, off = result[f"{product}_on"], result[f"{product}_off"]
                    runs[(product, workload[0])].append((on, off))
                    print(f"round {round_no} {product:<10} {workload[0]:<12} on {on[0]:>8.0f} rps  "
                          f"off {off[0]:>8.0f} rps  x{on[0] / off[0]:.3f}", file=sys.stderr)
        logged = {s.name: call(s.base, "GET", "/api/logs?perPage=1", None, s.token)["totalItems"] for s in servers}
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)

    print("| server | workload | logs on req/s | logs off req/s | on / off (median of rounds) | per round "
          "| CPU µs/request (on / off) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for (product, name), results in runs.items():
        med = lambda side, i: statistics.median(r[side][i] for r in results)
        ratios = [on[0] / off[0] for on, off in results]
        print(f"| {product} | {name} | {med(0, 0):.0f} | {med(1, 0):.0f} | **{statistics.median(ratios):.3f}** | "
              f"{' '.join(f'{x:.3f}' for x in ratios)} | {med(0, 5):.1f} / {med(1, 5):.1f} |")
    print("\nEntries in the log afterwards: " + ", ".join(f"{k} {v}" for k, v in logged.items()) + ".")


if __name__ == "__main__":
    main()
