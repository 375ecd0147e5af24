#!/usr/bin/env bash
# Runs the system's processes in the background, one pid file and one log file each, under .run/:
#
#   scripts/procs.sh start <name>     start one process (no-op when it already runs)
#   scripts/procs.sh stop <name>      SIGTERM, then SIGKILL after STOP_GRACE_SECONDS (default 15)
#   scripts/procs.sh restart <name>
#   scripts/procs.sh status           one line per process
#   scripts/procs.sh check            exit 1 (naming it) when any process is not running
#   scripts/procs.sh names            the process names, in start order
#
# Any one process can be killed and restarted alone, which is what the fault tests and operators need.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# PROCS_RUN_DIR: another place for the pid and log files (the script's own tests use a temporary one).
RUN_DIR="${PROCS_RUN_DIR:-$ROOT/.run}"
# shellcheck source=scripts/process-state.sh
source "$ROOT/scripts/process-state.sh"
LOG_DIR="$RUN_DIR/logs"
mkdir -p "$RUN_DIR/pids" "$LOG_DIR"

# name -> compiled entry point, in start order.
declare -A ENTRY=(
  [mock-provider]="services/mock-provider/dist/main-provider.js"
  [card-api]="services/card-api/dist/main-api.js"
  [outbox-relay]="services/card-api/dist/main-outbox-relay.js"
  [card-events-consumer]="services/card-api/dist/main-card-events-consumer.js"
  [provider-worker]="services/provider-worker/dist/main-worker.js"
)
ORDER=(mock-provider card-api outbox-relay card-events-consumer provider-worker)

# Every process reads HTTP_PORT; the helpers' ports are set here so one .env can serve all of them.
declare -A EXTRA_ENV=(
  [mock-provider]="HTTP_PORT=${MOCK_PROVIDER_PORT:-3200}"
  [provider-worker]="HTTP_PORT=${PROVIDER_WORKER_PORT:-3101} PROVIDER_URL=${PROVIDER_URL:-http://127.0.0.1:${MOCK_PROVIDER_PORT:-3200}}"
)

# PROCS_PROFILE=cluster: the replicated profile (make up-cluster), over the three-broker cluster: two card-apis,
# two outbox relays (one active, one standby on the advisory lock), two card-events consumers and three workers.
# Its ports are 400 above the single profile's, and make up-cluster gives it a run dir and a database of its own,
# so both profiles can run side by side. A replica's Kafka client id names it, so the consumer groups' members
# (cards-ops consumers lag, the console) say which process owns which partition.
if [[ "${PROCS_PROFILE:-single}" == cluster ]]; then
  ENTRY+=(
    [card-api-2]="${ENTRY[card-api]}"
    [outbox-relay-2]="${ENTRY[outbox-relay]}"
    [card-events-consumer-2]="${ENTRY[card-events-consumer]}"
    [provider-worker-2]="${ENTRY[provider-worker]}"
    [provider-worker-3]="${ENTRY[provider-worker]}"
  )
  ORDER=(mock-provider card-api card-api-2 outbox-relay outbox-relay-2 card-events-consumer card-events-consumer-2
    provider-worker provider-worker-2 provider-worker-3)
  provider="PROVIDER_URL=http://127.0.0.1:3600"
  EXTRA_ENV=(
    [mock-provider]="HTTP_PORT=3600"
    [card-api]="HTTP_PORT=3400 $provider"
    [card-api-2]="HTTP_PORT=3410 KAFKA_CLIENT_ID=card-api-2 $provider"
    [outbox-relay]="OUTBOX_RELAY_HTTP_PORT=3401"
    [outbox-relay-2]="OUTBOX_RELAY_HTTP_PORT=3411 KAFKA_CLIENT_ID=card-api-2"
    [card-events-consumer]="CARD_EVENTS_HTTP_PORT=3402 $provider"
    [card-events-consumer-2]="CARD_EVENTS_HTTP_PORT=3412 KAFKA_CLIENT_ID=card-api-2 $provider"
    [provider-worker]="HTTP_PORT=3501 $provider"
    [provider-worker-2]="HTTP_PORT=3502 KAFKA_CLIENT_ID=provider-worker-2 $provider"
    [provider-worker-3]="HTTP_PORT=3503 KAFKA_CLIENT_ID=provider-worker-3 $provider"
  )
