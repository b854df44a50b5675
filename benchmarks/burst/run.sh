#!/usr/bin/env bash
# K VM starts launched together on a host already holding N VMs, as the
# agent launches them when a host comes back or HA restarts VMs: one client
# per VM running its default_network_rules --isFirstNic then its
# add_network_rules (four ingress rules, dual-stack), all clients at once.
# Wall time until every client is done, commands that failed (non-zero exit),
# and VMs left without their rules (no rule chain, or no jump to it). Ours,
# and the script (SG_REFERENCE_SCRIPT, on SCRIPT_SIZES only: it takes minutes);
# "one start" is one VM start alone on the same host, for scale.
#
#   benchmarks/burst/run.sh     # SIZES="1000 5000" BURSTS="20 100" LAYOUT=notrack RUNS=1
#   SG_REFERENCE_SCRIPT=/tmp/ref/security_group.py SCRIPT_SIZES=1000 benchmarks/burst/run.sh
#   BINARY=/path/to/older/security-groups benchmarks/burst/run.sh      # another build as "ours"
#
# The host's N VMs are loaded with `security-groups apply` (the state the
# script would leave in classic), in a network namespace this script deletes.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/install-deps.sh >/dev/null
swift build -c release --product security-groups --static-swift-stdlib --scratch-path .build-static >/dev/null
binary=${BINARY:-$PWD/.build-static/release/security-groups}
sizes=${SIZES:-1000 5000}
bursts=${BURSTS:-20 100}
layout=${LAYOUT:-notrack}
runs=${RUNS:-1}
script=${SG_REFERENCE_SCRIPT:-}
script_sizes=${SCRIPT_SIZES:-1000}
source benchmarks/common.sh
workspace sgburst
[ -n "$script" ] && prepare_script "$script"

rules='I:tcp;22;22;0.0.0.0/0,::/0,NEXT;I:tcp;80;443;0.0.0.0/0,::/0,NEXT;I:icmp;-1;-1;0.0.0.0/0,NEXT;I:udp;53;53;10.0.0.0/8,2001:db8::/32,NEXT;'
# The new VMs: i-2-<90000 + j>-VM, vif vnet<100000 + j> (beyond the host's), addresses from j.
new_vm() { local j=$1 n=$((90000 + $1)); echo "--vmname i-2-$n-VM --vmid $n --vmip 10.9.$((j >> 8)).$((j & 255)) --vmip6 2001:db8:9::$(printf %x "$j") --vmmac 02:00:00:09:$(printf %02x:%02x $((j >> 8)) $((j & 255))) --vif vnet$((100000 + j)) --brname cloudbr0 --nicsecips 0;"; }

