#!/usr/bin/env bash
# Make sure a redis-server binary exists: the tests and the demo start their own.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "redis-server not found: installing it with apt-get" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  exit 0
fi
cat >&2 <<'MSG'
redis-server is not installed and this script cannot install it (not root, or no apt-get).
Install it, then run the command again:
  Debian/Ubuntu: sudo apt-get install redis-server
  macOS:         brew install redis
Or point the tests at a running server: REDIS_URL=redis://localhost:6379/0 make test
MSG
exit 1