elif [[ "${PROCS_PROFILE:-single}" != single ]]; then
  echo "procs: PROCS_PROFILE is single or cluster, not '$PROCS_PROFILE'" >&2
  exit 2
fi

pid_file() { echo "$RUN_DIR/pids/$1.pid"; }

running() {
  local file
  file="$(pid_file "$1")"
  [[ -f "$file" ]] && alive "$(cat "$file")"
}

require_name() {
  [[ -n "${ENTRY[$1]:-}" ]] || { echo "procs: unknown process '$1' (known: ${ORDER[*]})" >&2; exit 2; }
}

start() {
  require_name "$1"
  if running "$1"; then
    echo "procs: $1 already running (pid $(cat "$(pid_file "$1")"))"
    return 0
  fi
  local entry="$ROOT/${ENTRY[$1]}"
  [[ -f "$entry" ]] || { echo "procs: $entry is missing; run make build" >&2; exit 1; }
  # A session of its own (setsid -f), so the process outlives make and the terminal; only `stop` ends it.
  # The inner shell records its pid and then becomes the node process, so the pid file names node itself.
  rm -f "$(pid_file "$1")"
  # V8 sizes its heaps for this host's memory, not for our ~30 MB of live heap; capped, the peak RSS at twice the
  # knee stays under 200 MB at no measurable CPU cost (docs/benchmarks.md). Dockerfile and benchmark: the same.
  # shellcheck disable=SC2086 # EXTRA_ENV entries are several NAME=value words on purpose
  (cd "$ROOT" && setsid -f env ${EXTRA_ENV[$1]:-} bash -c 'echo $$ >"$0"; exec node --max-semi-space-size=8 --max-old-space-size=128 "$1"' "$(pid_file "$1")" "$entry" \
    >>"$LOG_DIR/$1.log" 2>&1 </dev/null)
  local waited=0
  until [[ -s "$(pid_file "$1")" ]] || ((waited++ > 50)); do sleep 0.1; done
  sleep 0.3
  if ! running "$1"; then
    echo "procs: $1 exited at once; last lines of $LOG_DIR/$1.log:" >&2
    tail -n 20 "$LOG_DIR/$1.log" >&2
    exit 1
  fi
  echo "procs: $1 started (pid $(cat "$(pid_file "$1")"), log ${LOG_DIR#"$ROOT/"}/$1.log)"
}

stop() {
  require_name "$1"
  local file pid
  file="$(pid_file "$1")"
  if ! running "$1"; then
    rm -f "$file"
    return 0
  fi
  pid="$(cat "$file")"
  kill -TERM "$pid"
  local deadline=$((SECONDS + ${STOP_GRACE_SECONDS:-15}))
  while alive "$pid"; do
    if ((SECONDS >= deadline)); then
      echo "procs: $1 did not stop within ${STOP_GRACE_SECONDS:-15}s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$file"
  echo "procs: $1 stopped"
}

status() {
  local name
  for name in "${ORDER[@]}"; do
    if running "$name"; then
      echo "$name: running (pid $(cat "$(pid_file "$name")"))"
    else
      echo "$name: stopped"
    fi
  done
}

case "${1:-}" in
  start) start "${2:?process name}" ;;
  stop) stop "${2:?process name}" ;;
  restart)
    stop "${2:?process name}"
    start "$2"
    ;;
  status) status ;;
  check)
    # Fails when any process is not running: `make up` ends with it, so a process that died after
    # start-up (a port already taken, say) is reported instead of hidden behind another listener.
    failed=0
    for name in "${ORDER[@]}"; do
      if ! running "$name"; then
        echo "procs: $name is not running; last lines of .run/logs/$name.log:" >&2
        tail -n 10 "$LOG_DIR/$name.log" >&2 || true
        failed=1
      fi
    done
    exit "$failed"
    ;;
  names) echo "${ORDER[*]}" ;;
  *)
    echo "usage: $0 {start|stop|restart <name>|status|check|names}" >&2
    exit 2
    ;;
esac