# A fresh namespace with a host of $1 VMs and ports for $2 new VMs, whose domains libvirt's test driver runs.
world() {
  local size=$1 burst=$2
  ip netns delete "$namespace" 2>/dev/null || true
  ip netns add "$namespace"
  ip -n "$namespace" link add cloudbr0 type bridge; ip -n "$namespace" link set cloudbr0 up
  ip -n "$namespace" link add eth0 type veth peer name uplink0; ip -n "$namespace" link set eth0 master cloudbr0 up
  echo "<node>" > "$work/domains.xml"
  for j in $(seq 0 $((burst - 1))); do
    ip -n "$namespace" link add "vnet$((100000 + j))" type veth peer name "p$((100000 + j))"; ip -n "$namespace" link set "vnet$((100000 + j))" master cloudbr0 up
    printf "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>i-2-%d-VM</name><memory unit='KiB'>262144</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><devices><interface type='bridge'><mac address='02:00:00:09:%02x:%02x'/><source bridge='cloudbr0'/><target dev='vnet%d'/></interface></devices><test:runstate>1</test:runstate></domain>\n" \
      $((90000 + j)) $((j >> 8)) $((j & 255)) $((100000 + j)) >> "$work/domains.xml"
  done
  echo "</node>" >> "$work/domains.xml"
  in_ns "$binary" apply --host "$work/host-$size.json" --layout "$layout" >/dev/null
  rm -rf "$work/state" "$work/run" "$work/script-run/logs"/* "$work/status"; mkdir -p "$work/status"
  printf 'layout = %s\nnetfilter = %s\nlibvirt_uri = test://%s/domains.xml\nrun_dir = %s/run\nstate_dir = %s/state\nlock_file = %s/sg.lock\nlog_file = %s/sg.log\n' \
    "$layout" "$netfilter" "$work" "$work" "$work" "$work" "$work" > "$work/sg.conf"
}

ours() { SECURITY_GROUPS_CONFIG=$work/sg.conf in_ns "$binary" "$@"; }
theirs() { script_cmd "$@"; }

# One VM start of new VM $2 with $1 (ours or theirs); each command's exit status in $work/status.
start() {
  local tool=$1 j=$2 status
  # shellcheck disable=SC2046
  "$tool" default_network_rules $(new_vm "$j") --isFirstNic >/dev/null 2>&1 && status=0 || status=$?
  echo "$status" > "$work/status/$j-default"
  # shellcheck disable=SC2046
  "$tool" add_network_rules $(new_vm "$j") --sig 0123456789abcdef --seq 1 --rules "$rules" >/dev/null 2>&1 && status=0 || status=$?
  echo "$status" > "$work/status/$j-add"
}

# All $2 starts at once with $1: "seconds failed-commands unprogrammed-VMs".
burst() {
  local tool=$1 count=$2 started=$(date +%s.%N)
  for j in $(seq 0 $((count - 1))); do start "$tool" "$j" & done
  wait
  local took=$(echo "$(date +%s.%N) - $started" | bc)
  local failed=$(cat "$work/status"/* | grep -cv '^0$' || true)
  local dump=$work/dump.txt missing=0
  in_ns "iptables-$variant-save" > "$dump"
  for j in $(seq 0 $((count - 1))); do
    local n=$((90000 + j))
    grep -q -- "^-A i-2-$n-VM .*--dport 22 " "$dump" && grep -q -- "-j i-2-$n-def\$" "$dump" || missing=$((missing + 1))
  done
  echo "$took $failed $missing"
}

echo "| VMs on the host | starts at once | ours: all done (s) | ours: failed commands / VMs without rules | one start alone (s) | all / one | script: all done (s) | script: failed commands / VMs without rules |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for size in $sizes; do
  python3 benchmarks/apply/make-host.py "$size" --bridges 1 > "$work/host-$size.json"
  for count in $bursts; do
    : > "$work/ours"; : > "$work/one"; : > "$work/theirs"
    for _ in $(seq "$runs"); do
      world "$size" 1
      seconds start ours 0 >> "$work/one"
      world "$size" "$count"
      burst ours "$count" >> "$work/ours"
      if [ -n "$script" ] && [[ " $script_sizes " == *" $size "* ]]; then
        world "$size" "$count"
        burst theirs "$count" >> "$work/theirs"
      fi
    done
    one=$(median < "$work/one")
    all=$(cut -d' ' -f1 "$work/ours" | median)
    printf "| %s | %s | %.2f | %s | %.2f | %.1f× " "$size" "$count" "$all" "$(sort -n "$work/ours" | tail -1 | awk '{print $2 " / " $3}')" \
      "$one" "$(echo "$all / $one" | bc -l)"
    if [ -s "$work/theirs" ]; then
      printf "| %.1f | %s |\n" "$(cut -d' ' -f1 "$work/theirs" | median)" "$(sort -n "$work/theirs" | tail -1 | awk '{print $2 " / " $3}')"
    else
      printf "| | |\n"
    fi
  done
done
echo
echo "machine: $(nproc) cores, Linux $(uname -r); layout $layout; runs $runs (medians; failures: the worst run)"
