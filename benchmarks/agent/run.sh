#!/usr/bin/env bash
# One VM start (default_network_rules --isFirstNic + add_network_rules, a
# dual-stack VM with four ingress rules) on hosts already holding N such
# VMs, each sample in a fresh network namespace. Prints a Markdown table.
#
#   benchmarks/agent/run.sh                                  # SIZES="0 100 1000 5000" RUNS=3 LAYOUT=classic
#   SG_REFERENCE_SCRIPT=/tmp/ref/security_group.py benchmarks/agent/run.sh
#   BEFORE=/path/to/older/security-groups LAYOUT=notrack benchmarks/agent/run.sh   # what a change costs
#
# The host's N VMs are loaded with `security-groups apply` (the same kernel
# state the script would leave in the classic layout), so the script is
# timed on the same tables without hours of setup. Floor: a bare libiptc
# init + commit of the IPv4 and IPv6 filter tables, once per command, one
# after another in one process (as the issue defines it); and the same with
# the two families side by side on two threads, as security-groups does.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/install-deps.sh >/dev/null
# Built as README's install step builds it.
swift build -c release --product security-groups --static-swift-stdlib --scratch-path .build-static >/dev/null
binary=$PWD/.build-static/release/security-groups
sizes=${SIZES:-0 100 1000 5000}
runs=${RUNS:-3}
layout=${LAYOUT:-classic}
script=${SG_REFERENCE_SCRIPT:-}
before=${BEFORE:+$(realpath "$BEFORE")}
source benchmarks/common.sh
workspace sgagent
gcc -O2 -o "$work/table-floor" benchmarks/apply/table-floor.c -lip4tc -lip6tc -lpthread

[ -n "$script" ] && prepare_script "$script"

# Unlike common.sh's: a failing run (the script swallows its own) still counts.
seconds() { local start=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; echo "$(date +%s.%N) - $start" | bc; }
vm=99999
args="--vmname i-2-$vm-VM --vmid $vm --vmip 10.9.0.1 --vmip6 2001:db8:9::1 --vmmac 02:00:00:09:00:01 --vif vnet$vm --brname cloudbr0 --nicsecips 0;"
rules='I:tcp;22;22;0.0.0.0/0,::/0,NEXT;I:tcp;80;443;0.0.0.0/0,::/0,NEXT;I:icmp;-1;-1;0.0.0.0/0,NEXT;I:udp;53;53;10.0.0.0/8,2001:db8::/32,NEXT;'

world() {
  ip netns delete "$namespace" 2>/dev/null || true
  ip netns add "$namespace"
  ip -n "$namespace" link add cloudbr0 type bridge; ip -n "$namespace" link set cloudbr0 up
  ip -n "$namespace" link add eth0 type veth peer name uplink0; ip -n "$namespace" link set eth0 master cloudbr0 up
  ip -n "$namespace" link add "vnet$vm" type veth peer name "pvnet$vm"; ip -n "$namespace" link set "vnet$vm" master cloudbr0 up
  [ "$1" -gt 0 ] && in_ns "$binary" apply --host "$work/host-$1.json" --layout "$layout" >/dev/null
  rm -rf "$work/state" "$work/run" "$work/script-run/logs"/*
  printf 'layout = %s\nnetfilter = %s\nlibvirt_uri = test://%s/domains.xml\nrun_dir = %s/run\nstate_dir = %s/state\nlock_file = %s/sg.lock\nlog_file = %s/sg.log\n' \
    "$layout" "$netfilter" "$work" "$work" "$work" "$work" "$work" > "$work/sg.conf"
}

cat > "$work/domains.xml" <<XML
<node><domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>i-2-$vm-VM</name>
<uuid>6f1d3c52-4a59-4d4f-9d1c-000000099999</uuid><memory unit='KiB'>262144</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os><devices><interface type='bridge'><mac address='02:00:00:09:00:01'/>
<source bridge='cloudbr0'/><target dev='vnet$vm'/></interface></devices><test:runstate>1</test:runstate></domain></node>
XML

# The VM start with `binary`: its default rules, then its rules.
start() {
  SECURITY_GROUPS_CONFIG=$work/sg.conf in_ns "$1" default_network_rules $args --isFirstNic
  SECURITY_GROUPS_CONFIG=$work/sg.conf in_ns "$1" add_network_rules $args --sig 0123456789abcdef --seq 1 --rules "$rules"
}

echo "| VMs on the host | ours (s) | floor (s) | ours / floor | floor, side by side (s) | ours / that floor | script (s) | script / ours | script / floor |${before:+ before (s) | ours / before |}"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |${before:+ --- | --- |}"
for size in $sizes; do
  [ "$size" -gt 0 ] && python3 benchmarks/apply/make-host.py "$size" --bridges 1 > "$work/host-$size.json"
  : > "$work/ours"; : > "$work/floor"; : > "$work/floor-p"; : > "$work/script"; : > "$work/before"
  for run in $(seq "$runs"); do
    world "$size"
    seconds start "$binary" >> "$work/ours"
    if [ -n "$before" ]; then
      world "$size"
      seconds start "$before" >> "$work/before"
    fi
    seconds in_ns "$work/table-floor" 4:filter 6:filter 4:filter 6:filter >> "$work/floor"
    seconds in_ns "$work/table-floor" -p 4:filter 6:filter 4:filter 6:filter >> "$work/floor-p"
    if [ -n "$script" ]; then
      world "$size"
      theirs() {
        script_cmd default_network_rules $args --isFirstNic
        script_cmd add_network_rules $args --sig 0123456789abcdef --seq 1 --rules "$rules"
      }
      seconds theirs >> "$work/script"
    fi
  done
  ours=$(median < "$work/ours"); floor=$(median < "$work/floor"); floor_p=$(median < "$work/floor-p")
  printf "| %s | %.3f | %.3f | %.2f× | %.3f | %.2f× " "$size" "$ours" "$floor" "$(echo "$ours / $floor" | bc -l)" \
    "$floor_p" "$(echo "$ours / $floor_p" | bc -l)"
  if [ -n "$script" ]; then
    theirs=$(median < "$work/script")
    printf "| %.2f | %.1f× | %.0f× |" "$theirs" "$(echo "$theirs / $ours" | bc -l)" "$(echo "$theirs / $floor" | bc -l)"
  else
    printf "| (SG_REFERENCE_SCRIPT unset) | | |"
  fi
  if [ -n "$before" ]; then
    earlier=$(median < "$work/before")
    printf " %.3f | %.2f× |" "$earlier" "$(echo "$ours / $earlier" | bc -l)"
  fi
  echo
done
