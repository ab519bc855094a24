#!/usr/bin/env bash
# The interview story, end to end and non-interactive (run by `make demo`):
#   1. start an interview, answer two questions; the process exits mid-interview
#   2. a new process resumes the session by id and completes it
#   3. `lgrs sessions` and `lgrs show SESSION` read it back from Redis
#
# Redis: REDIS_URL if set (the demo says so, and its session stays there),
# else a throwaway redis-server started for the demo and stopped at the end
# (chosen by `python -m langgraph_redis_saver.devserver`, which never writes
# into a server nobody named, such as one on localhost:6379).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="$root/.venv/bin/python"
lgrs="$root/.venv/bin/lgrs"
if [ ! -x "$py" ]; then
  echo "$py not found: run \`make install\` (or \`make demo\`, which does it)" >&2
  exit 2
fi

# Re-run this script under the devserver, which sets REDIS_URL and stops any
# server it started when the script exits, whatever its status.
if [ -z "${LGRS_DEMO_REDIS_READY:-}" ]; then
  export LGRS_DEMO_REDIS_READY=1
  exec "$py" -m langgraph_redis_saver.devserver --quiet -- "$0" "$@"
fi

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
show() { printf '$ %s\n' "$*"; }

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

where="$("$py" -c 'import sys; from langgraph_redis_saver._urls import mask_url; print(mask_url(sys.argv[1]))' "$REDIS_URL")"
if [ "${LGRS_THROWAWAY_REDIS:-0}" = "1" ]; then
  echo "Redis: a throwaway redis-server at $where, stopped (with its data) when the demo ends"
else
  echo "Redis: REDIS_URL=$where (the demo writes its session there)"
fi

step "1. Start an interview, answer two of its four questions, then exit mid-interview"
show "python -m examples.interview --answer ... --answer ..."
"$py" -m examples.interview \
  --answer "I maintain the billing service and I enjoy making slow things fast." \
  --answer "Last week a nightly job ran twice; I traced it to a retry without a lock, and added one." \
  | tee "$log"
session="$(sed -n 's/^session: //p' "$log")"
if [ -z "$session" ]; then
  echo "demo: the interview did not print its session id" >&2
  exit 1
fi
grep -q '^interrupted:' "$log" || { echo "demo: expected the interview to be interrupted" >&2; exit 1; }
echo "(process exited; the interview state is in Redis under session $session)"

step "2. A new process resumes session $session by id and completes the interview"
show "python -m examples.interview --resume $session --answer ... --answer ..."
"$py" -m examples.interview --resume "$session" \
  --answer "Reading other people's code, then rewriting a small part of it myself." \
  --answer "Writing design documents that people actually read." \
  | tee "$log"
grep -q '^resumed:' "$log" || { echo "demo: expected the interview to resume" >&2; exit 1; }
grep -q '^completed:' "$log" || { echo "demo: expected the interview to complete" >&2; exit 1; }

if ! "$py" -c "import langgraph_redis_saver.cli" 2>/dev/null; then
  echo "demo: the lgrs inspector is not installed: run \`make install-cli\`" >&2
  exit 1
fi
step "3. Inspect it without the application's code: lgrs sessions"
show "lgrs sessions --limit 5"
"$lgrs" --url "$REDIS_URL" sessions --limit 5

step "4. lgrs show $session"
show "lgrs show $session"
"$lgrs" --url "$REDIS_URL" show "$session"

step "Done"
echo "The interview was interrupted after two answers, resumed by id in a new process, and completed."
if [ "${LGRS_THROWAWAY_REDIS:-0}" = "1" ]; then
  echo "The throwaway redis-server stops now, and the session with it. To keep the sessions,"
  echo "run the demo against a Redis of your own, then look at them with lgrs:"
  echo "  REDIS_URL=redis://localhost:6379/0 make demo"
  echo "  .venv/bin/lgrs --url redis://localhost:6379/0 sessions"
  echo "  .venv/bin/lgrs --url redis://localhost:6379/0 show SESSION"
else
  echo "The session stays in $where for 24 hours after its last write. Look at it, or delete it:"
  echo "  .venv/bin/lgrs --url \"\$REDIS_URL\" sessions"
  echo "  .venv/bin/lgrs --url \"\$REDIS_URL\" show $session"
  echo "  .venv/bin/lgrs --url \"\$REDIS_URL\" delete $session --yes"
fi
