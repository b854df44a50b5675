#!/usr/bin/env bash
# Runs the whole test suite. As root, the kernel tests run inside network
# namespaces they create and delete; nothing touches the root namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
# A short run of every libFuzzer target over its corpus (fuzz/README.md).
fuzz/run.sh --time 10
swift build --build-tests
swift test --skip-build --disable-xctest --skip SecurityGroupsDataPlaneTests
# Real packets, alone and one test at a time: on 2 cores, suites running
# beside them would slow the probes down.
swift test --skip-build --disable-xctest --filter SecurityGroupsDataPlaneTests --no-parallel
