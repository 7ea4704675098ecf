#!/usr/bin/env bash
# Schemathesis against the live OpenAPI document: every operation it
# describes is called with generated input, and the run fails on a server
# error (5xx), a status code the operation does not declare, or an answer
# that does not match its declared schema.
#
# A fresh target/debug/cairn on a free loopback port, with a superuser and
# one collection open to all, so the superuser's document covers every
# operation (the document is per caller); then once more as a guest.
# Bounded: a few examples per operation, and a time budget per run.
#
#   tests/schemathesis/run.sh            # build if needed, run both passes
#   EXAMPLES=20 tests/schemathesis/run.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VERSION=4.32.5
VENV=${SCHEMATHESIS_VENV:-$ROOT/target/schemathesis-venv}
EXAMPLES=${EXAMPLES:-5}
MAX_TIME=${MAX_TIME:-60}
BIN=$ROOT/target/debug/cairn

if [ ! -x "$VENV/bin/schemathesis" ] || ! "$VENV/bin/schemathesis" --version | grep -q "$VERSION"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "schemathesis==$VERSION"
fi
[ -x "$BIN" ] || (cd "$ROOT" && cargo build -q)

DIR=$(mktemp -d)
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
"$BIN" superuser upsert root@example.com root-pass-123 --dir "$DIR" >/dev/null
"$BIN" serve --http "127.0.0.1:$PORT" --dir "$DIR" --log-format json >"$DIR/serve.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
    curl -sf "$BASE/api/health" >/dev/null && break
    sleep 0.1
done

TOKEN=$(curl -sf -X POST "$BASE/api/collections/_superusers/auth-with-password" \
    -H 'content-type: application/json' \
    -d '{"identity":"root@example.com","password":"root-pass-123"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
# Limits stay on (429 is part of every operation's answers) but do not
# throttle the run itself.
curl -sf -X PATCH "$BASE/api/settings" -H "authorization: $TOKEN" -H 'content-type: application/json' \
    -d '{"rateLimits":{"excludedIPs":["127.0.0.1"]}}' >/dev/null
curl -sf -X POST "$BASE/api/collections" -H "authorization: $TOKEN" -H 'content-type: application/json' \
    -d '{"name":"notes","listRule":"","viewRule":"","createRule":"","updateRule":"","deleteRule":"",
         "fields":[{"name":"title","type":"text"},{"name":"done","type":"bool"},{"name":"n","type":"number"}]}' >/dev/null

# Run inside the temporary folder, so schemathesis' own files (its
# example database) leave nothing in the tree.
run() {
    (cd "$DIR" && "$VENV/bin/schemathesis" run "$BASE/api/openapi.json" \
        --checks not_a_server_error,status_code_conformance,response_schema_conformance \
        --phases examples,coverage,fuzzing \
        --max-examples "$EXAMPLES" --max-time "$MAX_TIME" --workers 2 \
        --request-timeout 10 --seed 1 --no-color --warnings off "$@")
}

# A pass that failed only because the tool itself crashed (a "Runtime
# Error" inside hypothesis, e.g. its parse of its own lambdas racing
# across the two workers, seen once in ~20 runs) is run once more, and
# says so; a pass that found anything (FAILURES) is never rerun.
pass() {
    local out=$DIR/pass.out
    if run "$@" | tee "$out"; then return 0; fi
    if grep -q "Runtime Error" "$out" && ! grep -q "FAILURES" "$out"; then
        echo "== the tool crashed (not a finding): running this pass once more"
        run "$@"
        return
    fi
    return 1
}

status=0
echo "== schemathesis as a superuser"
pass -H "Authorization: $TOKEN" || status=1
echo "== schemathesis as a guest"
pass || status=1
if [ "$status" -ne 0 ]; then
    echo "server log: $DIR/serve.log (tail)"
    tail -n 20 "$DIR/serve.log"
fi
exit "$status"
