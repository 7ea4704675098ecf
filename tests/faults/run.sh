#!/usr/bin/env bash
# The short, CI version of the fault scripts (the long runs are on demand,
# see tests/faults/RESULTS.md): a few crash rounds that must pass, and one
# planted round that must fail, so the crash check is known to see a loss;
# then every committed fuzz input replayed through the fuzz targets
# (tests/faults/fuzz.sh short).
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

# The fuzz corpora, replayed by `cargo test` (the test binary is the one
# tests/run.sh has already built, so this takes seconds; the libFuzzer
# runs are `tests/faults/fuzz.sh long`).
bash tests/faults/fuzz.sh short
