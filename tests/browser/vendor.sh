#!/usr/bin/env bash
# Recreates assets/admin/vendor/ from the packages pinned in
# package-lock.json: a clean install (integrity-checked), then a copy.
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)"
cd "$dir"
npm ci --no-audit --no-fund
node vendor.mjs
