#!/usr/bin/env bash
# resync of N recorded dual-stack VMs into an empty namespace, next to the
# kernel's floor measured in the same run (ipset restore + iptables-legacy-
# restore + ip6tables-legacy-restore + ebtables-nft-restore of the same final
# state), with resync's peak RSS. Each sample in a fresh namespace; medians.
#
#   benchmarks/resync/run.sh              # SIZES="1000 5000" RUNS=3 LAYOUT=notrack
#
# With SG_REFERENCE_SCRIPT=/path/to/security_group.py and SCRIPT_SIZE=250 it
# also times the script programming SCRIPT_SIZE VMs one by one
# (default_network_rules + add_network_rules each), next to one resync.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/install-deps.sh >/dev/null
swift build -c release --product security-groups --static-swift-stdlib --scratch-path .build-static >/dev/null
binary=$PWD/.build-static/release/security-groups
sizes=${SIZES:-1000 5000}
runs=${RUNS:-3}
layout=${LAYOUT:-notrack}
source benchmarks/common.sh
workspace sgresync

# The host file's two bridges, each with its uplink port (the script needs one).
fresh() {
  ip netns delete "$namespace" 2>/dev/null || true; ip netns add "$namespace"
  for index in 0 1; do
    ip -n "$namespace" link add "cloudbr$index" type bridge; ip -n "$namespace" link set "cloudbr$index" up
    ip -n "$namespace" link add "eth$index" type veth peer name "uplink$index"
    ip -n "$namespace" link set "eth$index" master "cloudbr$index" up
  done
}
configure() {
  printf 'layout = %s\nnetfilter = %s\nlibvirt_uri = test://%s/domains.xml\nrun_dir = %s/run\nstate_dir = %s/state\nlock_file = %s/sg.lock\nlog_file = %s/sg.log\n' \
    "$layout" "$netfilter" "$work" "$work" "$work" "$work" "$work" > "$work/sg.conf"
}

echo "| VMs | resync (s) | restore floor (s) | resync / floor | resync peak RSS (MB) |"
echo "| --- | --- | --- | --- | --- |"
for size in $sizes; do
  python3 benchmarks/apply/make-host.py "$size" > "$work/host.json"
  rm -rf "$work/state"; python3 benchmarks/resync/make-state.py "$work/host.json" "$work/state" "$work/domains.xml" "$layout"
  configure
  # The floor restores what resync programs: the plan of the same host, vifs renamed.
  sed 's/"vnet/"tap/g' "$work/host.json" > "$work/host-tap.json"
  "$binary" plan --host "$work/host-tap.json" --layout "$layout" > "$work/plan.txt"
  restore=$(restore_floor "$work/plan.txt" "$work")
  : > "$work/resync"; : > "$work/floor"; : > "$work/rss"
  for run in $(seq "$runs"); do
    fresh; rm -rf "$work/run"
    start=$(date +%s.%N)
    SECURITY_GROUPS_CONFIG=$work/sg.conf in_ns /usr/bin/time -f "%M" -o "$work/rss-sample" "$binary" resync > "$work/resync-out"
    echo "$(date +%s.%N) - $start" | bc >> "$work/resync"
    echo $(( $(cat "$work/rss-sample") / 1024 )) >> "$work/rss"
    fresh; seconds in_ns bash -c "$restore" >> "$work/floor"
  done
  resync=$(median < "$work/resync"); floor=$(median < "$work/floor"); rss=$(sort -n "$work/rss" | tail -1)
  printf "| %s | %.3f | %.3f | %.2f× | %s |\n" "$size" "$resync" "$floor" "$(echo "$resync / $floor" | bc -l)" "$rss"
done

script=${SG_REFERENCE_SCRIPT:-}
[ -n "$script" ] || exit 0
count=${SCRIPT_SIZE:-250}
echo
echo "| VMs | script, one by one (s) | resync (s) | script / resync |"
echo "| --- | --- | --- | --- |"
python3 benchmarks/apply/make-host.py "$count" > "$work/host.json"
rm -rf "$work/state"; python3 benchmarks/resync/make-state.py "$work/host.json" "$work/state" "$work/domains.xml" classic
layout=classic; configure
prepare_script "$script"
fresh
theirs=$(script_one_by_one "$work/host.json")
fresh; rm -rf "$work/run"
ours=$(SECURITY_GROUPS_CONFIG=$work/sg.conf seconds in_ns "$binary" resync)
printf "| %s | %.1f | %.3f | %.0f× |\n" "$count" "$theirs" "$ours" "$(echo "$theirs / $ours" | bc -l)"
