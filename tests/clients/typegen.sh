#!/usr/bin/env bash
# pocketbase-typegen (npm, pinned in tests/clients/typegen/package.json) must
# write the same TypeScript against Cairn as against PocketBase:
#
#   tests/clients/typegen.sh
#
# TYPEGEN_KEEP=DIR keeps the two generated files (cairn.ts, pocketbase.ts).
#
# Starts ${CAIRN_BIN:-target/debug/cairn} (not built here) and
# ${POCKETBASE_BIN:-pocketbase}, each on a temporary data dir and a free port
# on 127.0.0.1, creates the same collections on both through the API
# (tests/clients/typegen/schema.mjs), runs `pocketbase-typegen --url …` against
# each and diffs the two files.
#
# Checks, printed as `# pass N` / `# fail N` for tests/run.sh's summary:
#   1. the two outputs are identical (else the diff is printed), but for
#      the three collections PocketBase has and Cairn keeps as internal
#      tables (typegen/strip_internal.mjs);
#   2. the control: after one extra field on Cairn's side only, the outputs
#      differ and the diff names that field (so check 1 can fail).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
tg_dir="$here/typegen"

cairn_bin="${CAIRN_BIN:-target/debug/cairn}"
case "$cairn_bin" in /*) ;; *) cairn_bin="$repo_root/$cairn_bin" ;; esac
pb_bin="${POCKETBASE_BIN:-$(command -v pocketbase || true)}"
for b in "$cairn_bin" "$pb_bin"; do
  if [ -z "$b" ] || [ ! -x "$b" ]; then
    echo "typegen.sh: missing server binary (${b:-pocketbase not on PATH}); set CAIRN_BIN / POCKETBASE_BIN" >&2
    exit 2
  fi
done

# --ignore-scripts: typegen's better-sqlite3 dependency (for its --db mode,
# imported lazily, unused here) would otherwise fetch a prebuilt binary from
# outside the npm registry or compile one.
if [ ! -x "$tg_dir/node_modules/.bin/pocketbase-typegen" ]; then
  echo "== npm ci (tests/clients/typegen)"
  (cd "$tg_dir" && timeout 600 npm ci --ignore-scripts --no-audit --no-fund)
fi
typegen="$tg_dir/node_modules/.bin/pocketbase-typegen"

admin_email="admin@example.com"
admin_password="password123456"
tmp_root="$(mktemp -d "${TMPDIR:-/tmp}/cairn-typegen-XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$tmp_root"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e 'const s = require("net").createServer();
    s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# start NAME BIN: a server on its own data dir (nested, as PocketBase keeps
# pb_migrations/ beside it) and port; sets url_NAME.
start() {
  local name="$1" bin="$2" port
  port="$(free_port)"
  mkdir -p "$tmp_root/$name"
  timeout 60 "$bin" superuser upsert "$admin_email" "$admin_password" --dir "$tmp_root/$name/pb_data" >/dev/null
  "$bin" serve --http "127.0.0.1:$port" --dir "$tmp_root/$name/pb_data" >"$tmp_root/$name/server.log" 2>&1 &
  pids+=($!)
  printf -v "url_$name" '%s' "http://127.0.0.1:$port"
  echo "== $name: $bin (http://127.0.0.1:$port)"
}

# typegen NAME OUT: pocketbase-typegen against server NAME, into OUT.
run_typegen() {
  local url_var="url_$1"
  (cd "$tmp_root" && timeout --kill-after=10 120 "$typegen" --url "${!url_var}" \
    --email "$admin_email" --password "$admin_password" --out "$2" >/dev/null)
}

server_logs() {
  for name in cairn pocketbase; do
    echo "== $name server output (last 20 lines)" >&2
    tail -n 20 "$tmp_root/$name/server.log" >&2 || true
  done
}

start cairn "$cairn_bin"
start pocketbase "$pb_bin"
for name in cairn pocketbase; do
  url_var="url_$name"
  if ! timeout 90 node "$tg_dir/schema.mjs" "${!url_var}" "$admin_email" "$admin_password"; then
    echo "typegen.sh: could not create the schema on $name" >&2
    server_logs
    echo "# fail 1"
    exit 1
  fi
done

pass=0
fail=0
for name in cairn pocketbase; do
  if ! run_typegen "$name" "$tmp_root/$name.ts"; then
    echo "typegen.sh: pocketbase-typegen failed against $name" >&2
    server_logs
    echo "# fail 1"
    exit 1
  fi
done

if [ -n "${TYPEGEN_KEEP:-}" ]; then
  mkdir -p "$TYPEGEN_KEEP" && cp "$tmp_root/cairn.ts" "$tmp_root/pocketbase.ts" "$TYPEGEN_KEEP/"
fi

# PocketBase lists _authOrigins, _mfas and _otps as system collections;
# Cairn keeps them as internal tables (README, differences from PocketBase).
# They are cut from PocketBase's output, which must hold them, and nowhere
# else: were Cairn to list them, the diff would show it.
if ! node "$tg_dir/strip_internal.mjs" "$tmp_root/pocketbase.ts" "$tmp_root/pocketbase-cmp.ts"; then
  echo "# fail 1"
  exit 1
fi

echo "== check 1: the same types from Cairn as from PocketBase ($(wc -l <"$tmp_root/pocketbase-cmp.ts") lines, less _authOrigins, _mfas, _otps)"
if diff -u --label pocketbase.ts --label cairn.ts "$tmp_root/pocketbase-cmp.ts" "$tmp_root/cairn.ts"; then
  echo "ok: identical output"
  pass=$((pass + 1))
else
  echo "FAIL: pocketbase-typegen's output differs (above: - PocketBase, + Cairn)"
  fail=$((fail + 1))
fi

echo "== check 2 (control): one extra field on Cairn only, and the outputs differ"
timeout 60 node "$tg_dir/schema.mjs" "$url_cairn" "$admin_email" "$admin_password" --skew
run_typegen cairn "$tmp_root/cairn-skew.ts"
diff -u "$tmp_root/pocketbase-cmp.ts" "$tmp_root/cairn-skew.ts" >"$tmp_root/skew.diff" || true
if grep -q '^+.*skew_extra' "$tmp_root/skew.diff"; then
  echo "ok: the diff shows the extra field"
  pass=$((pass + 1))
else
  echo "FAIL: an extra field on one side did not show in the diff"
  fail=$((fail + 1))
fi

echo "# pass $pass"
echo "# fail $fail"
[ "$fail" -eq 0 ]
