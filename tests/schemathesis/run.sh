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

# A fresh superuser token: a run can end the session of the token it was
# given (the coverage phase calls the session routes with it), so each run
# signs in anew rather than reuse one.
signin() {
    curl -sf -X POST "$BASE/api/collections/_superusers/auth-with-password" \
        -H 'content-type: application/json' \
        -d '{"identity":"root@example.com","password":"root-pass-123"}' |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
TOKEN=$(signin)
# Limits stay on (429 is part of every operation's answers) but do not
# throttle the run itself.
curl -sf -X PATCH "$BASE/api/settings" -H "authorization: $TOKEN" -H 'content-type: application/json' \
    -d '{"rateLimits":{"excludedIPs":["127.0.0.1"]}}' >/dev/null
curl -sf -X POST "$BASE/api/collections" -H "authorization: $TOKEN" -H 'content-type: application/json' \
    -d '{"name":"notes","listRule":"","viewRule":"","createRule":"","updateRule":"","deleteRule":"",
         "fields":[{"name":"title","type":"text"},{"name":"done","type":"bool"},{"name":"n","type":"number"}]}' >/dev/null

# Run inside the temporary folder, so schemathesis' own files (its
# example database) leave nothing in the tree. `run PHASES WORKERS`, as
# `$ROLE` (superuser or guest).
run() {
    local phases=$1 workers=$2 auth=()
    [ "$ROLE" = superuser ] && auth=(-H "Authorization: $(signin)")
    (cd "$DIR" && "$VENV/bin/schemathesis" run "$BASE/api/openapi.json" \
        --checks not_a_server_error,status_code_conformance,response_schema_conformance \
        --phases "$phases" \
        --max-examples "$EXAMPLES" --max-time "$MAX_TIME" --workers "$workers" \
        --request-timeout 10 --seed 1 --no-color --warnings off "${auth[@]}")
}

# How many operations the document describes to `$ROLE`.
operations() {
    local auth=()
    [ "$ROLE" = superuser ] && auth=(-H "authorization: $(signin)")
    curl -sf "$BASE/api/openapi.json" "${auth[@]}" | python3 -c 'import json, sys
verbs = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
print(sum(1 for item in json.load(sys.stdin)["paths"].values() for verb in item if verb in verbs))'
}

# A run that failed only because the tool itself crashed (a "Runtime
# Error" inside hypothesis) is run once more, and says so; a run that
# found anything (FAILURES) is never rerun.
attempt() {
    local out=$DIR/pass.out
    if run "$@" | tee "$out"; then
        tested "$out"
        return
    fi
    if grep -q "Runtime Error" "$out" && ! grep -q "FAILURES" "$out"; then
        echo "== the tool crashed (not a finding): running this once more"
        run "$@" | tee "$out" && tested "$out"
        return
    fi
    return 1
}

# Whether the run tested every operation `$ROLE` is shown, not fewer (as
# it would, silently, with a token that no longer signs in).
tested() {
    local want
    want=$(operations)
    grep -q "Tested: $want\$" "$1" && return
    echo "== schemathesis tested $(grep -o 'Tested: [0-9]*' "$1" | grep -o '[0-9]*') operations; the document shows the $ROLE $want"
    return 1
}

# The coverage phase walks the schemas through hypothesis' parsing of its
# own lambdas, which CPython 3.11's ast module does not survive from two
# threads at once ("SystemError: AST constructor recursion depth
# mismatch": twice in a row in one run, in that phase each time), so it
# runs on one worker; the fuzzing, where two workers keep the server busy,
# on two.
pass() {
    attempt examples,coverage 1 && attempt fuzzing 2
}

status=0
echo "== schemathesis as a superuser"
ROLE=superuser
pass || status=1
echo "== schemathesis as a guest"
ROLE=guest
pass || status=1
if [ "$status" -ne 0 ]; then
    echo "server log: $DIR/serve.log (tail)"
    tail -n 20 "$DIR/serve.log"
fi
exit "$status"
