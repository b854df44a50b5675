#!/usr/bin/env bash
# apply next to the kernel's floor, measured in the same run, each sample in
# a fresh network namespace. Prints a Markdown table.
#
#   benchmarks/apply/run.sh              # SIZES="1000 5000" RUNS=3 LAYOUT=notrack
#
# Floors:
#   restore  = ipset restore + iptables-legacy-restore + ip6tables-legacy-restore
#              + ebtables-nft-restore of the same final state (plan's text)
#   commit   = bare libiptc init + commit of each table apply committed
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/install-deps.sh >/dev/null
swift build -c release --product security-groups >/dev/null
binary=$PWD/.build/release/security-groups
sizes=${SIZES:-1000 5000}
runs=${RUNS:-3}
layout=${LAYOUT:-notrack}
source benchmarks/common.sh
workspace sgbench
gcc -O2 -o "$work/table-floor" benchmarks/apply/table-floor.c -lip4tc -lip6tc -lpthread

fresh() { ip netns delete "$namespace" 2>/dev/null || true; ip netns add "$namespace"; }

echo "| case | VMs | apply (s) | restore floor (s) | ratio | commit floor (s) | ratio |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for size in $sizes; do
  host=$work/host-$size.json
  python3 benchmarks/apply/make-host.py "$size" > "$host"
  python3 benchmarks/apply/make-host.py "$size" --change $((size / 2)) > "$work/change-$size.json"
  "$binary" plan --host "$host" --layout "$layout" > "$work/plan.txt"
  restore=$(restore_floor "$work/plan.txt" "$work")
  floor_tables="$work/table-floor 4:filter 4:raw 6:filter 6:raw"
  : > "$work/full"; : > "$work/restore"; : > "$work/commit"; : > "$work/change"; : > "$work/change-floor"
  for run in $(seq "$runs"); do
    fresh; seconds in_ns "$binary" apply --host "$host" --layout "$layout" >> "$work/full"
    seconds in_ns $floor_tables >> "$work/commit"
    seconds in_ns "$binary" apply --host "$work/change-$size.json" --layout "$layout" --vm "i-2-$((size / 2 + 10))-VM" >> "$work/change"
    seconds in_ns "$work/table-floor" 4:filter 6:filter >> "$work/change-floor"
    fresh; seconds in_ns bash -c "$restore" >> "$work/restore"
  done
  full=$(median < "$work/full"); floor=$(median < "$work/restore"); commit=$(median < "$work/commit")
  change=$(median < "$work/change"); change_floor=$(median < "$work/change-floor")
  printf "| full apply, empty namespace | %s | %.3f | %.3f | %.2f× | %.3f | %.2f× |\n" "$size" "$full" "$floor" \
    "$(echo "$full / $floor" | bc -l)" "$commit" "$(echo "$full / $commit" | bc -l)"
  printf "| one VM's rules change (--vm) | %s | %.3f | | | %.3f | %.2f× |\n" "$size" "$change" "$change_floor" \
    "$(echo "$change / $change_floor" | bc -l)"
done
