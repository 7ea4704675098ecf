#!/usr/bin/env bash
# The admin UI in headless Chromium (Debian's package; installed here if
# missing) driven by playwright-core, against ${CAIRN_BIN:-target/debug/cairn}.
# `run.sh FILE.test.mjs …` runs only those files.
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$dir/../.." && pwd)"
export CAIRN_BIN="${CAIRN_BIN:-$root/target/debug/cairn}"
if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM_BIN:-}" ]; then
  echo "== installing Debian's chromium"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get install -y -qq chromium >/dev/null 2>&1 || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null; }
fi
if [ ! -d "$dir/node_modules" ]; then
  (cd "$dir" && npm ci --no-audit --no-fund)
fi
cd "$dir"
# Test files to run: the arguments, or all of them.
if [ "$#" -gt 0 ]; then files=("$@"); else files=(vendor.test.mjs export.test.mjs admin.test.mjs dashboard.test.mjs field_order.test.mjs rules.test.mjs views.test.mjs superusers.test.mjs guard.test.mjs pickers.test.mjs collection_diff.test.mjs sync.test.mjs ops.test.mjs apipreview.test.mjs ruletest.test.mjs keys.test.mjs authopts.test.mjs webhooks.test.mjs richtext.test.mjs polish.test.mjs); fi
exec node --test --test-concurrency=1 --test-timeout=120000 "${files[@]}"
