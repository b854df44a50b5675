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
# The agent's kernel suites again with the iptables tables in nf_tables (as
# iptables-nft keeps them) instead of legacy x_tables (TestNetfilter).
SG_TEST_NETFILTER=nftables swift test --skip-build --disable-xctest --filter SecurityGroupsCLITests
# The suites that must need no root (the renderer and planners, the agent's
# commands on an in-memory host), again as nobody, from a copy nobody can read.
bin=$(swift build --show-bin-path)
unprivileged=$(mktemp -d)
chmod 755 "$unprivileged"
cp -r "$bin/security-groupsPackageTests.xctest" "$bin"/*.resources "$unprivileged/"
(cd "$unprivileged" && setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/tmp ./security-groupsPackageTests.xctest \
  --testing-library swift-testing --filter 'SecurityGroupsCoreTests|SecurityGroupsAgentTests' 2>&1 | tail -n 1)
rm -rf "$unprivileged"
# Real packets, alone and one test at a time: on 2 cores, suites running
# beside them would slow the probes down.
swift test --skip-build --disable-xctest --filter SecurityGroupsDataPlaneTests --no-parallel
SG_TEST_NETFILTER=nftables swift test --skip-build --disable-xctest --filter SecurityGroupsDataPlaneTests --no-parallel
# The Debian package: built, checked by lintian, installed, upgraded, removed
# and purged in a throwaway copy of this machine.
scripts/test-package.sh
