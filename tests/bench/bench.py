#!/usr/bin/env python3
"""Side-by-side load benchmark of Cairn and PocketBase (see run.sh).

Both servers get fresh data folders, the same collections and the same
10,000 read records (fixed ids), then each workload runs against one and
then the other, with wrk, for the same duration. That is one round;
`--rounds` repeats it, and every figure reported is the median over the
rounds (the ratio is the median of each round's ratio, so a drift of the
machine's speed between rounds cancels out). Reported: requests/s, p50
and p99 latency, the server's CPU time per request (user + system, from
/proc: what the server itself spent, whatever wrk took of the same two
cores), peak RSS (VmHWM), and Cairn/PocketBase ratios (throughput: higher
is better; latency and memory: lower is better).
"""
import argparse, concurrent.futures, datetime, json, os, platform, random, re, shutil, statistics
import socket, subprocess, sys, tempfile, time, urllib.request

READ_RECORDS = 10_000
PEOPLE = 100
EMAIL, PASSWORD = "bench@example.com", "bench-pass-123"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", token)
    with urllib.request.urlopen(req, timeout=30) as r:
        raw = r.read()
        return json.loads(raw) if raw else None


class Server:
    def __init__(self, name, argv_serve, argv_superuser, data_dir, log=subprocess.DEVNULL, env=None):
        self.name, self.port = name, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        subprocess.run(argv_superuser + [EMAIL, PASSWORD, "--dir", data_dir], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        self.proc = subprocess.Popen(argv_serve + ["--http", f"127.0.0.1:{self.port}", "--dir", data_dir],
                                     stdout=subprocess.DEVNULL, stderr=log, env=env)
        for _ in range(200):
            try:
                if call(self.base, "GET", "/api/health"):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            raise SystemExit(f"{name} did not start")
        self.token = call(self.base, "POST", "/api/collections/_superusers/auth-with-password",
                          {"identity": EMAIL, "password": PASSWORD})["token"]

    def rss_peak_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_seconds(self):
        return cpu_seconds(self.proc.pid)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def cpu_seconds(pid):
    """User + system CPU time process `pid` has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rid(prefix, i):
    return f"{prefix}{i:0{15 - len(prefix)}d}"


def seed(s):
    admin = lambda m, p, b=None: call(s.base, m, p, b, s.token)
    # The same footing for both: no rate limiting (PocketBase ships it off,
    # Cairn on; a load generator on one IP is exactly what it stops).
    admin("PATCH", "/api/settings", {"rateLimits": {"enabled": False}})
    people = admin("POST", "/api/collections", {"name": "bench_people", "listRule": "", "viewRule": "", "fields": [
        {"name": "name", "type": "text"}, {"name": "active", "type": "bool"}]})
    admin("POST", "/api/collections", {"name": "bench_read", "listRule": "", "viewRule": "", "fields": [
        {"name": "title", "type": "text"}, {"name": "n", "type": "number"}, {"name": "flag", "type": "bool"},
        {"name": "tags", "type": "select", "values": ["a", "b", "c", "d"], "maxSelect": 4},
        {"name": "owner", "type": "relation", "collectionId": people["id"]},
        {"name": "created", "type": "autodate", "onCreate": True}],
        "indexes": ["CREATE INDEX idx_bench_read_n ON bench_read (n)"]})
    admin("POST", "/api/collections", {"name": "bench_write", "createRule": "", "fields": [
        {"name": "title", "type": "text"}, {"name": "n", "type": "number"}]})
    admin("POST", "/api/collections", {"name": "bench_write_rule", "createRule": "owner.active = true", "fields": [
        {"name": "title", "type": "text"}, {"name": "owner", "type": "relation", "collectionId": people["id"]}]})
    admin("POST", "/api/collections/users/records",
          {"email": "user@example.com", "password": PASSWORD, "passwordConfirm": PASSWORD})
    s.user_token = call(s.base, "POST", "/api/collections/users/auth-with-password",
                        {"identity": "user@example.com", "password": PASSWORD})["token"]
    for i in range(PEOPLE):
        admin("POST", "/api/collections/bench_people/records",
              {"id": rid("person", i), "name": f"Person {i}", "active": i % 10 != 0})
    rnd = random.Random(7)
    rows = [{"id": rid("read", i), "title": f"Record number {i} " + "lorem ipsum " * (i % 4),
             "n": rnd.randint(0, 1000), "flag": rnd.random() < 0.5,
             "tags": rnd.sample(["a", "b", "c", "d"], rnd.randint(0, 3)),
             "owner": rid("person", rnd.randrange(PEOPLE))} for i in range(READ_RECORDS)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda r: admin("POST", "/api/collections/bench_read/records", r), rows))


WORKLOADS = [
    # name, method, path (Lua expression may use `id`), body
    # The edge alone (every layer, no record work): the distance between
    # it and the bare-poem floor is what the layers cost.
    ("health", "GET", '"/api/health"', None),
    ("create", "POST", '"/api/collections/bench_write/records"', '{"title":"hello","n":42}'),
    ("create + relation rule", "POST", '"/api/collections/bench_write_rule/records"',
     '{"title":"hi","owner":"person000000001"}'),
    ("view by id", "GET", '"/api/collections/bench_read/records/" .. id', None),
    ("list 50 skipTotal", "GET", '"/api/collections/bench_read/records?perPage=50&skipTotal=1"', None),
    ("list 50 with totals", "GET", '"/api/collections/bench_read/records?perPage=50"', None),
    ("filtered + sorted", "GET",
     '"/api/collections/bench_read/records?perPage=50&sort=-n&filter=" .. "n%20%3E%20500%20%26%26%20flag%20%3D%20true"',
     None),
    ("list 50 + expand", "GET", '"/api/collections/bench_read/records?perPage=50&skipTotal=1&expand=owner"', None),
    ("auth-refresh", "POST", '"/api/collections/users/auth-refresh"', None),
    # A site's script from the public folder (`public_site` writes it
    # beside each server's data folder, where both look by default).
    ("static file", "GET", '"/assets/app.js"', None),
]

# About the size of a small app's bundle.
APP_JS = "".join(f"export function f{i}(a, b) {{ return a * {i} + b; }}\n" for i in range(500))


def public_site(data_dir):
    """The same small site beside a server's data folder: an index and a script."""
    public = os.path.join(os.path.dirname(data_dir), "pb_public")
    os.makedirs(os.path.join(public, "assets"), exist_ok=True)
    with open(os.path.join(public, "index.html"), "w") as f:
        f.write('<!doctype html><title>app</title><script type="module" src="/assets/app.js"></script>')
    with open(os.path.join(public, "assets", "app.js"), "w") as f:
        f.write(APP_JS)


def lua_script(method, path_expr, body, token):
    ids = ",".join(f'"{rid("read", i)}"' for i in range(0, READ_RECORDS, 7))
    body_line = f"wrk.body = [[{body}]]" if body else ""
    return f"""
ids = {{{ids}}}
wrk.method = "{method}"
wrk.headers["Content-Type"] = "application/json"
{'wrk.headers["Authorization"] = "' + token + '"' if token else ""}
{body_line}
request = function()
  local id = ids[math.random(#ids)]
  return wrk.format(nil, {path_expr})
end
"""


def to_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v


def run_wrk(base, script_path, duration, connections, pid):
    """wrk against `base`: requests/s, p50 and p99 ms, non-2xx responses,
    requests, and the CPU time (µs) server `pid` spent per request."""
    cpu_before = cpu_seconds(pid)
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script_path, base],
                         check=True, capture_output=True, text=True, timeout=duration + 60).stdout
    cpu = cpu_seconds(pid) - cpu_before
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = to_ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return rps, p50, p99, errors, requests, cpu / max(requests, 1) * 1e6


