#!/usr/bin/env bash
# Runs a real Apache Kafka node (KRaft, broker and controller) without Docker: the single broker of local
# development and CI, or, driven by scripts/kafka-cluster.sh, one node of a three-node cluster.
#
#   scripts/kafka.sh fetch    copy the broker's jars from Maven Central into .cache/kafka/libs (once)
#   scripts/kafka.sh start    format storage if needed, start the broker, wait until it answers metadata
#   scripts/kafka.sh launch   the same without waiting (a cluster's node cannot answer before a quorum exists)
#   scripts/kafka.sh stop     stop the broker this script started (SIGTERM, then SIGKILL after a grace period)
#   scripts/kafka.sh kill     SIGKILL it at once (fault tests)
#   scripts/kafka.sh status   exit 0 when a broker answers on the configured port
#   scripts/kafka.sh wait     wait until a broker answers (KAFKA_WAIT_SECONDS, default 90)
#
# Needs a JDK (17+) and Maven. Address: KAFKA_HOST (default 127.0.0.1; a test host's address in the cluster fault
# run). Port: KAFKA_PORT (default 9092); controller: KAFKA_CONTROLLER_PORT (9093);
# KAFKA_ADVERTISED_PORT (default KAFKA_PORT); KAFKA_RUN_DIR for a second, independent broker. A cluster's node also
# sets KAFKA_NODE_ID, KAFKA_VOTERS (the controller quorum), KAFKA_CLUSTER_ID, KAFKA_INTERNAL_REPLICAS and
# KAFKA_INTERNAL_MIN_ISR (internal topics), and KAFKA_LOG_NAME (its log file under .run/logs).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/process-state.sh
source "$ROOT/scripts/process-state.sh"
LIBS="${KAFKA_LIBS_DIR:-$ROOT/.cache/kafka/libs}"
RUN_DIR="${KAFKA_RUN_DIR:-$ROOT/.run/kafka}"
LOG_DIR="${RUN_LOG_DIR:-$ROOT/.run/logs}"
HOST="${KAFKA_HOST:-127.0.0.1}"
PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
# The address clients are told to dial after bootstrap; differs from PORT only behind a proxy (fault tests).
ADVERTISED_PORT="${KAFKA_ADVERTISED_PORT:-$PORT}"
PID_FILE="$RUN_DIR/kafka.pid"
NODE_ID="${KAFKA_NODE_ID:-1}"
VOTERS="${KAFKA_VOTERS:-$NODE_ID@$HOST:$CONTROLLER_PORT}"
INTERNAL_REPLICAS="${KAFKA_INTERNAL_REPLICAS:-1}"
INTERNAL_MIN_ISR="${KAFKA_INTERNAL_MIN_ISR:-1}"
LOG_NAME="${KAFKA_LOG_NAME:-kafka.log}"
POM="$ROOT/infra/kafka/pom.xml"

log() { echo "kafka: $*" >&2; }

kafka_version() {
  sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM"
}

