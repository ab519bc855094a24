#!/usr/bin/env bash
# Run a command with REDIS_URL pointing at a throwaway redis-server.
#
#   scripts/with-redis.sh .venv/bin/pytest --nbmake notebooks -q
#
# The server listens on a free 127.0.0.1 port, keeps its files in a temporary
# directory and has persistence off. It is stopped, and the directory deleted,
# when the command ends, whatever its exit status; that status is returned.
# Any REDIS_URL already set is ignored: the command always gets a fresh server.
# The work is done by `python -m langgraph_redis_saver.devserver --throwaway`.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${WITH_REDIS_PYTHON:-$root/.venv/bin/python}"
if [ ! -x "$python" ]; then
  echo "$python not found: run \`make install\` first (or set WITH_REDIS_PYTHON)" >&2
  exit 2
fi
exec "$python" -m langgraph_redis_saver.devserver --throwaway -- "$@"
