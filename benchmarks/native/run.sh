#!/usr/bin/env bash
# The native layout's whole-host apply next to its floor, nft -f of the same
# tables, each sample in a fresh network namespace. Prints a Markdown table.
#
#   benchmarks/native/run.sh     # SIZES="100 1000 5000" RUNS=3
#
# Cases:
#   load     = apply --layout native into an empty namespace, against
#              nft -f of plan --layout native (the same three tables, one transaction)
#   replace  = the same apply again over the loaded tables (our tables are
#              deleted and made again in one transaction), against nft -f
#              of the same script (delete and load)
# Peak RSS of the apply: /usr/bin/time's maximum resident set size.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/install-deps.sh >/dev/null
swift build -c release --product security-groups >/dev/null
binary=$PWD/.build/release/security-groups
sizes=${SIZES:-100 1000 5000}
runs=${RUNS:-3}
NETFILTER=${NETFILTER:-nftables}
source benchmarks/common.sh
workspace sgnative

fresh() { ip netns delete "$namespace" 2>/dev/null || true; ip netns add "$namespace"; }
# Peak RSS in MB of a command in the namespace.
peak_mb() { /usr/bin/time -f "%M" -o "$work/rss" ip netns exec "$namespace" "$@" >/dev/null; echo "$(( $(cat "$work/rss") / 1024 ))"; }

echo "| case | VMs | apply (s) | nft -f floor (s) | ratio | apply peak RSS (MB) | nft -f peak RSS (MB) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for size in $sizes; do
  host=$work/host-$size.json
  python3 benchmarks/apply/make-host.py "$size" > "$host"
  "$binary" plan --host "$host" --layout native | sed 1d > "$work/tables.nft"
  { for family in ip ip6 bridge; do echo "table $family cloudstack_sg"; echo "delete table $family cloudstack_sg"; done
    cat "$work/tables.nft"; } > "$work/replace.nft"
  : > "$work/load"; : > "$work/load-floor"; : > "$work/replace"; : > "$work/replace-floor"
  for run in $(seq "$runs"); do
    fresh; seconds in_ns "$binary" apply --host "$host" --layout native >> "$work/load"
    seconds in_ns "$binary" apply --host "$host" --layout native >> "$work/replace"
    fresh; seconds in_ns nft -f "$work/tables.nft" >> "$work/load-floor"
    seconds in_ns nft -f "$work/replace.nft" >> "$work/replace-floor"
  done
  fresh; rss=$(peak_mb "$binary" apply --host "$host" --layout native)
  fresh; floor_rss=$(peak_mb nft -f "$work/tables.nft")
  for case in load replace; do
    ours=$(median < "$work/$case"); floor=$(median < "$work/$case-floor")
    printf "| %s | %s | %.3f | %.3f | %.2f× | %s | %s |\n" "$case" "$size" "$ours" "$floor" "$(echo "$ours / $floor" | bc -l)" \
      "$([ "$case" = load ] && echo "$rss" || true)" "$([ "$case" = load ] && echo "$floor_rss" || true)"
  done
done
