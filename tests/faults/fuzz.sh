#!/usr/bin/env bash
# The fuzz targets (fuzz/: filter_parser, multipart, values, rules).
#
#   tests/faults/fuzz.sh short   CI: every committed input (fuzz/corpus/*,
#                                fuzz/regressions/*) replayed through the
#                                targets by a plain `cargo test`; seconds
#                                once the test binary is built.
#   tests/faults/fuzz.sh smoke   libFuzzer: each target for FUZZ_SECONDS
#                                (default 20) from its corpus.
#   tests/faults/fuzz.sh long    libFuzzer: each target for FUZZ_RUNS
#                                (default 10,000,000) executions, one after
#                                another; new inputs go to fuzz/target/corpus.
#   tests/faults/fuzz.sh cmin    the committed corpora refreshed: each one
#                                merged with what the long runs found and
#                                minimized (`cargo fuzz cmin`).
#
# Why CI replays with cargo test rather than running libFuzzer: on a fresh
# 2-core machine `cargo install cargo-fuzz --locked` and the instrumented
# release build of Cairn take about 3 and 11 minutes, far past the 5-minute
# budget, while the replay reuses the debug build `cargo test` has made.
# The libFuzzer modes need only the stable toolchain: RUSTC_BOOTSTRAP=1
# lets cargo-fuzz pass its -Z flags, and `-s none` leaves out the address
# sanitizer (Cairn forbids unsafe code, and ASan halves the speed).
# Results: tests/faults/RESULTS.md, "Fuzzing".
set -euo pipefail
cd "$(dirname "$0")/../.."

mode="${1:-short}"
targets=(filter_parser multipart values rules)

cargo_fuzz() {
  if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
  fi
  (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz "$@")
}

case "$mode" in
  short)
    cargo test --locked --test api fuzz_corpora
    ;;
  smoke | long)
    cargo_fuzz build -s none
    for t in "${targets[@]}"; do
      mkdir -p "fuzz/target/corpus/$t"
      if [ "$mode" = smoke ]; then
        limit="-max_total_time=${FUZZ_SECONDS:-20}"
      else
        limit="-runs=${FUZZ_RUNS:-10000000}"
      fi
      echo "== $t ($limit)"
      log="fuzz/target/fuzz-$t.log"
      # New inputs go to the work folder; the committed corpus is only read.
      if ! cargo_fuzz run -s none "$t" "target/corpus/$t" "corpus/$t" -- "$limit" -print_final_stats=1 >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "$t: failed (the input is in fuzz/artifacts/$t)"
        exit 1
      fi
      grep -E '^(Done |stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' "$log"
    done
    ;;
  cmin)
    cargo_fuzz build -s none
    for t in "${targets[@]}"; do
      mkdir -p "fuzz/target/corpus/$t"
      cp -n "fuzz/corpus/$t"/* "fuzz/target/corpus/$t"/ 2>/dev/null || true
      # Edges only (-use_counters=0): hit counts would keep thousands of files.
      cargo_fuzz cmin -s none "$t" "target/corpus/$t" -- -use_counters=0 >"fuzz/target/cmin-$t.log" 2>&1
      rm -rf "fuzz/corpus/$t"
      cp -r "fuzz/target/corpus/$t" "fuzz/corpus/$t"
      echo "$t: $(find "fuzz/corpus/$t" -type f | wc -l) inputs"
    done
    ;;
  *)
    echo "usage: $0 [short|smoke|long|cmin]" >&2
    exit 2
    ;;
esac