fetch() {
  local version
  version="$(kafka_version)"
  if [[ -f "$LIBS/kafka_2.13-$version.jar" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || { log "Maven (mvn) is needed to fetch Kafka"; exit 1; }
  log "fetching Apache Kafka $version from Maven Central into $LIBS"
  rm -rf "$LIBS"
  mkdir -p "$LIBS"
  mvn -q -B -f "$POM" dependency:copy-dependencies \
    -DoutputDirectory="$LIBS" -DincludeScope=runtime
}

java_cmd() {
  if [[ -n "${JAVA_HOME:-}" ]]; then echo "$JAVA_HOME/bin/java"; else echo java; fi
}

jvm_args() {
  # Mirrors the essentials of Kafka's bin/kafka-run-class.sh: heap, G1, headless, log4j2 config, classpath.
  # shellcheck disable=SC2086 # KAFKA_HEAP_OPTS holds several words on purpose
  printf '%s\n' ${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true "-Dlog4j2.configurationFile=$ROOT/infra/kafka/log4j2.yaml" -cp "$LIBS/*"
}

run_class() {
  local args
  mapfile -t args < <(jvm_args)
  "$(java_cmd)" "${args[@]}" "$@"
}

answers() {
  # A metadata round trip (DescribeCluster), not just an open port: the broker must be serving.
  run_class org.apache.kafka.tools.ClusterTool cluster-id \
    --bootstrap-server "$HOST:$PORT" >/dev/null 2>&1
}

port_open() {
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

wait_ready() {
  local deadline=$((SECONDS + ${KAFKA_WAIT_SECONDS:-90}))
  until answers; do
    if [[ -f "$PID_FILE" ]] && ! alive "$(cat "$PID_FILE")"; then
      log "broker exited during start-up; last lines of $LOG_DIR/$LOG_NAME:"
      tail -n 30 "$LOG_DIR/$LOG_NAME" >&2 || true
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      log "no answer on $HOST:$PORT after ${KAFKA_WAIT_SECONDS:-90}s"
      exit 1
    fi
    sleep 1
  done
}

# Starts the broker unless something listens on its port; returns 1 in that case (nothing was started).
launch() {
  mkdir -p "$RUN_DIR"
  # Two starts at once (make up beside a test run) must not race to bind the same ports.
  exec 9>"$RUN_DIR/start.lock"
  flock 9
  if port_open "$PORT"; then
    log "something already listens on $HOST:$PORT; not starting another broker"
    return 1
  fi
  fetch
  mkdir -p "$RUN_DIR/data" "$LOG_DIR"
  local props="$RUN_DIR/server.properties"
  sed -e "s|@HOST@|$HOST|g" -e "s|@PORT@|$PORT|g" -e "s|@ADVERTISED_PORT@|$ADVERTISED_PORT|g" \
    -e "s|@CONTROLLER_PORT@|$CONTROLLER_PORT|g" -e "s|@DATA_DIR@|$RUN_DIR/data|g" \
    -e "s|@NODE_ID@|$NODE_ID|g" -e "s|@VOTERS@|$VOTERS|g" \
    -e "s|@INTERNAL_REPLICAS@|$INTERNAL_REPLICAS|g" -e "s|@INTERNAL_MIN_ISR@|$INTERNAL_MIN_ISR|g" \
    "$ROOT/infra/kafka/server.properties.template" >"$props"
  if [[ -n "${KAFKA_CLUSTER_ID:-}" ]]; then
    echo "$KAFKA_CLUSTER_ID" >"$RUN_DIR/cluster-id"
  elif [[ ! -f "$RUN_DIR/cluster-id" ]]; then
    run_class kafka.tools.StorageTool random-uuid >"$RUN_DIR/cluster-id"
  fi
  # A static controller.quorum.voters means no --standalone; --ignore-formatted keeps existing data.
  run_class kafka.tools.StorageTool format -t "$(cat "$RUN_DIR/cluster-id")" -c "$props" \
    --ignore-formatted >>"$LOG_DIR/$LOG_NAME" 2>&1
  log "starting broker on $HOST:$PORT (logs: $LOG_DIR/$LOG_NAME)"
  local args
  mapfile -t args < <(jvm_args)
  # setsid: the broker outlives the shell (and make) that started it, and ignores that terminal's signals.
  # 9>&-: the broker must not inherit the start lock, or it would hold it for its whole life.
  setsid nohup "$(java_cmd)" "${args[@]}" kafka.Kafka "$props" >>"$LOG_DIR/$LOG_NAME" 2>&1 </dev/null 9>&- &
  echo $! >"$PID_FILE"
}

start() {
  if launch; then
    wait_ready
    log "ready on $HOST:$PORT (pid $(cat "$PID_FILE"))"
  else
    wait_ready
  fi
}

kill_now() {
  if [[ -f "$PID_FILE" ]]; then
    kill -KILL "$(cat "$PID_FILE")" 2>/dev/null || true
    rm -f "$PID_FILE"
    log "killed (SIGKILL) the broker on $HOST:$PORT"
  fi
}

stop() {
  if [[ ! -f "$PID_FILE" ]]; then
    log "not started by this script; nothing to stop"
    return 0
  fi
  local pid
  pid="$(cat "$PID_FILE")"
  if alive "$pid"; then
    kill -TERM "$pid"
    local deadline=$((SECONDS + ${KAFKA_STOP_SECONDS:-30}))
    while alive "$pid"; do
      if ((SECONDS >= deadline)); then
        log "broker did not stop in time; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.5
    done
  fi
  rm -f "$PID_FILE"
  log "stopped"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  launch) launch || true ;;
  stop) stop ;;
  kill) kill_now ;;
  status) answers ;;
  wait) wait_ready ;;
  *)
    echo "usage: $0 {fetch|start|launch|stop|kill|status|wait}" >&2
    exit 2
    ;;
esac
