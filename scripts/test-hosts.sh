#!/usr/bin/env bash
# Test hosts on one machine: network namespaces joined by veth pairs to a bridge, so the cluster fault run can put
# brokers and relays on hosts of their own and cut one off from every other (a network partition), then heal it.
# Linux only, as root, with iproute2's `ip`.
#
#   scripts/test-hosts.sh check                      exit 0 when test hosts can be made here
#   scripts/test-hosts.sh net <net>                  make the network: bridge cards<net>, 10.<net>.0.1/24 (the machine)
#   scripts/test-hosts.sh add <net> <host> <octet>   make host <host> at 10.<net>.0.<octet> (netns cards<net>-<host>)
#   scripts/test-hosts.sh address <net> <host>       print the host's address
#   scripts/test-hosts.sh exec <net> <host> cmd...   run a command on the host (in its namespace)
#   scripts/test-hosts.sh cut <net> <host>           partition: the host's link goes down, to every peer at once
#   scripts/test-hosts.sh heal <net> <host>          the link comes back
#   scripts/test-hosts.sh down <net>                 delete the network's hosts and bridge
#
# The machine itself (root namespace) is 10.<net>.0.1 on the bridge: what runs there reaches every host, and a host
# reaches a server of the machine's that listens on that address. A cut host's packets are dropped; a new
# connection to it fails once ARP gives up (about 3 s), one already open stalls until its own timeouts end it.
set -euo pipefail

log() { echo "test-hosts: $*" >&2; }

usage() {
  sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

require_net() {
  [[ "${1:-}" =~ ^[1-9][0-9]?$ ]] && ((10#$1 <= 254)) || { log "<net>: 1 to 254 (10.<net>.0.0/24)"; exit 2; }
}

require_host() {
  [[ "${1:-}" =~ ^[a-z0-9][a-z0-9-]{0,9}$ ]] || { log "<host>: up to 10 of a-z, 0-9, '-'"; exit 2; }
}

bridge() { echo "cards$1"; }
namespace() { echo "cards$1-$2"; }
# The machine's end of a host's veth pair; interface names are 15 bytes at most.
link() { echo "c$1-$2"; }

check() {
  [[ "$(uname -s)" == Linux ]] || { log "network namespaces need Linux"; return 1; }
  [[ "$(id -u)" == 0 ]] || { log "making network namespaces needs root"; return 1; }
  command -v ip >/dev/null || { log "iproute2's ip is not installed"; return 1; }
  local probe="cards-probe-$$"
  ip netns add "$probe" 2>/dev/null || { log "ip netns add failed here"; return 1; }
  ip netns del "$probe"
}

make_net() {
  local net="$1" br
  br="$(bridge "$net")"
  if ! ip link show "$br" >/dev/null 2>&1; then
    ip link add "$br" type bridge
    ip addr add "10.$net.0.1/24" dev "$br"
  fi
  ip link set "$br" up
}

add_host() {
  local net="$1" host="$2" octet="$3" ns veth
  [[ "$octet" =~ ^[0-9]+$ ]] && ((octet >= 2 && octet <= 254)) || { log "<octet>: 2 to 254"; exit 2; }
  ns="$(namespace "$net" "$host")"
  veth="$(link "$net" "$host")"
  make_net "$net"
  if ip netns list | grep -qw "^$ns"; then
    return 0
  fi
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" master "$(bridge "$net")" up
  ip -n "$ns" addr add "10.$net.0.$octet/24" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  log "host $host at 10.$net.0.$octet (netns $ns)"
}

address() {
  ip -n "$(namespace "$1" "$2")" -4 -o addr show dev eth0 | awk '{ split($4, a, "/"); print a[1] }'
}

down() {
  local net="$1" ns
  for ns in $(ip netns list | awk '{ print $1 }' | grep "^cards$net-" || true); do
    # Whatever still runs on the host keeps the namespace alive but loses its network.
    ip netns del "$ns"
  done
  ip link del "$(bridge "$net")" 2>/dev/null || true
}

command="${1:-}"
shift || true
case "$command" in
  check) check ;;
  net)
    require_net "${1:-}"
    make_net "$1"
    ;;
  add)
    require_net "${1:-}"
    require_host "${2:-}"
    add_host "$1" "$2" "${3:-}"
    ;;
  address)
    require_net "${1:-}"
    require_host "${2:-}"
    address "$1" "$2"
    ;;
  exec)
    require_net "${1:-}"
    require_host "${2:-}"
    ns="$(namespace "$1" "$2")"
    shift 2
    exec ip netns exec "$ns" "$@"
    ;;
  cut | heal)
    require_net "${1:-}"
    require_host "${2:-}"
    ip link set "$(link "$1" "$2")" "$([[ "$command" == cut ]] && echo down || echo up)"
    log "$command: host $2"
    ;;
  down)
    require_net "${1:-}"
    down "$1"
    ;;
  *) usage ;;
esac
