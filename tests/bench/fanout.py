#!/usr/bin/env python3
"""Realtime fan-out benchmark: Cairn and PocketBase side by side.

For each server (fresh data folder, on 127.0.0.1):
  1. opens --idle SSE clients (GET /api/realtime, read up to PB_CONNECT) and
     reports the server's RSS growth per idle client;
  2. subscribes --subscribers of them to `fanout/*` (a collection everyone
     may list: one shared rule answer), the rest stay connected and idle;
  3. makes --writes record creates, one every --gap seconds, and measures
     for each subscriber the time from issuing the write to the event
     arriving on its socket: p50/p99/max over all deliveries, and lost ones.

Standard library only; every client runs in one asyncio loop in this
process, so the figures include this script's own reading time.

  python3 tests/bench/fanout.py --cairn-bin target/release/cairn \
      [--pocketbase-bin PATH] [--idle 10000] [--subscribers 1000] [--writes 50] [--write]

(or `tests/bench/run.sh --fanout [options]`, which builds first); with
--write the table also goes to tests/bench/RESULTS.md, in its own section.
"""
import argparse, asyncio, json, os, re, resource, shutil, tempfile, time

import bench  # the side-by-side harness beside this file: server start-up and calls

MARK = re.compile(rb'"title":"w(\d+)"')


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Server(bench.Server):
    """bench.py's server (fresh data folder, superuser, token), plus the
    collection the writes go to."""

    def __init__(self, name, binary, data_dir):
        super().__init__(name, [binary, "serve"], [binary, "superuser", "upsert"], data_dir)
        self.host = "127.0.0.1"
        bench.call(self.base, "POST", "/api/collections", {
            "name": "fanout", "listRule": "", "viewRule": "", "createRule": "",
            "fields": [{"name": "title", "type": "text"}, {"name": "n", "type": "number"}]}, self.token)


