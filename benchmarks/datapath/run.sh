#!/usr/bin/env bash
# Packets per second through the bridge of a host holding N programmed VMs:
# one UDP flow of 64-byte datagrams (iperf3 -u -b 0 -l 64, datagrams received
# per second) and one TCP stream (Gbit/s) from the uplink to the last
# programmed VM, open and tracked, IPv4 and IPv6, and a UDP flow between two
# VMs on the bridge; for each size in each layout, and with no rules (the
# bridge's own limit). All in network namespaces it creates and deletes: per
# host, the host (bridge cloudbr0, br_netfilter on, rules from
# `security-groups apply`), an outside namespace behind the uplink, and the
# three last VMs of the host file (make-host.py) behind real veth ports; the
# other VMs exist as rules only.
# Then the cost of a rule allowing another group's members: UDP to the
# tracked VM when its rules allow one CIDR, and when they allow a group of
# PEERS members. Its packets are all NEW (UDP that conntrack never sees
# answered stays NEW), so each walks the rule.
#
# What is compared is measured side by side: the hosts of one size (one per
# layout), or of one layout (one CIDR, PEERS members), exist together and each
# cell's RUNS samples alternate between them, so a drift of the machine hits
# both; a cell is their median. iperf3's client and server run on one CPU
# (PIN, iperf3 -A; the bridge's work runs in the sender's softirq there too):
# a packet's whole cost is then on one core, which is steadier than letting
# the scheduler split it over two (PIN= lets it).
#
#   benchmarks/datapath/run.sh     # SIZES="10 1000 5000" LAYOUTS="classic notrack" SECONDS_PER_TEST=3 RUNS=1
#                                  # PIN=1 PEERS=1000 PEERS_HOST=1000 BINARY=(this tree's static release build)
#                                  # OUT=benchmarks/results (the table and its chart)
#                                  # NETFILTER=legacy (or nftables: the iptables tables in nf_tables)
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
pin=${PIN-1}
netfilter=${NETFILTER:-legacy}
variant=legacy; [ "$netfilter" = nftables ] && variant=nft
suffix=$([ "$netfilter" = nftables ] && echo "-nftables" || true)
work=$(mktemp -d)
prefix=sgdp$$
cleanup() {
  cleanup_ns
  rm -rf "$work"
}
cleanup_ns() { for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix-" || true); do ip netns pids "$ns" | xargs -r kill 2>/dev/null || true; ip netns delete "$ns"; done; }
trap cleanup EXIT INT TERM
export XTABLES_LOCKFILE=$work/xtables.lock
affinity=(${pin:+-A "$pin"})

# guest number + 2, as make-host.py gives addresses
v4() { echo "10.1.$(( $1 >> 8 & 255 )).$(( $1 & 255 ))"; }
v6() { printf '2001:db8::%x' "$1"; }

# Host $1 (namespaces $prefix-$1-host, -out, -vm<i>) with $2 VMs, their rules
# from host file $3 in layout $4 (none: no rules). The three VMs with real
# ports: vnet<N-3..N-1>.
build() {
  local tag=$1 size=$2 file=${3:-} layout=${4:-none}
  local host=$prefix-$tag-host outside=$prefix-$tag-out
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
    local ns=$prefix-$tag-vm$i
    ip netns add "$ns"
    ip -n "$host" link add "vnet$i" type veth peer name eth0 netns "$ns"
    ip -n "$host" link set "vnet$i" master cloudbr0 up
    ip -n "$ns" link set eth0 address "$(printf '02:00:00:%02x:%02x:%02x' $((n >> 16 & 255)) $((n >> 8 & 255)) $((n & 255)))"
    ip -n "$ns" addr add "$(v4 $n)/16" dev eth0; ip -n "$ns" addr add "$(v6 $n)/64" dev eth0 nodad
    ip -n "$ns" link set eth0 up; ip -n "$ns" link set lo up
    ip netns exec "$ns" iperf3 "${affinity[@]}" -s -D -I "$work/iperf-$tag-$i.pid" >/dev/null
  done
  echo "netfilter = $netfilter" > "$work/sg.conf"
  [ "$layout" = none ] || SECURITY_GROUPS_CONFIG=$work/sg.conf ip netns exec "$host" "$binary" apply --host "$file" --layout "$layout" >/dev/null
}

# One iperf3 run from namespace $1 to address $2 ($3: udp or tcp): pps or Gbit/s.
measure() {
  local from=$1 to=$2 kind=$3
  local json=$work/iperf.json
  local options=(-c "$to" -t "$duration" -J "${affinity[@]}")
  [ "$kind" = udp ] && options+=(-u -b 0 -l 64)
  if ! ip netns exec "$from" iperf3 "${options[@]}" > "$json" 2>/dev/null </dev/null; then echo "failed"; return; fi
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

# The cells of a row on a host of $1 VMs, one per line: sender (out, or vm<i>), address, udp or tcp.
cells() {
  local size=$1 peer=$(($1 - 3)) tracked=$(($1 - 2)) open=$(($1 - 1))
  for target in $open $tracked; do
    local n=$((target + 2))
    for address in "$(v4 $n)" "$(v6 $n)"; do echo "out $address udp"; echo "out $address tcp"; done
  done
  echo "vm$peer $(v4 $((open + 2))) udp"
}

# The rows of hosts "tag:label" ... (built, all of $1 VMs), cells from
# function $2: each cell's $runs samples alternate between the hosts; a row
# cell is the median of its host's samples.
side_by_side() {
  local size=$1 cells_of=$2; shift 2
  local -A row=() values=()
  local lines line host tag
  mapfile -t lines < <("$cells_of" "$size")
  for line in "${lines[@]}"; do
    read -r from address kind <<< "$line"
    values=()
    for _ in $(seq "$runs"); do
      for host; do tag=${host%%:*}; values[$tag]+="$(measure "$prefix-$tag-$from" "$address" "$kind") "; done
    done
    for host; do tag=${host%%:*}; row[$tag]+="$(printf '%s\n' ${values[$tag]} | median_of)|"; done
  done
  for host; do echo "| $size | ${host#*:} |${row[${host%%:*}]}"; done
}

all_tables() {
  echo "| VMs | layout | open v4 UDP pps | open v4 TCP Gbit/s | open v6 UDP pps | open v6 TCP Gbit/s | tracked v4 UDP pps | tracked v4 TCP Gbit/s | tracked v6 UDP pps | tracked v6 TCP Gbit/s | VM to VM v4 UDP pps |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  build bare 3
  side_by_side 3 cells "bare:no rules"
  cleanup_ns
  for size in $sizes; do
    python3 benchmarks/datapath/make-host.py "$size" > "$work/host.json"
    local hosts=()
    for layout in $layouts; do build "$layout" "$size" "$work/host.json" "$layout"; hosts+=("$layout:$layout"); done
    side_by_side "$size" cells "${hosts[@]}"
    cleanup_ns
  done

  local peers=${PEERS:-1000} peers_host=${PEERS_HOST:-1000}
  echo
  echo "| VMs | layout, the tracked VM allows udp/5201 from | v4 UDP pps, every packet NEW |"
  echo "| --- | --- | --- |"
  python3 benchmarks/datapath/make-host.py "$peers_host" --peers 1 > "$work/one.json"
  python3 benchmarks/datapath/make-host.py "$peers_host" --peers "$peers" > "$work/many.json"
  for layout in $layouts; do
    for tag in one many; do
      build "$tag" "$peers_host" "$work/$tag.json" "$layout"
      # iperf3's UDP handshake answers the client once, which would make the
      # flow ESTABLISHED: keep the server's packets out of conntrack.
      ip netns exec "$prefix-$tag-host" "iptables-$variant" -t raw -I PREROUTING -p udp --sport 5201 -j CT --notrack
    done
    side_by_side "$peers_host" tracked_udp "one:$layout, one CIDR (10.1.0.0/16)" "many:$layout, $peers addresses"
    cleanup_ns
  done
}
tracked_udp() { echo "out $(v4 "$1") udp"; }  # the tracked VM of a host of $1 VMs

# The table on stdout and in OUT (default benchmarks/results), with its chart.
out=${OUT:-benchmarks/results}
mkdir -p "$out"
all_tables | tee "$work/table.md"
cp "$work/table.md" "$out/datapath$suffix.md"
benchmarks/datapath/chart.sh "$work/table.md" "$out/datapath$suffix.png"
echo
echo "table: $out/datapath$suffix.md; chart: $out/datapath$suffix.png; netfilter: $netfilter; machine: $(nproc) cores, Linux $(uname -r); iperf3 on CPU ${pin:-any}"
