#!/usr/bin/env python3
"""Slow and hostile clients against `cairn serve`, and what a normal
client sees meanwhile: its p50/p99 for a record view, before and during
an attack of idle keep-alive connections, slowloris headers and bodies,
and clients that never read their answers.

Usage: python3 tests/faults/hostile.py --bin target/release/cairn \
           [--idle 2000] [--slowloris 500] [--slowbody 200] [--nonreaders 50] \
           [--requests 2000] [--serve-args "--header-timeout 5"] [--check]
--check (CI's short run) fails unless the server closed connections of
every hostile kind during the attack and the normal client got every
answer. Only loopback traffic; every wait is bounded.
"""
import argparse, asyncio, json, os, resource, statistics, subprocess, sys, tempfile, time, urllib.request


def call(base, method, path, body=None, token=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body is not None else None, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", token)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


async def timed_requests(host, port, path, n):
    """n requests over one keep-alive connection, each timed (ms)."""
    reader, writer = await asyncio.open_connection(host, port)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0].split(b":")[1])
        await asyncio.wait_for(reader.readexactly(length), 10)
        times.append((time.perf_counter() - start) * 1000)
    writer.close()
    return times


TRICKLE = 5.0  # seconds between a slow client's bytes


async def hold(host, port, kind, stop):
    """One hostile connection of `kind`, kept up until `stop` is set or the
    server closes it (then opened again: the attacker persists)."""
    closed = 0
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.5)
            continue
        try:
            if kind == "idle":
                writer.write(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
                await writer.drain()
                while not stop.is_set():
                    try:
                        if not await asyncio.wait_for(reader.read(4096), 1):
                            break  # closed by the server
                    except asyncio.TimeoutError:
                        pass
            elif kind == "slowloris":
                writer.write(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
                while not stop.is_set():
                    writer.write(b"X-a: b\r\n")
                    await writer.drain()
                    await asyncio.sleep(TRICKLE)
            elif kind == "slowbody":
                writer.write(b"POST /api/collections/items/records HTTP/1.1\r\nHost: x\r\n"
                             b"Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{")
                while not stop.is_set():
                    writer.write(b" ")
                    await writer.drain()
                    await asyncio.sleep(TRICKLE)
            else:  # nonreader: pipelined requests, answers never read
                writer.write(b"GET /api/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n" * 500)
                await writer.drain()
                # Its reads are paused (nothing is read), so the end shows
                # as a write that fails once the server has reset it.
                while not stop.is_set():
                    await asyncio.sleep(1)
                    if writer.transport.is_closing():
                        break
                    writer.write(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
                    try:
                        await asyncio.wait_for(writer.drain(), 1)
                    except asyncio.TimeoutError:
                        pass  # the server is not reading: still held
        except (OSError, asyncio.IncompleteReadError):
            pass
        closed += 1
        writer.close()
    return closed


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--idle", type=int, default=2000)
    ap.add_argument("--slowloris", type=int, default=500)
    ap.add_argument("--slowbody", type=int, default=200)
    ap.add_argument("--nonreaders", type=int, default=50)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--attack-seconds", type=int, default=40,
                    help="how long the attack runs before the normal client measures (past the 30 s header timeout)")
    ap.add_argument("--serve-args", default="", help="extra arguments for cairn serve (shorter limits)")
    ap.add_argument("--trickle", type=float, default=5.0, help="seconds between a slow client's bytes")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    global TRICKLE
    TRICKLE = args.trickle
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = tempfile.mkdtemp(prefix="cairn-hostile-")
    data = os.path.join(work, "data")
    subprocess.run([args.bin, "superuser", "upsert", "h@example.com", "hostile-pass-1", "--dir", data],
                   check=True, capture_output=True, timeout=60)
    proc = subprocess.Popen([args.bin, "serve", "--http", "127.0.0.1:0", "--dir", data] + args.serve_args.split(),
                            stdout=subprocess.PIPE, stderr=open(os.path.join(work, "serve.log"), "wb"))
    port = None
    while port is None:
        line = proc.stdout.readline().decode()
        if not line:
            sys.exit("cairn did not start")
        if line.startswith("Server started at http://"):
            port = int(line.strip().rsplit(":", 1)[1])
    base = f"http://127.0.0.1:{port}"
    token = call(base, "POST", "/api/collections/_superusers/auth-with-password",
                 {"identity": "h@example.com", "password": "hostile-pass-1"})["token"]
    # Many attackers have many addresses: the per-IP rate limiter, which
    # would refuse this one address's flood early, is off, so what bounds
    # the attack is the connection limits alone.
    call(base, "PATCH", "/api/settings", {"rateLimits": {"enabled": False}}, token)
    call(base, "POST", "/api/collections", {"name": "items", "listRule": "", "viewRule": "", "createRule": "",
                                            "fields": [{"name": "title", "type": "text"}]}, token)
    rid = call(base, "POST", "/api/collections/items/records", {"title": "hello"}, token)["id"]
    path = f"/api/collections/items/records/{rid}"

    def rss():
        with open(f"/proc/{proc.pid}/status") as f:
            return next(int(l.split()[1]) // 1024 for l in f if l.startswith("VmRSS:"))

    def fds():
        return len(os.listdir(f"/proc/{proc.pid}/fd"))

    base_times = await timed_requests("127.0.0.1", port, path, args.requests)
    stop = asyncio.Event()
    kinds = ["idle"] * args.idle + ["slowloris"] * args.slowloris + ["slowbody"] * args.slowbody + ["nonreader"] * args.nonreaders
    tasks = [asyncio.create_task(hold("127.0.0.1", port, k, stop)) for k in kinds]
    await asyncio.sleep(args.attack_seconds)
    during_fds, during_rss = fds(), rss()
    attack_times = await timed_requests("127.0.0.1", port, path, args.requests)
    stop.set()
    closes = await asyncio.wait_for(asyncio.gather(*tasks), 60)
    reconnects = sum(closes)
    closed_by_kind = {k: 0 for k in set(kinds)}
    for k, n in zip(kinds, closes):
        closed_by_kind[k] += n
    proc.terminate()
    proc.wait(timeout=60)
    q = lambda t, p: statistics.quantiles(t, n=100)[p - 1]
    print(f"attack: {args.idle} idle keep-alive, {args.slowloris} slowloris headers, {args.slowbody} slow bodies, "
          f"{args.nonreaders} non-readers, {args.attack_seconds} s; the server closed {reconnects} of them "
          f"(each reopened); during it the server had {during_fds} open files and {during_rss} MiB RSS")
    print("| normal client (record view) | p50 ms | p99 ms |")
    print("|---|---|---|")
    print(f"| before the attack | {q(base_times, 50):.2f} | {q(base_times, 99):.2f} |")
    print(f"| during the attack | {q(attack_times, 50):.2f} | {q(attack_times, 99):.2f} |")
    print("closed by the server, by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(closed_by_kind.items())))
    if args.check:
        # Each hold() counts one close when it stops itself at the end, so
        # a kind the server never cut counts exactly its connections.
        counts = {k: kinds.count(k) for k in closed_by_kind}
        uncut = [k for k, n in closed_by_kind.items() if n <= counts[k]]
        ok = len(attack_times) == args.requests and not uncut
        print(f"# {'pass' if ok else 'fail'} 1")
        if not ok:
            sys.exit(f"hostile clients not bounded: never cut: {uncut}; normal answers {len(attack_times)}/{args.requests}")


if __name__ == "__main__":
    asyncio.run(main())
