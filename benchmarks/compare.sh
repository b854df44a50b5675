#!/usr/bin/env bash
# The operator's table: the same workloads three ways in one run, in network
# namespaces — security-groups, the script (SG_REFERENCE_SCRIPT, skipped with
# a message when unset) and the kernel's floor — with medians and ratios, and
# a chart of one VM start against host size (BENCHMARKS.png).
#
#   SG_REFERENCE_SCRIPT=/tmp/ref/security_group.py benchmarks/compare.sh
#       SIZES="0 100 1000 5000" RUNS=3 SCRIPT_RESYNC_MAX=250 OUT=benchmarks/results
#
# Workloads, on a host already holding N dual-stack VMs (classic layout, the
# state the script itself leaves; loaded with `apply`):
#   VM start      default_network_rules --isFirstNic + add_network_rules (4 rules)
#   rules change  add_network_rules with other rules
#   destroy       destroy_network_rules_for_vm
#   resync        all N VMs into an empty kernel: ours `resync`; the script
#                 programming them one by one (only up to SCRIPT_RESYNC_MAX)
# Floors: VM start, change, destroy = bare libiptc init + commit of the IPv4
# and IPv6 filter tables once per command (benchmarks/apply/table-floor.c);
# resync = ipset + iptables-legacy + ip6tables-legacy + ebtables-nft restore
# of the same final state.
#
# LAYOUT=native (with NETFILTER=nftables): ours in the native layout (our
# own nf_tables tables, `layout = native`), the host loaded with `apply
# --layout native`; floors: our transactions' kernel work as below, resync =
# nft -f of the same tables (`plan --layout native`). The script columns
# stay the script on iptables-nft, on hosts in its own (classic) layout.
#
# NETFILTER=nftables: the iptables tables in nf_tables, ours through the
# nf_tables backend, the script on iptables-nft (Debian 12's `iptables`).
# Floors there: VM start, change, destroy = the kernel's work on the same
# change, our nf_tables transactions of the commands (sendmsg of the batch
# to its last acknowledgement, as our log times it: the kernel checks and
# commits a batch in the sender's call); resync = ipset + iptables-nft +
# ip6tables-nft + ebtables-nft restore (each iptables restore one nf_tables
# transaction).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh >/dev/null
command -v gnuplot >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null
command -v strace >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null
swift build -c release --product security-groups --static-swift-stdlib --scratch-path .build-static >/dev/null
binary=$PWD/.build-static/release/security-groups
sizes=${SIZES:-0 100 1000 5000}
runs=${RUNS:-3}
script=${SG_REFERENCE_SCRIPT:-}
script_resync_max=${SCRIPT_RESYNC_MAX:-250}
layout=${LAYOUT:-classic}
out=${OUT:-benchmarks/results}
mkdir -p "$out"
source benchmarks/common.sh
workspace sgcompare
gcc -O2 -o "$work/table-floor" benchmarks/apply/table-floor.c -lip4tc -lip6tc -lpthread
# A failing command still counts its time (the script swallows its own failures).
timed() { local start=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; echo "$(date +%s.%N) - $start" | bc; }

if [ -n "$script" ]; then
  prepare_script "$script"
else
  echo "SG_REFERENCE_SCRIPT is unset: the script's columns are skipped." >&2
fi
ours_cmd() { SECURITY_GROUPS_CONFIG=$work/sg.conf in_ns "$binary" "$@"; }
theirs_cmd() { script_cmd "$@"; }

vm=99999
vmargs="--vmname i-2-$vm-VM --vmid $vm --vmip 10.9.0.1 --vmip6 2001:db8:9::1 --vmmac 02:00:00:09:00:01 --vif tap$vm --brname cloudbr0 --nicsecips 0;"
rules='I:tcp;22;22;0.0.0.0/0,::/0,NEXT;I:tcp;80;443;0.0.0.0/0,::/0,NEXT;I:icmp;-1;-1;0.0.0.0/0,NEXT;I:udp;53;53;10.0.0.0/8,2001:db8::/32,NEXT;'
changed='I:tcp;22;22;192.0.2.0/24,NEXT;I:tcp;8080;8080;0.0.0.0/0,::/0,NEXT;E:tcp;443;443;0.0.0.0/0,NEXT;'
# Seconds the kernel spent in our nf_tables transactions since sg.log was emptied.
kernel_work() { grep -o 'nf_tables transaction ([0-9]* messages) [0-9.]* ms' "$work/sg.log" | awk '{ s += $(NF - 1) } END { printf "%.6f\n", s / 1000 }'; }
start_vm() { "$1" default_network_rules $vmargs --isFirstNic; "$1" add_network_rules $vmargs --sig 0123456789abcdef --seq 1 --rules "$rules"; }
change_vm() { "$1" add_network_rules $vmargs --sig 0123456789abcdee --seq 2 --rules "$changed"; }
destroy_vm() { "$1" destroy_network_rules_for_vm --vmname "i-2-$vm-VM"; }

