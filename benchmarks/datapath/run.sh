#!/usr/bin/env bash
# Packets per second through the bridge of a host holding N programmed VMs:
# one UDP flow of 64-byte datagrams (iperf3 -u -b 0 -l 64, datagrams received
# per second) and one TCP stream (Gbit/s) from the uplink to the last
# programmed VM, open and tracked, IPv4 and IPv6, and a UDP flow between two
# VMs on the bridge; for each size in each layout, and with no rules (the
# bridge's own limit). All in network namespaces it creates and deletes:
# host (bridge cloudbr0, br_netfilter on, rules from `security-groups apply`),
# an outside namespace behind the uplink, and the three last VMs of the host
# file (make-host.py) behind real veth ports; the other VMs exist as rules only.
# Then the cost of a rule allowing another group's members: UDP to the
# tracked VM (its packets are all NEW: UDP that is never answered stays NEW)
# when its rules allow one CIDR, and when they allow a group of PEERS members.
#
#   benchmarks/datapath/run.sh     # SIZES="10 1000 5000" LAYOUTS="classic notrack" SECONDS_PER_TEST=3 RUNS=1
#                                  # PEERS=1000 PEERS_HOST=1000 BINARY=(this tree's static release build)
#                                  # OUT=benchmarks/results (the table and its chart)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/install-deps.sh >/dev/null
command -v iperf3 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null
swift build -c release --product security-groups --static-swift-stdlib --scratch-path .build-static >/dev/null
# BINARY=/path/to/older/security-groups measures another build (before and after a change).
binary=${BINARY:-$PWD/.build-static/release/security-groups}
sizes=${SIZES:-10 1000 5000}
layouts=${LAYOUTS:-classic notrack}
duration=${SECONDS_PER_TEST:-3}
runs=${RUNS:-1}
work=$(mktemp -d)
prefix=sgdp$$
host=$prefix-host outside=$prefix-out
cleanup() {
  for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix-" || true); do ip netns pids "$ns" | xargs -r kill 2>/dev/null || true; ip netns delete "$ns"; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
export XTABLES_LOCKFILE=$work/xtables.lock

# guest number + 2, as make-host.py gives addresses
v4() { echo "10.1.$(( $1 >> 8 & 255 )).$(( $1 & 255 ))"; }
v6() { printf '2001:db8::%x' "$1"; }

# A fresh host of size $1 (the three VMs with real ports: vnet<N-3..N-1>).
build() {
  local size=$1
  cleanup_ns
  ip netns add "$host"; ip netns add "$outside"
  ip netns exec "$host" sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 2>/dev/null \
    || { modprobe br_netfilter; ip netns exec "$host" sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1; }
  ip -n "$host" link add cloudbr0 type bridge; ip -n "$host" link set cloudbr0 up
  ip netns exec "$host" sysctl -qw net.ipv6.conf.cloudbr0.disable_ipv6=1
  ip -n "$host" link add eth0 type veth peer name eth0 netns "$outside"
  ip -n "$host" link set eth0 master cloudbr0 up
  ip -n "$outside" addr add 10.1.255.254/16 dev eth0; ip -n "$outside" addr add 2001:db8::fffe/64 dev eth0 nodad
  ip -n "$outside" link set eth0 up; ip -n "$outside" link set lo up
  for i in $((size - 3)) $((size - 2)) $((size - 1)); do
    local n=$((i + 2))
    local ns=$prefix-vm$i
    ip netns add "$ns"
    ip -n "$host" link add "vnet$i" type veth peer name eth0 netns "$ns"
    ip -n "$host" link set "vnet$i" master cloudbr0 up
    ip -n "$ns" link set eth0 address "$(printf '02:00:00:%02x:%02x:%02x' $((n >> 16 & 255)) $((n >> 8 & 255)) $((n & 255)))"
    ip -n "$ns" addr add "$(v4 $n)/16" dev eth0; ip -n "$ns" addr add "$(v6 $n)/64" dev eth0 nodad
    ip -n "$ns" link set eth0 up; ip -n "$ns" link set lo up
    ip netns exec "$ns" iperf3 -s -D -I "$work/iperf-$i.pid" >/dev/null
  done
}
cleanup_ns() { for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix-" || true); do ip netns pids "$ns" | xargs -r kill 2>/dev/null || true; ip netns delete "$ns"; done; }

# One iperf3 run from namespace $1 to address $2 ($3: udp or tcp): pps or Gbit/s.
measure() {
  local from=$1 to=$2 kind=$3
  local json=$work/iperf.json
  local options=(-c "$to" -t "$duration" -J)
  [ "$kind" = udp ] && options+=(-u -b 0 -l 64)
  if ! ip netns exec "$from" iperf3 "${options[@]}" > "$json" 2>/dev/null; then echo "failed"; return; fi
  python3 - "$json" "$kind" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))["end"]
if sys.argv[2] == "udp":
    s = result["sum"]
    print(f'{(s["packets"] - s["lost_packets"]) / s["seconds"] / 1000:.1f}k')
else:
    print(f'{result["sum_received"]["bits_per_second"] / 1e9:.2f}')
PY
}
median_of() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
sample() {  # the median of $runs measurements
  local values=() value
  for _ in $(seq "$runs"); do value=$(measure "$@"); values+=("$value"); done
  printf '%s\n' "${values[@]}" | median_of
}

