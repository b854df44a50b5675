#!/usr/bin/env bash
# The sandbox demo: builds the binary, then `security-groups demo` builds a
# KVM host out of network namespaces with three VMs, programs them through
# the agent commands in both layouts, probes them with real packets and
# removes everything it made (also on failure or Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
swift build -c release --product security-groups
.build/release/security-groups demo "$@"
