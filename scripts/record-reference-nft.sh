#!/usr/bin/env bash
# Records security_group.py on an nf_tables host: the reference harness
# (../shared/reference/harness) with its `iptables`, `ip6tables` and their
# `-save` pointing at the -nft variants, every scenario, into OUT (default
# /tmp/nft-reference). Each scenario also gets `nft.txt` (nft list ruleset)
# and `netlink.txt` (nft --debug=netlink: the expressions iptables-nft
# wrote). Then compares each dump with the legacy reference. As root; the
# script itself at /tmp/ref/security_group.py (or PYB_REF), as the
# harness's README says. docs/nftables-notes.md reports what it found.
set -euo pipefail
cd "$(dirname "$0")/.."
harness=${HARNESS:-$PWD/../shared/reference/harness}
out=${OUT:-/tmp/nft-reference}
command -v nft >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nftables >/dev/null; }
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
cp -r "$harness/." "$copy/"
sed -i -E 's#/usr/sbin/(ip6?tables)-legacy(-save)? #/usr/sbin/\1-nft\2 #; /iptables-legacy -t \$t -S/d' "$copy/pyb.sh"
sed -i -E "s#(for t in filter nat raw; do ip6?tables)-legacy-save#\1-nft-save#" "$copy/pyb.sh"
sed -i -E 's#^(    pyb_hx ebtables-nft-save .*)$#\1\n    pyb_hx nft list ruleset > "$d/nft.txt"\n    pyb_hx nft --debug=netlink list ruleset > "$d/netlink.txt" 2>\&1#' "$copy/pyb.sh"
grep -q 'ip6tables-nft-save' "$copy/pyb.sh" && grep -q 'netlink.txt' "$copy/pyb.sh" || { echo "the harness changed: patch it by hand" >&2; exit 1; }
export PYB_REF=${PYB_REF:-/tmp/ref/security_group.py}
"$copy/run_scenario.sh" -o "$out" $(ls "$copy/scenarios" | sed 's/\.sh$//') | grep -v '^#'
for dir in "$out"/*/; do
  name=$(basename "$dir")
  for file in iptables ip6tables ipset ebtables runlogs; do
    cmp -s "$harness/../vanilla/$name/$file.txt" "$dir/$file.txt" && echo "$name $file: as on legacy" || echo "$name $file: DIFFERS from legacy"
  done
done