def run_workload(s, work, workload, duration, connections):
    """One run of `workload` against server `s`; run_wrk's figures."""
    name, method, path, body = workload
    # Reads and writes run as a guest (the rules are open); auth-refresh
    # runs as a signed-in user.
    script = os.path.join(work, f"{s.name}.lua")
    token = s.user_token if name == "auth-refresh" else None
    with open(script, "w") as f:
        f.write(lua_script(method, path, body, token))
    return run_wrk(s.base, script, duration, connections, s.proc.pid)


def settle(servers, limit=30.0):
    """Waits (at most `limit` seconds) until every server is idle: work a
    server carries on with after a run (PocketBase writes its request log
    in the background, a checkpoint may still be running) would otherwise
    land on the other server's next run."""
    deadline = time.time() + limit
    while time.time() < deadline:
        before = [s.cpu_seconds() for s in servers]
        time.sleep(0.5)
        if all(s.cpu_seconds() - b < 0.02 for s, b in zip(servers, before)):
            return


def summarize(results):
    """Medians over the rounds: per server (req/s, p50, p99, non-2xx summed,
    CPU µs per request), and of the per-round throughput ratios."""
    out = {}
    for name in ("cairn", "pocketbase"):
        runs = [r[name] for r in results]
        med = lambda i: statistics.median(x[i] for x in runs)
        out[name] = (med(0), med(1), med(2), sum(x[3] for x in runs), med(5))
    out["ratio"] = statistics.median(r["cairn"][0] / r["pocketbase"][0] for r in results)
    out["ratios"] = [r["cairn"][0] / r["pocketbase"][0] for r in results]
    return out


