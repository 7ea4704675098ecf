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

echo "== cargo test"
cargo test --locked 2>&1 | tee -a "$log"

# One closing line over every suite.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "Summary: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
