#!/usr/bin/env python3
"""Instructions per request, counted by callgrind: the A/B for a change
too small for wrk to see through the machine's noise.

    python3 tests/bench/instructions.py --bins OLD,NEW [--workloads health,view,create,list]
                                        [--requests 3000]

Each binary serves under `valgrind --tool=callgrind` with a fresh data
folder holding one small collection. Requests go one at a time over one
keep-alive connection: a warm-up, then the counters are zeroed, then
`--requests` of the workload, then the counters are dumped. Reported: the
server's user-space instructions per request (every thread; the kernel's
work is not counted, so a change in syscalls shows only on wrk). The same
binary measures within about 1% run to run; lone requests also mean every
create commits alone, so group commit does not help here. With
`--concurrency N`, N connections send at once instead (threads of this
script), so work that the server batches (group commit, the request log's
rows) is counted in batches as under load.
"""
import argparse, concurrent.futures, glob, http.client, json, os, shutil, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

WORKLOADS = ("health", "view", "create", "list", "search")
# A page of 20 with a client filter and a sort: the list path's parsing,
# rule and filter compilation, count (cached) and shaping.
LIST = "/api/collections/bench_write/records?perPage=20&sort=-n&filter=" + "n%20%3E%3D%2042"
# The same page filtered the way a search box does (a ~ on text).
SEARCH = "/api/collections/bench_write/records?perPage=20&sort=-n&filter=" + "title%20~%20%27ell%27"
BODY = json.dumps({"title": "hello", "n": 42})


def measure(binary, workload, requests, work, settings=None, webhook=None, concurrency=1):
    data = os.path.join(work, "data")
    shutil.rmtree(data, ignore_errors=True)
    subprocess.run([binary, "superuser", "upsert", bench.EMAIL, bench.PASSWORD, "--dir", data],
                   check=True, capture_output=True, timeout=60)
    port = bench.free_port()
    out = os.path.join(work, "callgrind.out")
    for old in glob.glob(out + "*"):
        os.remove(old)
    flags = ["--webhooks-allow-private"] if webhook else []
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary, "serve",
                             "--http", f"127.0.0.1:{port}", "--dir", data, *flags],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                bench.call(base, "GET", "/api/health")
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit(f"{binary} did not start under valgrind")
        token = bench.call(base, "POST", "/api/collections/_superusers/auth-with-password",
                           {"identity": bench.EMAIL, "password": bench.PASSWORD})["token"]
        bench.call(base, "PATCH", "/api/settings", {"rateLimits": {"enabled": False}, **(settings or {})}, token)
        bench.call(base, "POST", "/api/collections", {
            "name": "bench_write", "createRule": "", "viewRule": "", "listRule": "",
            "fields": [{"name": "title", "type": "text"}, {"name": "n", "type": "number"}]}, token)
        if webhook:
            bench.call(base, "POST", "/api/webhooks",
                       {"collection": "bench_write", "events": ["create", "update", "delete"], "url": webhook}, token)
        conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in range(concurrency)]
        local = threading.local()

        def send(method, path, body=None):
            conn = getattr(local, "conn", None) or conns[0]
            conn.request(method, path, body, {"content-type": "application/json"})
            resp = conn.getresponse()
            raw = resp.read()
            if resp.status != 200:
                raise SystemExit(f"{method} {path}: {resp.status} {raw[:200]!r}")
            return raw

        ids = [json.loads(send("POST", "/api/collections/bench_write/records", BODY))["id"] for _ in range(300)]
        one = {
            "health": lambda i: send("GET", "/api/health"),
            "view": lambda i: send("GET", f"/api/collections/bench_write/records/{ids[i % len(ids)]}"),
            "create": lambda i: send("POST", "/api/collections/bench_write/records", BODY),
            "list": lambda i: send("GET", LIST),
            "search": lambda i: send("GET", SEARCH),
        }[workload]
        for i in range(200):
            one(i)
        # Let the background work the warm-up started settle first.
        time.sleep(0.5)
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, capture_output=True, timeout=60)
        def worker(k):
            local.conn = conns[k]
            for i in range(k, requests, concurrency):
                one(i)
        with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(worker, range(concurrency)))
        if concurrency > 1:
            # The request log's last batch is written up to 50 ms later.
            time.sleep(0.5)
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True, timeout=60)
        dumps = sorted((f for f in glob.glob(out + ".*")), key=os.path.getmtime)
        if not dumps:
            raise SystemExit("callgrind wrote no dump")
        if os.environ.get("CALLGRIND_KEEP"):
            shutil.copy(dumps[-1], os.path.join(os.environ["CALLGRIND_KEEP"], f"{workload}-{os.path.basename(binary)}.out"))
        with open(dumps[-1]) as f:
            for line in f:
                if line.startswith(("totals:", "summary:")):
                    return int(line.split()[1]) / requests
        raise SystemExit(f"no totals in {dumps[-1]}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bins", required=True, help="comma-separated paths of cairn binaries")
    ap.add_argument("--workloads", default=",".join(WORKLOADS), help=f"comma-separated, of {', '.join(WORKLOADS)}")
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--settings", default="{}",
                    help='settings for every server, as JSON (e.g. \'{"logs": {"maxDays": 0}}\' for no request log)')
    ap.add_argument("--webhook", choices=("none", "up", "down"), default="none",
                    help="one webhook on every change of the collection: its receiver (--sink-bin) up, or nothing listening")
    ap.add_argument("--concurrency", type=int, default=1, help="connections sending at once")
    ap.add_argument("--sink-bin", default="target/profiling/examples/webhook_sink")
    args = ap.parse_args()
    names = args.workloads.split(",")
    for n in names:
        if n not in WORKLOADS:
            raise SystemExit(f"unknown workload {n!r}; known: {', '.join(WORKLOADS)}")
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is needed (apt-get install valgrind)")
    work = tempfile.mkdtemp(prefix="cairn-instructions-")
    sink, webhook = None, None
    if args.webhook == "up":
        sink = subprocess.Popen([args.sink_bin], stdout=subprocess.PIPE, text=True)
        webhook = "http://" + sink.stdout.readline().strip() + "/hook"
    elif args.webhook == "down":
        webhook = f"http://127.0.0.1:{bench.free_port()}/hook"
    try:
        print("| workload | binary | instructions/request |")
        print("|---|---|---:|")
        for n in names:
            for b in args.bins.split(","):
                print(f"| {n} | {b} | {measure(b, n, args.requests, work, json.loads(args.settings), webhook, args.concurrency):.0f} |", flush=True)
    finally:
        if sink:
            sink.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
