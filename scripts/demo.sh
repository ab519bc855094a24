#!/usr/bin/env bash
# The interview story, end to end and non-interactive (run by `make demo`):
#   1. start an interview, answer two questions; the process exits mid-interview
#   2. a new process resumes the session by id and completes it
#   3. `lgrs sessions` and `lgrs show SESSION` read it back from Redis
#
# Redis: REDIS_URL if set, else a Redis answering on localhost:6379, else a
# throwaway redis-server started for the demo and stopped at the end (all three
# chosen by `python -m langgraph_redis_saver.devserver`).
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
  exec "$py" -m langgraph_redis_saver.devserver -- "$0" "$@"
fi

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
show() { printf '$ %s\n' "$*"; }

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

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

if [ -x "$lgrs" ] && "$py" -c "import langgraph_redis_saver.cli" 2>/dev/null; then
  step "3. Inspect it without the application's code: lgrs sessions"
  show "lgrs sessions --limit 5"
  "$lgrs" --url "$REDIS_URL" sessions --limit 5

  step "4. lgrs show $session"
  show "lgrs show $session"
  "$lgrs" --url "$REDIS_URL" show "$session"
else
  step "3. Inspect it: lgrs"
  echo "note: the lgrs inspector is not available in this checkout, so this step is skipped."
  echo "      With it: lgrs --url \"\$REDIS_URL\" sessions; lgrs --url \"\$REDIS_URL\" show $session"
fi

step "Done"
echo "The interview was interrupted after two answers, resumed by id in a new process, and completed."
if [ "${LGRS_THROWAWAY_REDIS:-0}" = "1" ]; then
  echo "The throwaway redis-server stops now, and the session with it."
else
  echo "The session expires 24 hours after its last write; to delete it now:"
  echo "  .venv/bin/lgrs delete $session --yes"
fi