# A fresh namespace with the host file's bridges (uplinks eth0, eth1) and,
# for N > 0, its N VMs programmed in layout $2 (default: ours).
world() {
  local programmed=${2:-$layout}
  ip netns delete "$namespace" 2>/dev/null || true; ip netns add "$namespace"
  for index in 0 1; do
    ip -n "$namespace" link add "cloudbr$index" type bridge; ip -n "$namespace" link set "cloudbr$index" up
    ip -n "$namespace" link add "eth$index" type veth peer name "uplink$index"; ip -n "$namespace" link set "eth$index" master "cloudbr$index" up
  done
  [ "$1" -gt 0 ] && in_ns "$binary" apply --host "$work/host-$1.json" --layout "$programmed" >/dev/null
  rm -rf "$work/run" "$work/script-run/logs"/* "$work/state-run" "$work/sg.log"
  printf 'layout = %s\nnetfilter = %s\nlibvirt_uri = test://%s/domains.xml\nrun_dir = %s/run\nstate_dir = %s/state-run\nlock_file = %s/sg.lock\nlog_file = %s/sg.log\n' \
    "$layout" "$netfilter" "$work" "$work" "$work" "$work" "$work" > "$work/sg.conf"
}
# VM 99999, running, in libvirt's test driver: the per-VM workloads ask
# libvirt about it only. (The test driver parses its whole file on every
# connection, which a real libvirtd does not: listing the host's N VMs there
# would charge both sides for the test driver, not for their work.)
domains() {
  cat > "$work/domains.xml" <<XML
<node><domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>i-2-$vm-VM</name>
<uuid>6f1d3c52-4a59-4d4f-9d1c-000000099999</uuid><memory unit='KiB'>262144</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>
<devices><interface type='bridge'><mac address='02:00:00:09:00:01'/><source bridge='cloudbr0'/><target dev='tap$vm'/></interface></devices>
<test:runstate>1</test:runstate></domain></node>
XML
}
# Processes one VM start spawns (successful execve calls, strace -f), beyond
# starting its two commands: $1 runs a command, $2 execs it takes to start one
# (ours: ip, the binary; the script: ip, env, python3).
spawned() {
  strace -f -qq -e trace=execve -o "$work/strace" bash -c \
    "$(declare -f in_ns script_cmd ours_cmd theirs_cmd start_vm); $(declare -p binary work namespace vmargs rules vm); start_vm $1" >/dev/null 2>&1 || true
  echo $(( $(grep -c 'execve(.*= 0$' "$work/strace") - 1 - 2 * $2 ))
}
cell() { [ -n "$1" ] && printf "%.3f" "$1" || printf "%s" "${2:-not run}"; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && printf "%.1f×" "$(echo "$1 / $2" | bc -l)" || printf ""; }

suffix=$([ "$netfilter" = nftables ] && echo "-nftables" || true)$([ "$layout" != classic ] && echo "-$layout" || true)
table=$out/compare$suffix.md
data=$out/vm-start$suffix.dat
echo "| workload | VMs on the host | ours (s) | script (s) | floor (s) | script / ours | ours / floor |" > "$table"
echo "| --- | --- | --- | --- | --- | --- | --- |" >> "$table"
echo "# VMs ours script floor" > "$data"
for size in $sizes; do
  python3 benchmarks/apply/make-host.py "$size" > "$work/host-$size.json"
  sed -i 's/"vnet/"tap/g' "$work/host-$size.json"
  domains
  for workload in start change destroy; do : > "$work/ours-$workload"; : > "$work/theirs-$workload"; : > "$work/floor-$workload"; done
  for run in $(seq "$runs"); do
    world "$size"
    for workload in start change destroy; do
      rm -f "$work/sg.log"
      timed "${workload}_vm" ours_cmd >> "$work/ours-$workload"
      [ "$netfilter" = nftables ] && kernel_work >> "$work/floor-$workload"
    done
    if [ "$netfilter" = legacy ]; then
      timed in_ns "$work/table-floor" 4:filter 6:filter 4:filter 6:filter >> "$work/floor-start"
      timed in_ns "$work/table-floor" 4:filter 6:filter >> "$work/floor-change"
      timed in_ns "$work/table-floor" 4:filter 6:filter >> "$work/floor-destroy"
    fi
    if [ -n "$script" ]; then
      world "$size" classic
      timed start_vm theirs_cmd >> "$work/theirs-start"
      timed change_vm theirs_cmd >> "$work/theirs-change"
      timed destroy_vm theirs_cmd >> "$work/theirs-destroy"
    fi
  done
  for workload in start change destroy; do
    ours=$(median < "$work/ours-$workload"); floor=$(median < "$work/floor-$workload")
    theirs=$([ -s "$work/theirs-$workload" ] && median < "$work/theirs-$workload" || true)
    name=$(case $workload in start) echo "VM start";; change) echo "rules change";; destroy) echo "destroy";; esac)"$([ "$netfilter" = nftables ] && echo " (nf_tables$([ "$layout" != classic ] && echo ", $layout"))")"
    echo "| $name | $size | $(cell "$ours") | $(cell "$theirs" "(no SG_REFERENCE_SCRIPT)") | $(cell "$floor") | $(ratio "$theirs" "$ours") | $(ratio "$ours" "$floor") |" >> "$table"
    [ "$workload" = start ] && echo "$size $ours ${theirs:-NaN} $floor" >> "$data"
  done
  # Processes spawned by one VM start (ours, and the script's), in a fresh world.
  world "$size"; ours_spawned=$(spawned ours_cmd 2)
  theirs_spawned="not run"
  if [ -n "$script" ]; then world "$size" classic; theirs_spawned=$(spawned theirs_cmd 3); fi
  echo "| processes spawned per VM start | $size | $ours_spawned | $theirs_spawned | 0 | | |" >> "$table"
  # Resync of the N VMs into an empty kernel; the script one by one only up to SCRIPT_RESYNC_MAX.
  if [ "$size" -gt 0 ]; then
    rm -rf "$work/state"; python3 benchmarks/resync/make-state.py "$work/host-$size.json" "$work/state" "$work/domains-resync.xml" "$layout"
    printf 'layout = %s\nnetfilter = %s\nlibvirt_uri = test://%s/domains-resync.xml\nrun_dir = %s/run\nstate_dir = %s/state\nlock_file = %s/sg.lock\nlog_file = %s/sg.log\n' \
      "$layout" "$netfilter" "$work" "$work" "$work" "$work" "$work" > "$work/resync.conf"
    "$binary" plan --host "$work/host-$size.json" --layout "$layout" > "$work/plan.txt"
    if [ "$layout" = native ]; then sed 1d "$work/plan.txt" > "$work/plan.nft"; restore="nft -f $work/plan.nft"
    else restore=$(restore_floor "$work/plan.txt" "$work"); fi
    : > "$work/ours-resync"; : > "$work/floor-resync"
    for run in $(seq "$runs"); do
      world 0; rm -rf "$work/run"
      timed env SECURITY_GROUPS_CONFIG="$work/resync.conf" ip netns exec "$namespace" "$binary" resync >> "$work/ours-resync"
      world 0; timed in_ns bash -c "$restore" >> "$work/floor-resync"
    done
    ours=$(median < "$work/ours-resync"); floor=$(median < "$work/floor-resync"); theirs=""
    if [ -n "$script" ] && [ "$size" -le "$script_resync_max" ]; then
      cp "$work/domains-resync.xml" "$work/domains.xml"
      world 0
      theirs=$(script_one_by_one "$work/host-$size.json" || true)
      domains
    fi
    note=$([ -n "$script" ] && echo "not run: over SCRIPT_RESYNC_MAX=$script_resync_max (one by one)" || echo "(no SG_REFERENCE_SCRIPT)")
    echo "| resync of all VMs, empty kernel | $size | $(cell "$ours") | $(cell "$theirs" "$note") | $(cell "$floor") | $(ratio "$theirs" "$ours") | $(ratio "$ours" "$floor") |" >> "$table"
  fi
done

gnuplot <<GNUPLOT
set terminal pngcairo size 900,560 font "sans,11" noenhanced
set output "$out/vm-start$suffix.png"
set title "One VM start (default_network_rules + add_network_rules) against host size, $netfilter"
set xlabel "VMs already on the host"
set ylabel "seconds (log scale)"
set logscale y
set key top left
set grid
set xtics ($(awk 'NR > 1 { printf "%s\"%s\" %d", (NR > 2 ? ", " : ""), $1, NR - 2 }' "$data"))
plot "$data" using 0:3 with linespoints lw 2 title "security_group.py", \
     "$data" using 0:2 with linespoints lw 2 title "security-groups", \
     "$data" using 0:4 with linespoints lw 2 title "$([ "$netfilter" = nftables ] && echo "floor (kernel work of the nf_tables transactions)" || echo "floor (libiptc init + commit)")"
GNUPLOT
cat "$table"
echo
echo "chart: $out/vm-start$suffix.png; machine: $(nproc) cores, Linux $(uname -r)"
