#!/usr/bin/env bash
# One VM start (default_network_rules --isFirstNic + add_network_rules, notrack) with two
# security-groups binaries on the same host state, each sample in a fresh namespace:
# what a change costs. The host is loaded with the AFTER binary's apply.
#
#   benchmarks/agent/compare-binaries.sh BEFORE AFTER     # SIZES="100 5000" RUNS=5
set -euo pipefail
base=$(realpath "${1:?usage: compare-binaries.sh BEFORE-BINARY AFTER-BINARY}")
cur=$(realpath "${2:?usage: compare-binaries.sh BEFORE-BINARY AFTER-BINARY}")
cd "$(dirname "$0")/../.."
sizes=${SIZES:-100 5000}; runs=${RUNS:-5}
work=$(mktemp -d); namespace=sgcmp-$$
trap 'ip netns delete $namespace 2>/dev/null || true; rm -rf $work' EXIT
export XTABLES_LOCKFILE=$work/xtables.lock
in_ns() { ip netns exec "$namespace" "$@"; }
vm=99999
args="--vmname i-2-$vm-VM --vmid $vm --vmip 10.9.0.1 --vmip6 2001:db8:9::1 --vmmac 02:00:00:09:00:01 --vif vnet$vm --brname cloudbr0 --nicsecips 0;"
rules='I:tcp;22;22;0.0.0.0/0,::/0,NEXT;I:tcp;80;443;0.0.0.0/0,::/0,NEXT;I:icmp;-1;-1;0.0.0.0/0,NEXT;I:udp;53;53;10.0.0.0/8,2001:db8::/32,NEXT;'
cat > "$work/domains.xml" <<XML
<node><domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>i-2-$vm-VM</name>
<uuid>6f1d3c52-4a59-4d4f-9d1c-000000099999</uuid><memory unit='KiB'>262144</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os><devices><interface type='bridge'><mac address='02:00:00:09:00:01'/>
<source bridge='cloudbr0'/><target dev='vnet$vm'/></interface></devices><test:runstate>1</test:runstate></domain></node>
XML
world() {
  ip netns delete "$namespace" 2>/dev/null || true
  ip netns add "$namespace"
  ip -n "$namespace" link add cloudbr0 type bridge; ip -n "$namespace" link set cloudbr0 up
  ip -n "$namespace" link add eth0 type veth peer name uplink0; ip -n "$namespace" link set eth0 master cloudbr0 up
  ip -n "$namespace" link add "vnet$vm" type veth peer name "pvnet$vm"; ip -n "$namespace" link set "vnet$vm" master cloudbr0 up
  in_ns "$cur" apply --host "$work/host-$1.json" --layout notrack >/dev/null
  rm -rf "$work/state" "$work/run"
  printf 'layout = notrack\nlibvirt_uri = test://%s/domains.xml\nrun_dir = %s/run\nstate_dir = %s/state\nlock_file = %s/sg.lock\nlog_file = %s/sg.log\n' \
    "$work" "$work" "$work" "$work" "$work" > "$work/sg.conf"
}
start() {
  local binary=$1 t0=$(date +%s.%N)
  SECURITY_GROUPS_CONFIG=$work/sg.conf in_ns "$binary" default_network_rules $args --isFirstNic
  SECURITY_GROUPS_CONFIG=$work/sg.conf in_ns "$binary" add_network_rules $args --sig 0123456789abcdef --seq 1 --rules "$rules"
  echo "$(date +%s.%N) - $t0" | bc
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| VMs | before (s) | after (s) | after / before |"
echo "| --- | --- | --- | --- |"
for size in $sizes; do
  python3 benchmarks/apply/make-host.py "$size" --bridges 1 > "$work/host-$size.json"
  : > $work/b; : > $work/c
  for run in $(seq $runs); do
    world $size; start $base >> $work/b
    world $size; start $cur >> $work/c
  done
  b=$(median < $work/b); c=$(median < $work/c)
  printf "| %s | %.3f | %.3f | %.2f |\n" $size $b $c $(echo "$c / $b" | bc -l)
done
