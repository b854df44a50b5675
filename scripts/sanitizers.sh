#!/usr/bin/env bash
# Builds everything with AddressSanitizer (Swift and the C shims) and
# UndefinedBehaviorSanitizer (the C shims: Swift has none), then runs the
# suites that drive the shims and their callers: kernel entries and libiptc
# commits, libipset, libvirt's test driver, the agent commands through the
# binary. Any report fails the run (UBSan does not recover; LeakSanitizer
# runs at every process exit). As root, in network namespaces, like
# scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
build=(--build-path .build-sanitizers --sanitize address
       -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined
       -Xswiftc -Xclang-linker -Xswiftc -fsanitize=undefined)
swift build --build-tests "${build[@]}"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan-suppressions.txt:print_suppressions=0"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
swift test --skip-build --build-path .build-sanitizers --disable-xctest \
  --filter 'SecurityGroupsKernelTests|SecurityGroupsAgentTests|ParityTests|ApplyCommandTests|MixedStateTests|LongNameTests|HostWorldTests|AgentFormTests|AgentBadInputTests' \
  2>&1 | tee "$log" | grep -E '✘|Test run|ERROR: (Address|Leak)Sanitizer|runtime error' || status=$?
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' "$log"; then
  echo "sanitizer reports above" >&2
  exit 1
fi
grep -q '✔ Test run with' "$log" || { echo "tests failed" >&2; exit 1; }
