#!/usr/bin/env bash
# N distinct UDP flows (one 5-tuple each) from outside at an open VM and at
# a tracked VM, in a sandbox host of network namespaces, in both layouts:
# answered flows and the host's conntrack entries for each VM. Prints a
# Markdown table per N.
#
#   benchmarks/flood/run.sh                 # FLOWS="10000 100000"
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/install-deps.sh >/dev/null
swift build -c release --product security-groups >/dev/null
for flows in ${FLOWS:-10000 100000}; do
  .build/release/security-groups demo --flood "$flows"
  echo
done
