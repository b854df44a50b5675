#!/usr/bin/env bash
# kill -9 at random points of `security-groups resync` (each run switching the
# host between the two layouts, with one VM's ebtables chain flushed so every
# backend has work), then checks in the namespace that every iptables table
# and the ebtables table is either as before the run or as a complete resync
# leaves it, that every state file still parses, and that the next resync
# converges. Prints one line per kill and a summary.
#
#   scripts/resync-torture.sh              # KILLS=60 VMS=300 NETFILTER=legacy
#
# NETFILTER=nftables keeps the iptables tables in nf_tables (as iptables-nft
# does); there all six are one transaction.
#
# Kill points are uniform over the duration of an uninterrupted layout
# switch (the shortest of three, measured first).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh >/dev/null
swift build -c release --product security-groups --static-swift-stdlib --scratch-path .build-static >/dev/null
binary=$PWD/.build-static/release/security-groups
kills=${KILLS:-60}; vms=${VMS:-300}; netfilter=${NETFILTER:-legacy}
variant=legacy; [ "$netfilter" = nftables ] && variant=nft
work=$(mktemp -d)
namespace=sgtorture-$$
cleanup() { ip netns delete "$namespace" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM
export XTABLES_LOCKFILE=$work/xtables.lock

python3 benchmarks/apply/make-host.py "$vms" > "$work/host.json"
python3 benchmarks/resync/make-state.py "$work/host.json" "$work/state" "$work/domains.xml"
configure() {
  printf 'layout = %s\nnetfilter = %s\nlibvirt_uri = test://%s/domains.xml\nrun_dir = %s/run\nstate_dir = %s/state\nlock_file = %s/sg.lock\nlog_file = %s/sg.log\n' \
    "$1" "$netfilter" "$work" "$work" "$work" "$work" "$work" > "$work/sg.conf"
}
in_ns() { ip netns exec "$namespace" "$@"; }
fresh() {
  ip netns delete "$namespace" 2>/dev/null || true; ip netns add "$namespace"
  for bridge in cloudbr0 cloudbr1; do ip -n "$namespace" link add "$bridge" type bridge; done
}
resync() { SECURITY_GROUPS_CONFIG=$work/sg.conf in_ns "$binary" resync >/dev/null; }
# One file per table, comments and counters dropped.
dump() {
  mkdir -p "$1"
  for family in 4 6; do
    save=iptables-$variant-save; [ "$family" = 6 ] && save=ip6tables-$variant-save
    for table in filter nat raw; do
      in_ns "$save" -t "$table" | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]$/[0:0]/' > "$1/$family-$table"
    done
  done
  in_ns ebtables-nft-save | grep -v '^#' > "$1/ebtables"
  in_ns ipset save | sed 's/ initval [^ ]*//' | sort > "$1/ipset"
}
tables="4-filter 4-nat 4-raw 6-filter 6-nat 6-raw ebtables"

for layout in classic notrack; do
  fresh; configure "$layout"; resync; dump "$work/ref-$layout"
done
fresh; configure notrack; resync
max_delay=999999
for layout in classic notrack classic; do
  configure "$layout"; start=$(date +%s%N); resync; took=$(( ($(date +%s%N) - start) / 1000000 ))
  [ "$took" -lt "$max_delay" ] && max_delay=$took
done
echo "an uninterrupted layout switch of $vms VMs: $max_delay ms (shortest of 3); kill points 0-$max_delay ms"
target=notrack
mixed=0; unconverged=0; unreadable=0; partial_sets=0; declare -A old new same
for kill in $(seq "$kills"); do
  vm=$(( RANDOM % vms + 10 ))
  in_ns ebtables-nft -t nat -F "i-2-$vm-VM-in-src" 2>/dev/null || true
  rm -rf "$work/before" "$work/killed"; dump "$work/before"
  configure "$target"
  delay=$(( RANDOM % max_delay ))
  # Not through in_ns: a function runs in a subshell of its own, and killing
  # that subshell would leave the resync running. `ip netns exec` execs it.
  SECURITY_GROUPS_CONFIG=$work/sg.conf ip netns exec "$namespace" "$binary" resync >/dev/null 2>&1 &
  pid=$!
  sleep "$(printf '%d.%03d' $(( delay / 1000 )) $(( delay % 1000 )))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  dump "$work/killed"
  states=""
  for table in $tables; do
    if cmp -s "$work/before/$table" "$work/ref-$target/$table"; then state=same; same[$table]=$(( ${same[$table]:-0} + 1 ))
      cmp -s "$work/killed/$table" "$work/before/$table" || { state=MIXED; mixed=$(( mixed + 1 )); }
    elif cmp -s "$work/killed/$table" "$work/ref-$target/$table"; then state=new; new[$table]=$(( ${new[$table]:-0} + 1 ))
    elif cmp -s "$work/killed/$table" "$work/before/$table"; then state=old; old[$table]=$(( ${old[$table]:-0} + 1 ))
    else state=MIXED; mixed=$(( mixed + 1 )); fi
    states="$states $table=$state"
  done
  if ! cmp -s "$work/killed/ipset" "$work/ref-$target/ipset" && ! cmp -s "$work/killed/ipset" "$work/before/ipset"; then
    partial_sets=$(( partial_sets + 1 )); states="$states ipset=partial"
  fi
  unreadable=$(( unreadable + $(python3 -c '
import glob, json, sys
bad = 0
for path in glob.glob(sys.argv[1] + "/*.json"):
    try: json.load(open(path))
    except Exception: bad += 1
print(bad)' "$work/state") ))
  resync
  rm -rf "$work/after"; dump "$work/after"
  if diff -rq "$work/after" "$work/ref-$target" >/dev/null; then converged=yes; else converged=NO; unconverged=$(( unconverged + 1 )); fi
  echo "kill $kill after ${delay} ms (to $target):$states; next resync converged: $converged"
  [ "$target" = classic ] && target=notrack || target=classic
done
echo
echo "kills: $kills; tables neither old nor new: $mixed; unreadable state files: $unreadable; ipset left partial: $partial_sets; next resync did not converge: $unconverged"
for table in $tables; do echo "  $table: old ${old[$table]:-0}, new ${new[$table]:-0}, unchanged by the run ${same[$table]:-0}"; done