async def http(host, port, method, path, body=None, token=None):
    """One request on its own connection; returns the status."""
    reader, writer = await asyncio.open_connection(host, port)
    payload = json.dumps(body).encode() if body is not None else b""
    head = (f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n")
    if token:
        head += f"Authorization: {token}\r\n"
    writer.write(head.encode() + b"\r\n" + payload)
    await writer.drain()
    status_line = await reader.readline()
    await reader.read()
    writer.close()
    return int(status_line.split()[1])


class Client:
    """One SSE connection; records when each marked write's event arrives."""

    def __init__(self):
        self.client_id = None
        self.arrivals = {}
        self.task = None

    async def open(self, host, port):
        self.reader, self.writer = await asyncio.open_connection(host, port)
        self.writer.write(f"GET /api/realtime HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
        await self.writer.drain()
        buf = b""
        while b"PB_CONNECT" not in buf or b"\n\n" not in buf.split(b"PB_CONNECT", 1)[1]:
            chunk = await asyncio.wait_for(self.reader.read(4096), 30)
            if not chunk:
                raise ConnectionError("stream closed before PB_CONNECT")
            buf += chunk
        self.client_id = re.search(rb'"clientId":"([A-Za-z0-9]+)"', buf).group(1).decode()
        self.task = asyncio.get_running_loop().create_task(self.read())

    async def read(self):
        loop = asyncio.get_running_loop()
        tail = b""
        while True:
            chunk = await self.reader.read(65536)
            if not chunk:
                return
            now = loop.time()
            data = tail + chunk
            for m in MARK.finditer(data):
                self.arrivals.setdefault(int(m.group(1)), now)
            tail = data[-64:]

    def close(self):
        if self.task:
            self.task.cancel()
        self.writer.close()


async def in_batches(coros, size):
    out = []
    for i in range(0, len(coros), size):
        out += await asyncio.gather(*coros[i:i + size])
    return out


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


async def measure(server, idle, subscribers, writes, gap):
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0.5)
    base_rss = rss_mib(server.proc.pid)
    clients = [Client() for _ in range(idle)]
    t = time.monotonic()
    await in_batches([c.open(server.host, server.port) for c in clients], 200)
    opened_in = time.monotonic() - t
    await asyncio.sleep(2)
    idle_rss = rss_mib(server.proc.pid)
    subs = clients[:subscribers]
    statuses = await in_batches([
        http(server.host, server.port, "POST", "/api/realtime",
             {"clientId": c.client_id, "subscriptions": ["fanout/*"]}) for c in subs], 100)
    bad = [s for s in statuses if s != 204]
    if bad:
        raise SystemExit(f"{server.name}: {len(bad)} subscriptions failed ({bad[:3]})")
    sent = {}
    for k in range(writes):
        sent[k] = loop.time()
        status = await http(server.host, server.port, "POST", "/api/collections/fanout/records",
                            {"title": f"w{k}", "n": k}, server.token)
        if status != 200:
            raise SystemExit(f"{server.name}: write {k} answered {status}")
        await asyncio.sleep(gap)
    deadline = loop.time() + 10
    while loop.time() < deadline and any(len(c.arrivals) < writes for c in subs):
        await asyncio.sleep(0.05)
    latencies, lost = [], 0
    for c in subs:
        for k, t0 in sent.items():
            if k in c.arrivals:
                latencies.append((c.arrivals[k] - t0) * 1000)
            else:
                lost += 1
    strays = sum(len(c.arrivals) for c in clients[subscribers:])
    peak_rss = rss_mib(server.proc.pid)
    for c in clients:
        c.close()
    latencies.sort()
    return {
        "idle_clients": idle, "open_seconds": round(opened_in, 1),
        "rss_base_mib": round(base_rss, 1), "rss_idle_mib": round(idle_rss, 1),
        "kib_per_idle_client": round((idle_rss - base_rss) * 1024 / idle, 1),
        "subscribers": subscribers, "writes": writes, "deliveries": len(latencies), "lost": lost,
        "unsubscribed_received": strays,
        "p50_ms": round(percentile(latencies, 50), 1), "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(latencies[-1], 1) if latencies else float("nan"),
        "rss_end_mib": round(peak_rss, 1),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cairn-bin", default="target/release/cairn")
    ap.add_argument("--pocketbase-bin", default=None, help="also measure PocketBase")
    ap.add_argument("--idle", type=int, default=10_000)
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--writes", type=int, default=50)
    ap.add_argument("--gap", type=float, default=0.1, help="seconds between writes")
    ap.add_argument("--write", action="store_true", help="record the table in tests/bench/RESULTS.md")
    args = ap.parse_args()
    # Every idle client is a socket here and in the server (which inherits it).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.idle + 1000
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(want, soft)), hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < want:
        raise SystemExit(f"need {want} open files, the hard limit is {hard}")
    targets = [("cairn", args.cairn_bin)]
    if args.pocketbase_bin:
        targets.append(("pocketbase", args.pocketbase_bin))
    results = {}
    for name, binary in targets:
        tmp = tempfile.mkdtemp(prefix=f"fanout-{name}-")
        data = os.path.join(tmp, "pb_data")
        os.makedirs(data)
        server = Server(name, binary, data)
        try:
            results[name] = asyncio.run(measure(server, args.idle, args.subscribers, args.writes, args.gap))
        finally:
            server.stop()
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"{name}: {json.dumps(results[name])}", flush=True)
    keys = ["kib_per_idle_client", "rss_idle_mib", "p50_ms", "p99_ms", "max_ms", "lost"]
    print(f"\n{'':24}" + "".join(f"{n:>14}" for n in results) + ("      ratio" if len(results) == 2 else ""))
    rows = []
    for k in keys:
        row = [results[n][k] for n in results]
        ratio = ""
        if len(row) == 2 and isinstance(row[1], (int, float)) and row[1]:
            ratio = f"{row[0] / row[1]:.2f}x"
        print(f"{k:24}" + "".join(f"{v:>14}" for v in row) + (f"{ratio:>11}" if ratio else ""))
        rows.append(f"| {k} | " + " | ".join(str(v) for v in row) + (f" | {ratio} |" if len(row) == 2 else " |"))
    if args.write:
        names = list(results)
        header = "| | " + " | ".join(names) + (" | Cairn / PocketBase |" if len(names) == 2 else " |")
        rule = "|---|" + "---:|" * (len(names) + (1 if len(names) == 2 else 0))
        bench.write_results("Realtime fan-out", f"""{bench.run_facts()}
- command: `tests/bench/run.sh --fanout --idle {args.idle} --subscribers {args.subscribers} --writes {args.writes} --write` ({args.idle} idle SSE clients, {args.subscribers} of them subscribed to one collection, {args.writes} creates {args.gap} s apart; delivery latency from issuing a write to the event arriving, over every delivery; lower is better)

{header}
{rule}
""" + "\n".join(rows))

if __name__ == "__main__":
    main()