row() {  # size label
  local size=$1 label=$2
  local peer=$((size - 3)) tracked=$((size - 2)) open=$((size - 1))
  local cells=()
  for target in $open $tracked; do
    local n=$((target + 2))
    for address in "$(v4 $n)" "$(v6 $n)"; do
      cells+=("$(sample "$outside" "$address" udp)" "$(sample "$outside" "$address" tcp)")
    done
  done
  cells+=("$(sample "$prefix-vm$peer" "$(v4 $((open + 2)))" udp)")
  local IFS='|'; echo "| $size | $label |${cells[*]}|"
}

all_tables() {
  echo "| VMs | layout | open v4 UDP pps | open v4 TCP Gbit/s | open v6 UDP pps | open v6 TCP Gbit/s | tracked v4 UDP pps | tracked v4 TCP Gbit/s | tracked v6 UDP pps | tracked v6 TCP Gbit/s | VM to VM v4 UDP pps |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  build 3
  row 3 "no rules"
  for size in $sizes; do
    python3 benchmarks/datapath/make-host.py "$size" > "$work/host.json"
    for layout in $layouts; do
      build "$size"
      ip netns exec "$host" "$binary" apply --host "$work/host.json" --layout "$layout" >/dev/null
      row "$size" "$layout"
    done
  done

  peers=${PEERS:-1000}
  peers_host=${PEERS_HOST:-1000}
  echo
  echo "| VMs | layout | the tracked VM allows udp/5201 from | v4 UDP pps, every packet NEW |"
  echo "| --- | --- | --- | --- |"
  for layout in $layouts; do
    for count in 1 "$peers"; do
      python3 benchmarks/datapath/make-host.py "$peers_host" --peers "$count" > "$work/host.json"
      build "$peers_host"
      ip netns exec "$host" "$binary" apply --host "$work/host.json" --layout "$layout" >/dev/null
      label=$([ "$count" = 1 ] && echo "one CIDR (10.1.0.0/16)" || echo "$count addresses")
      echo "| $peers_host | $layout | $label | $(sample "$outside" "$(v4 $peers_host)" udp) |"
    done
  done
}

# The table on stdout and in OUT (default benchmarks/results), with its chart.
out=${OUT:-benchmarks/results}
mkdir -p "$out"
all_tables | tee "$work/table.md"
cp "$work/table.md" "$out/datapath.md"
benchmarks/datapath/chart.sh "$work/table.md" "$out/datapath.png"
echo
echo "table: $out/datapath.md; chart: $out/datapath.png; machine: $(nproc) cores, Linux $(uname -r)"
