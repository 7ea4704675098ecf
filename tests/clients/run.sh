#!/usr/bin/env bash
# Third-party clients against a freshly started server, the way
# tests/sdk/run.sh runs the official JS SDK:
#
#   tests/clients/run.sh [cairn|pocketbase]     (default: cairn)
#
# python: the community Python SDK (`pocketbase` on PyPI, pinned in
#         tests/clients/python/requirements.txt), in a virtualenv of its own.
#
# pocketbase-typegen, which needs both servers at once, has a script of its
# own: tests/clients/typegen.sh.
#
# cairn runs ${CAIRN_BIN:-target/debug/cairn} (not built here); pocketbase
# runs ${POCKETBASE_BIN:-pocketbase}. The server gets a temporary data dir
# and a free port on 127.0.0.1, and is stopped when the script exits.
set -euo pipefail

target="${1:-cairn}"
here="$(cd "$(dirname "$0")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
case "$target" in
  cairn) bin="${CAIRN_BIN:-target/debug/cairn}"; case "$bin" in /*) ;; *) bin="$repo_root/$bin" ;; esac ;;
  pocketbase) bin="${POCKETBASE_BIN:-$(command -v pocketbase || true)}" ;;
  *) echo "usage: $0 [cairn|pocketbase]" >&2; exit 2 ;;
esac
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "run.sh: no $target binary (${bin:-not on PATH})" >&2
  exit 2
fi

venv="$here/python/.venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import pocketbase' 2>/dev/null; then
  echo "== python venv (tests/clients/python)"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/python/requirements.txt"
fi

admin_email="admin@example.com"
admin_password="password123456"
tmp_root="$(mktemp -d "${TMPDIR:-/tmp}/cairn-clients-XXXXXX")"
data_dir="$tmp_root/pb_data"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp_root"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
base_url="http://127.0.0.1:$port"
echo "== $target: $bin ($base_url)"
timeout 60 "$bin" superuser upsert "$admin_email" "$admin_password" --dir "$data_dir" >/dev/null
"$bin" serve --http "127.0.0.1:$port" --dir "$data_dir" >"$tmp_root/server.log" 2>&1 &
server_pid=$!

# Ready, then loopback excluded from Cairn's sign-in rate limit (on by
# default, off in PocketBase): the checks sign in faster than people do.
"$venv/bin/python" - "$base_url" "$admin_email" "$admin_password" <<'PY'
import sys, time, httpx
base, email, password = sys.argv[1:]
for _ in range(150):
    try:
        if httpx.get(base + "/api/health", timeout=2).status_code == 200:
            break
    except httpx.HTTPError:
        pass
    time.sleep(0.2)
else:
    sys.exit("run.sh: the server did not answer /api/health within 30 s")
auth = httpx.post(base + "/api/collections/_superusers/auth-with-password",
                  json={"identity": email, "password": password}, timeout=10)
auth.raise_for_status()
r = httpx.patch(base + "/api/settings", json={"rateLimits": {"excludedIPs": ["127.0.0.1"]}},
                headers={"authorization": auth.json()["token"]}, timeout=10)
r.raise_for_status()
PY

export CLIENT_BASE_URL="$base_url" CLIENT_ADMIN_EMAIL="$admin_email" CLIENT_ADMIN_PASSWORD="$admin_password"
set +e
timeout --foreground --kill-after=10 120 "$venv/bin/python" "$here/python/check_sdk.py"
status=$?
set -e
if [ "$status" -ne 0 ]; then
  echo "== $target server output (last 40 lines)" >&2
  tail -n 40 "$tmp_root/server.log" >&2 || true
fi
exit "$status"