def measure_floors(args, work):
    """The ceiling without Cairn: bare poem over HTTP (the median of three
    runs), raw SQLite without."""
    proc = subprocess.Popen([os.path.join(args.floor_dir, "floor_poem")], stdout=subprocess.PIPE, text=True)
    try:
        addr = proc.stdout.readline().strip()
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://{addr}/", timeout=2).read()
                break
            except OSError:
                time.sleep(0.05)
        script = os.path.join(work, "floor.lua")
        with open(script, "w") as f:
            f.write('wrk.method = "GET"\n')
        runs = sorted(run_wrk(f"http://{addr}", script, args.duration, args.connections, proc.pid)
                      for _ in range(3))
        poem_rps, p50, p99, _, _, poem_cpu = runs[1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    out = subprocess.run([os.path.join(args.floor_dir, "floor_sqlite"), str(args.duration)],
                         capture_output=True, text=True, check=True, timeout=args.duration * 3 + 30).stdout.split()
    return poem_rps, p50, p99, poem_cpu, float(out[0]), float(out[1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cairn-bin", required=True)
    ap.add_argument("--pocketbase-bin", required=True)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3, help="every figure is the median over the rounds")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--floor-dir", help="where the floor_poem and floor_sqlite examples are")
    ap.add_argument("--workloads", help="comma-separated names from WORKLOADS (default: all)")
    args = ap.parse_args()
    chosen = [w for w in WORKLOADS if not args.workloads or w[0] in args.workloads.split(",")]
    if args.workloads and args.write:
        raise SystemExit("--write records the whole table: run every workload")

    work = tempfile.mkdtemp(prefix="cairn-bench-")
    servers = []
    try:
        for data_dir in (os.path.join(work, "cairn_data"), os.path.join(work, "pb", "pb_data")):
            public_site(data_dir)
        cairn = Server("cairn", [args.cairn_bin, "serve"], [args.cairn_bin, "superuser", "upsert"],
                       os.path.join(work, "cairn_data"))
        servers.append(cairn)
        # PocketBase looks for pb_public beside its executable unless told.
        pb = Server("pocketbase", [args.pocketbase_bin, "serve", "--automigrate=false",
                                   "--publicDir", os.path.join(work, "pb", "pb_public")],
                    [args.pocketbase_bin, "superuser", "upsert"], os.path.join(work, "pb", "pb_data"))
        servers.append(pb)
        for s in servers:
            t0 = time.time()
            seed(s)
            print(f"seeded {s.name} in {time.time() - t0:.1f}s", file=sys.stderr)
        runs = {name: [] for name, *_ in chosen}
        for round_no in range(1, args.rounds + 1):
            for name, method, path, body in chosen:
                result = {}
                # Who goes first alternates, so neither always runs on the
                # heels of the other.
                for s in servers if round_no % 2 else servers[::-1]:
                    settle(servers)
                    result[s.name] = run_workload(s, work, (name, method, path, body), args.duration,
                                                  args.connections)
                runs[name].append(result)
                c, p = result["cairn"], result["pocketbase"]
                print(f"round {round_no} {name:<24} cairn {c[0]:>9.0f} rps  pocketbase {p[0]:>9.0f} rps  "
                      f"x{c[0] / p[0]:.2f}", file=sys.stderr)
        rows = [(name, summarize(results)) for name, results in runs.items()]
        rss = {s.name: s.rss_peak_mib() for s in servers}
        floors = measure_floors(args, work) if args.floor_dir else None
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)

    lines = [
        "| workload | Cairn req/s | PocketBase req/s | ratio | ratio per round | Cairn p50 / p99 ms | PocketBase p50 / p99 ms | CPU µs/request (C / PB) | non-2xx (C / PB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows:
        c, p = r["cairn"], r["pocketbase"]
        per_round = " ".join(f"{x:.2f}" for x in r["ratios"])
        lines.append(f"| {name} | {c[0]:.0f} | {p[0]:.0f} | **{r['ratio']:.2f}×** | {per_round} | "
                     f"{c[1]:.2f} / {c[2]:.2f} | {p[1]:.2f} / {p[2]:.2f} | {c[4]:.1f} / {p[4]:.1f} | "
                     f"{c[3]} / {p[3]} |")
    lines.append("")
    lines.append(f"Peak RSS: Cairn {rss['cairn']:.1f} MiB, PocketBase {rss['pocketbase']:.1f} MiB "
                 f"(ratio {rss['cairn'] / rss['pocketbase']:.2f}).")
    by_name = {name: r["cairn"][0] for name, r in rows}
    # The floors' comparison names three workloads; a --workloads subset
    # without them prints the table alone.
    if floors and {"health", "view by id", "create"} <= by_name.keys():
        poem_rps, poem_p50, poem_p99, poem_cpu, sqlite_w, sqlite_r = floors
        cpu_us = {name: r["cairn"][4] for name, r in rows}
        lines.append("")
        lines.append(f"Floors on the same machine: a bare poem JSON endpoint {poem_rps:.0f} req/s "
                     f"(p50 {poem_p50:.2f} / p99 {poem_p99:.2f} ms, {poem_cpu:.1f} µs CPU per request); "
                     f"raw SQLite on one connection "
                     f"{sqlite_w:.0f} single-row write transactions/s and {sqlite_r:.0f} point reads/s. "
                     f"Of the bare-poem floor, Cairn's health check (every layer, no record work) reaches "
                     f"{100 * by_name['health'] / poem_rps:.0f}%, its view by id "
                     f"{100 * by_name['view by id'] / poem_rps:.0f}% and its create "
                     f"{100 * by_name['create'] / poem_rps:.0f}%. Per request Cairn's server spends "
                     f"{cpu_us['health']:.1f} µs of CPU on the health check, {cpu_us['view by id']:.1f} on a view "
                     f"and {cpu_us['create']:.1f} on a create, against the bare endpoint's {poem_cpu:.1f}.")
    table = "\n".join(lines)
    print(table)
    if args.write:
        pb_version = subprocess.run([args.pocketbase_bin, "--version"], capture_output=True, text=True).stdout.strip()
        write_results("Request workloads", f"""{run_facts()}
- command: `tests/bench/run.sh --duration {args.duration} --rounds {args.rounds} --write` (wrk -t2 -c{args.connections}, {args.duration} s per workload and server, alternating; {args.rounds} rounds, medians)
- data: {READ_RECORDS} read records with a relation, {PEOPLE} related records; {pb_version}
- ratio: Cairn / PocketBase throughput (higher is better for Cairn)

{table}""")


RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")


def run_facts():
    """The date, commit and machine a result was measured on."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    return (f"- date: {datetime.date.today()}\n- commit: {commit}\n"
            f"- machine: {os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}")


def write_results(section, body):
    """Replaces the `## section` of RESULTS.md with `body`, keeping the
    other benchmarks' sections (this one's and fanout.py's)."""
    try:
        text = open(RESULTS).read()
    except FileNotFoundError:
        text = ""
    sections = {}
    for part in re.split(r"(?m)^## ", text)[1:]:
        title, _, rest = part.partition("\n")
        sections[title.strip()] = rest.strip()
    sections[section] = body.strip()
    with open(RESULTS, "w") as f:
        f.write("# Benchmark results\n")
        for title, rest in sections.items():
            f.write(f"\n## {title}\n\n{rest}\n")

if __name__ == "__main__":
    main()
