#!/usr/bin/env bash
# The JS SDK integration suite: the official `pocketbase` npm package, used the
# way an app uses it, against a freshly started server.
#
#   tests/sdk/run.sh [cairn|pocketbase] [NAME…]     (default: cairn, every file)
#
# NAME runs only tests/sdk/NAME.test.mjs (several may be given).
#
# cairn:      runs ${CAIRN_BIN:-target/debug/cairn} (relative to the repo root;
#             this script does not build it).
# pocketbase: runs the official `pocketbase` binary from PATH, to check that the
#             suite itself describes PocketBase's real behaviour.
#
# The server gets a fresh temporary data dir and a free port on 127.0.0.1, and
# is always stopped when the script exits. Exit code: node's test runner's.
set -euo pipefail

target="${1:-cairn}"
shift || true
sdk_dir="$(cd "$(dirname "$0")" && pwd)"
repo_root="$(cd "$sdk_dir/../.." && pwd)"
cd "$repo_root"

case "$target" in
  cairn)
    bin="${CAIRN_BIN:-target/debug/cairn}"
    case "$bin" in /*) ;; *) bin="$repo_root/$bin" ;; esac
    if [ ! -x "$bin" ]; then
      echo "run.sh: Cairn binary not found at $bin (build it first, or set CAIRN_BIN)" >&2
      exit 2
    fi
    ;;
  pocketbase)
    bin="${POCKETBASE_BIN:-$(command -v pocketbase || true)}"
    if [ -z "$bin" ]; then
      echo "run.sh: 'pocketbase' is not on PATH" >&2
      exit 2
    fi
    ;;
  *)
    echo "usage: $0 [cairn|pocketbase]" >&2
    exit 2
    ;;
esac

if [ ! -d "$sdk_dir/node_modules" ]; then
  echo "== npm ci (tests/sdk)"
  (cd "$sdk_dir" && npm ci --no-audit --no-fund)
fi

admin_email="admin@example.com"
admin_password="password123456"

# The data dir is nested in a fresh temp dir because PocketBase keeps its
# pb_migrations/, pb_hooks/ and pb_public/ next to the data dir (and, by
# default, writes an automigration file there for every collection change).
tmp_root="$(mktemp -d "${TMPDIR:-/tmp}/cairn-sdk-XXXXXX")"
data_dir="$tmp_root/pb_data"
mkdir -p "$data_dir"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    # Bounded wait for a clean exit, then force it.
    for _ in $(seq 1 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp_root"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free port on the loopback interface.
port="$(node -e '
  const s = require("net").createServer();
  s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });
')"
base_url="http://127.0.0.1:$port"

echo "== $target: $bin (data dir $data_dir, $base_url)"
timeout 60 "$bin" superuser upsert "$admin_email" "$admin_password" --dir "$data_dir" >/dev/null

server_log="$tmp_root/server.log"
"$bin" serve --http "127.0.0.1:$port" --dir "$data_dir" >"$server_log" 2>&1 &
server_pid=$!

# Wait (at most 30 s) for GET /api/health to answer 200.
ready=""
deadline=$((SECONDS + 30))
while [ "$SECONDS" -lt "$deadline" ]; do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "run.sh: the server exited before it was ready; its output:" >&2
    cat "$server_log" >&2 || true
    exit 1
  fi
  if node -e '
    fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
      .then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1));
  ' "$base_url/api/health" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.2
done
if [ -z "$ready" ]; then
  echo "run.sh: $base_url/api/health did not answer 200 within 30 s; server output:" >&2
  cat "$server_log" >&2 || true
  exit 1
fi

# The suite signs in far faster than people do. Cairn rate-limits sign-in
# out of the box (PocketBase ships its limiter off), so loopback is
# excluded here, through the settings API as an operator would do it;
# tests/api/rate_limit.rs covers the limiter itself.
node -e '
  const [base, email, password] = process.argv.slice(1);
  (async () => {
    const post = (path, body, token) => fetch(base + path, {
      method: path.includes("settings") ? "PATCH" : "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: token } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10000),
    });
    const auth = await post("/api/collections/_superusers/auth-with-password", { identity: email, password });
    if (auth.status !== 200) throw new Error("superuser sign-in: " + auth.status);
    const { token } = await auth.json();
    const set = await post("/api/settings", { rateLimits: { excludedIPs: ["127.0.0.1"] } }, token);
    if (set.status !== 200) throw new Error("settings: " + set.status + " " + (await set.text()));
  })().catch((e) => { console.error("run.sh:", e.message); process.exit(1); });
' "$base_url" "$admin_email" "$admin_password"

export SDK_BASE_URL="$base_url"
export SDK_ADMIN_EMAIL="$admin_email"
export SDK_ADMIN_PASSWORD="$admin_password"
export SDK_TARGET="$target"

if [ "$#" -gt 0 ]; then
  files=()
  for name in "$@"; do files+=("tests/sdk/$name.test.mjs"); done
else
  files=(tests/sdk/*.test.mjs)
fi

set +e
# Bounded: 30 s per test, 5 minutes for the whole run.
timeout --foreground --kill-after=10 300 \
  node --test --test-concurrency=1 --test-timeout=30000 "${files[@]}"
status=$?
set -e

if [ "$status" -ne 0 ]; then
  echo "== $target server output (last 40 lines)" >&2
  tail -n 40 "$server_log" >&2 || true
fi
exit "$status"
