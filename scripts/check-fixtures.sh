#!/usr/bin/env bash
# Checks that the test fixtures copied from the reference recordings are
# byte for byte the recordings (the tests may not read shared/ themselves).
#
#   scripts/check-fixtures.sh [REFERENCE]     (default ../shared/reference/vanilla)
#
# scripted/<scenario>/{cmds,runlogs,stdout}.txt and golden/<scenario>[@snapshot]/
# {iptables,ip6tables,ipset,ebtables}.txt; every scenario of the reference
# must be there. Fixtures recorded by this project (scenarios/) are not in
# the reference and are not checked here.
set -euo pipefail
cd "$(dirname "$0")/.."
reference=${1:-../shared/reference/vanilla}
[ -d "$reference" ] || { echo "no reference recordings at $reference" >&2; exit 2; }
scripted=Tests/SecurityGroupsCLITests/Fixtures/scripted
golden=Tests/SecurityGroupsCoreTests/Fixtures/golden
differ=0 checked=0
check() {
  checked=$((checked + 1))
  cmp -s "$1" "$2" || { echo "differs: $2 (from $1)"; differ=$((differ + 1)); }
}
for dir in "$reference"/*/; do
  scenario=$(basename "$dir")
  for file in cmds runlogs stdout; do check "$dir/$file.txt" "$scripted/$scenario/$file.txt"; done
  for file in iptables ip6tables ipset ebtables; do check "$dir/$file.txt" "$golden/$scenario/$file.txt"; done
  for snapshot in "$dir"snapshots/*/; do
    [ -d "$snapshot" ] || continue
    for file in iptables ip6tables ipset ebtables; do
      check "$snapshot$file.txt" "$golden/$scenario@$(basename "$snapshot")/$file.txt"
    done
  done
done
echo "$checked files checked, $differ differ"
[ "$differ" -eq 0 ]
