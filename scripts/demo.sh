#!/usr/bin/env bash
# The sandbox demo. For now: builds the binary and prints the full ruleset of
# the example host in both layouts (nothing is applied to the kernel yet).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
swift build -c release --product security-groups
for layout in classic notrack; do
  .build/release/security-groups plan --host examples/host.json --layout "$layout"
done
