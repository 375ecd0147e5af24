#!/usr/bin/env bash
# Runs a local three-node Apache Kafka cluster (KRaft: every node a broker and a voter of the controller quorum)
# from the same Maven jars as the single broker, for the replicated profile (make up-cluster) and its fault runs.
#
#   scripts/kafka-cluster.sh start          start the nodes that do not run, wait until every node answers
#   scripts/kafka-cluster.sh stop           stop every node (SIGTERM, then SIGKILL after a grace period)
#   scripts/kafka-cluster.sh status         one line per node; exit 0 when every node answers
#   scripts/kafka-cluster.sh brokers        the bootstrap list, for KAFKA_BROKERS
#   scripts/kafka-cluster.sh kill <n>       SIGKILL node n at once (fault runs)
#   scripts/kafka-cluster.sh restart <n>    start node n again and wait until it answers
#   scripts/kafka-cluster.sh clean          stop every node and delete the cluster's data
#
# Node n (1..3) listens on 127.0.0.1:91n2 (clients and replication) and 127.0.0.1:91n3 (controller quorum), keeps
# its data in .run/kafka-cluster/node-n and logs to .run/logs/kafka-91-n.log: apart from the single broker's ports
# (9092, 9093), so both can run side by side. KAFKA_CLUSTER_PORT_PREFIX (91) and KAFKA_CLUSTER_DIR move a second
# cluster (the cluster tests') out of the way of the first. Internal topics get three replicas and min.insync.replicas=2;
# our topics get what KAFKA_TOPIC_REPLICATION_FACTOR and KAFKA_TOPIC_MIN_INSYNC_REPLICAS say at set-up.
#
# KAFKA_CLUSTER_TEST_NET=<net> puts node n on a test host of its own, kafka-n at 10.<net>.0.1n (scripts/test-hosts.sh,
# as root), listening on that address instead of 127.0.0.1: the cluster fault run cuts such a host off to make a
# network partition.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODES=3
CLUSTER_DIR="${KAFKA_CLUSTER_DIR:-$ROOT/.run/kafka-cluster}"
PORT_PREFIX="${KAFKA_CLUSTER_PORT_PREFIX:-91}"
TEST_NET="${KAFKA_CLUSTER_TEST_NET:-}"
[[ "$PORT_PREFIX" =~ ^[1-9][0-9]$ ]] || { echo "KAFKA_CLUSTER_PORT_PREFIX: two digits, 10 to 99 (node n: <prefix>n2, <prefix>n3)" >&2; exit 2; }

log() { echo "kafka-cluster: $*" >&2; }

host_of() { if [[ -n "$TEST_NET" ]]; then echo "10.$TEST_NET.0.1$1"; else echo 127.0.0.1; fi; }
broker_port() { echo "$PORT_PREFIX${1}2"; }
controller_port() { echo "$PORT_PREFIX${1}3"; }

voters() {
  local n list=()
  for ((n = 1; n <= NODES; n++)); do list+=("$n@$(host_of "$n"):$(controller_port "$n")"); done
  (IFS=,; echo "${list[*]}")
}

brokers() {
  local n list=()
  for ((n = 1; n <= NODES; n++)); do list+=("$(host_of "$n"):$(broker_port "$n")"); done
  (IFS=,; echo "${list[*]}")
}

# Runs scripts/kafka.sh for node n (on its test host, when there are test hosts).
node() {
  local n="$1" on_host=()
  shift
  if [[ -n "$TEST_NET" ]]; then
    "$ROOT/scripts/test-hosts.sh" add "$TEST_NET" "kafka-$n" "1$n"
    on_host=("$ROOT/scripts/test-hosts.sh" exec "$TEST_NET" "kafka-$n")
  fi
  "${on_host[@]}" env KAFKA_HOST="$(host_of "$n")" KAFKA_NODE_ID="$n" KAFKA_PORT="$(broker_port "$n")" \
    KAFKA_CONTROLLER_PORT="$(controller_port "$n")" KAFKA_ADVERTISED_PORT="$(broker_port "$n")" KAFKA_VOTERS="$(voters)" KAFKA_CLUSTER_ID="$(cluster_id)" \
    KAFKA_INTERNAL_REPLICAS=3 KAFKA_INTERNAL_MIN_ISR=2 KAFKA_RUN_DIR="$CLUSTER_DIR/node-$n" \
    KAFKA_LOG_NAME="kafka-$PORT_PREFIX-$n.log" "$ROOT/scripts/kafka.sh" "$@"
}

# One cluster id for every node, made once: nodes formatted with different ids never form a quorum.
cluster_id() {
  mkdir -p "$CLUSTER_DIR"
  if [[ ! -s "$CLUSTER_DIR/cluster-id" ]]; then
    "$ROOT/scripts/kafka.sh" fetch
    java -cp "${KAFKA_LIBS_DIR:-$ROOT/.cache/kafka/libs}/*" kafka.tools.StorageTool random-uuid \
      >"$CLUSTER_DIR/cluster-id"
  fi
  cat "$CLUSTER_DIR/cluster-id"
}

require_node() {
  [[ "${1:-}" =~ ^[1-3]$ ]] || { echo "usage: $0 $2 <1|2|3>" >&2; exit 2; }
}

start() {
  local n
  cluster_id >/dev/null
  # Every node first, then the waits: a node answers only once a majority of the quorum runs.
  for ((n = 1; n <= NODES; n++)); do node "$n" launch; done
  for ((n = 1; n <= NODES; n++)); do node "$n" wait; done
  log "ready: $(brokers)"
}

status() {
  local n down=0
  for ((n = 1; n <= NODES; n++)); do
    if node "$n" status; then
      echo "kafka-$n: answering on $(host_of "$n"):$(broker_port "$n")"
    else
      echo "kafka-$n: not answering"
      down=1
    fi
  done
  return "$down"
}

case "${1:-}" in
  start) start ;;
  stop) for ((n = 1; n <= NODES; n++)); do node "$n" stop; done ;;
  status) status ;;
  brokers) brokers ;;
  kill)
    require_node "${2:-}" kill
    node "$2" kill
    ;;
  restart)
    require_node "${2:-}" restart
    node "$2" start
    ;;
  clean)
    for ((n = 1; n <= NODES; n++)); do node "$n" stop; done
    rm -rf "$CLUSTER_DIR"
    ;;
  *)
    echo "usage: $0 {start|stop|status|brokers|kill <n>|restart <n>|clean}" >&2
    exit 2
    ;;
esac
