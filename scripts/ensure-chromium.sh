#!/usr/bin/env bash
# Make sure Debian's chromium is there for the `lgrs serve` browser tests (tests/web).
# Playwright drives this binary; `playwright install` (a download) is never needed.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x "${LGRS_CHROMIUM:-/nonexistent}" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "chromium not found: installing it with apt-get (for the lgrs serve browser tests)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
cat >&2 <<'MSG'
chromium is not installed and this script cannot install it (not root, or no apt-get),
so the lgrs serve browser tests will be skipped (they fail under CI=true). Install it with:
  Debian/Ubuntu: sudo apt-get install chromium
  elsewhere:     any Chromium or Chrome binary, then LGRS_CHROMIUM=/path/to/it make test
MSG
