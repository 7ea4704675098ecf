#!/usr/bin/env python3
"""What a webhook costs the writes it hears (see run.sh --webhooks): three
Cairn servers side by side with the same schema, one with no webhook, one
with a webhook on every create whose receiver answers at once
(examples/webhook_sink.rs), and one whose receiver is down (nothing
listens: every delivery fails and is retried). The create workload runs
against each in turn, alternating the order, for `--rounds` rounds;
reported are the median requests/s, p99, CPU µs per request, and the
median of each round's throughput ratio against the server with no
webhook. The issue's budget: one webhook costs at most 10% of create
throughput, and a receiver that is down changes nothing. With
`--two-secrets`, a fourth server's webhook has just had its secret rotated
with the old one kept (`previousSecretHours`), so every delivery carries
two signatures.

Delivery latency is the time from the record's `created` stamp (set in the
write's transaction, just before its commit) to the receiver reading the
request: measured for the deliveries of the loaded runs (the queue catching
up with a flood of creates) and for creates made one at a time, 20 ms
apart, with nothing else running.
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time

from bench import Server, WORKLOADS, call, free_port, run_workload, settle


def seed(s):
    admin = lambda m, p, b=None: call(s.base, m, p, b, s.token)
    admin("PATCH", "/api/settings", {"rateLimits": {"enabled": False}})
    admin("POST", "/api/collections", {"name": "bench_write", "createRule": "", "fields": [
        {"name": "title", "type": "text"}, {"name": "n", "type": "number"},
        {"name": "created", "type": "autodate", "onCreate": True}]})


def sink_stats(base):
    return call(base, "GET", "/stats")


def drain(sink, created, limit=120.0):
    """Waits until the sink has every one of `created` deliveries; seconds taken."""
    start = time.time()
    while time.time() - start < limit:
        if sink_stats(sink)["count"] >= created:
            return time.time() - start
        time.sleep(0.2)
    return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cairn-bin", required=True)
    ap.add_argument("--sink-bin", required=True)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--idle-creates", type=int, default=200)
    ap.add_argument("--two-secrets", action="store_true")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="cairn-webhooks-bench-")
    sink_proc = subprocess.Popen([args.sink_bin], stdout=subprocess.PIPE, text=True)
    sink = "http://" + sink_proc.stdout.readline().strip()
    servers = []
    labels = ("no webhook", "webhook", "receiver down") + (("two secrets",) if args.two_secrets else ())
    try:
        for label in labels:
            name = label.replace(" ", "_")
            s = Server(name, [args.cairn_bin, "serve", "--webhooks-allow-private"],
                       [args.cairn_bin, "superuser", "upsert"], os.path.join(work, name))
            s.label = label
            servers.append(s)
            seed(s)
            url = {"webhook": f"{sink}/hook", "two secrets": f"{sink}/hook",
                   "receiver down": f"http://127.0.0.1:{free_port()}/hook"}.get(label)
            if url:
                hook = call(s.base, "POST", "/api/webhooks",
                            {"collection": "bench_write", "events": ["create"], "url": url}, s.token)
                if label == "two secrets":
                    call(s.base, "PATCH", f"/api/webhooks/{hook['id']}",
                         {"secret": "", "previousSecretHours": 24}, s.token)
        create = next(w for w in WORKLOADS if w[0] == "create")
        runs, loaded = [], []
        for round_no in range(1, args.rounds + 1):
            result = {}
            order = servers if round_no % 2 else servers[::-1]
            for s in order:
                settle(servers)
                if s.label in ("webhook", "two secrets"):
                    call(sink, "POST", "/reset")
                result[s.label] = run_workload(s, work, create, args.duration, args.connections)
                if s.label == "two secrets":
                    drain(sink, result[s.label][4])
                if s.label == "webhook":
                    took = drain(sink, result[s.label][4])
                    st = sink_stats(sink)
                    loaded.append((st["p50"], st["p99"], took, result[s.label][4]))
            runs.append(result)
            base = result["no webhook"][0]
            print(f"round {round_no}: " + "  ".join(f"{k} {v[0]:.0f} rps x{v[0] / base:.3f}" for k, v in result.items()),
                  file=sys.stderr)
        # One at a time, nothing else running.
        hooked = servers[1]
        settle(servers)
        call(sink, "POST", "/reset")
        for i in range(args.idle_creates):
            call(hooked.base, "POST", "/api/collections/bench_write/records", {"title": "idle", "n": i})
            time.sleep(0.02)
        drain(sink, args.idle_creates, 30)
        idle = sink_stats(sink)
        pending = call(servers[2].base, "GET", "/api/webhooks", None, servers[2].token)[0]
    finally:
        for s in servers:
            s.stop()
        sink_proc.terminate()
        shutil.rmtree(work, ignore_errors=True)

    print("| server | creates/s | p99 ms | CPU µs/request | / no webhook (median of rounds) | per round |")
    print("|---|---:|---:|---:|---:|---:|")
    for label in labels:
        med = lambda i: statistics.median(r[label][i] for r in runs)
        ratios = [r[label][0] / r["no webhook"][0] for r in runs]
        print(f"| {label} | {med(0):.0f} | {med(2):.1f} | {med(5):.1f} | **{statistics.median(ratios):.3f}** | "
              f"{' '.join(f'{x:.3f}' for x in ratios)} |")
    print()
    print("| delivery latency (created → receiver) | p50 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|")
    print(f"| one create every 20 ms ({idle['count']} deliveries) | {idle['p50']:.1f} | {idle['p99']:.1f} | {idle['max']:.1f} |")
    for p50, p99, took, n in loaded:
        print(f"| under the create load ({n} deliveries; all in {took:.1f} s after the load ended) | {p50:.1f} | {p99:.1f} | |")
    print(f"\nThe webhook whose receiver was down: state {pending['state']} (its deliveries wait to be retried).")


if __name__ == "__main__":
    main()
