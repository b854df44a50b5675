#!/usr/bin/env bash
# Builds the libFuzzer targets and runs each on its corpus.
#
#   fuzz/run.sh [--time SECONDS | --runs N] [TARGET...]
#
# TARGETs: rules, agent-values, kernel-dumps (default: all). Every module is
# built with -sanitize=fuzzer,address (FUZZ_SANITIZERS=fuzzer for long runs:
# twice the speed, and the core module is Swift, bounds-checked without
# ASan): the core module as a static library,
# then one executable per target (libFuzzer's main calls the target's
# LLVMFuzzerTestOneInput). New inputs go to a scratch corpus, never to
# fuzz/corpus; a crash leaves its input in fuzz/.build/*/crashes and fails.
# FUZZ_OPTIONS adds libFuzzer options (e.g. -jobs=2 -workers=2).
set -euo pipefail
cd "$(dirname "$0")"
limit=(-max_total_time=10)
case "${1:-}" in
  --time) limit=(-max_total_time="$2"); shift 2 ;;
  --runs) limit=(-runs="$2"); shift 2 ;;
esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(rules agent-values kernel-dumps)

sanitizers=${FUZZ_SANITIZERS:-fuzzer,address}
build=.build/${sanitizers//,/-}
mkdir -p "$build/crashes"
flags=(-O -parse-as-library -sanitize="$sanitizers")
if [ ! -f "$build/libSecurityGroupsCore.a" ] || [ -n "$(find ../Sources/SecurityGroupsCore -newer "$build/libSecurityGroupsCore.a" -name '*.swift')" ]; then
  echo "building the core module for fuzzing"
  swiftc -emit-library -static -emit-module -module-name SecurityGroupsCore "${flags[@]}" \
    $(find ../Sources/SecurityGroupsCore -name '*.swift' | sort) -o "$build/libSecurityGroupsCore.a"
fi
for target in "${targets[@]}"; do
  source=$(ls "Sources/fuzz-$target"/*.swift)
  # ld.gold warns about ASan's local symbols on every link: noise.
  swiftc "${flags[@]}" -I "$build" -L "$build" -lSecurityGroupsCore $source -o "$build/fuzz-$target" 2>&1 \
    | { grep -v "Cannot export local symbol" || true; }
  scratch=$(mktemp -d)
  echo "fuzz-$target: ${limit[*]}"
  status=0
  "$build/fuzz-$target" "${limit[@]}" ${FUZZ_OPTIONS:-} -print_final_stats=1 -artifact_prefix="$build/crashes/$target-" \
    "$scratch" "corpus/$target" > "$build/fuzz-$target.log" 2>&1 || status=$?
  rm -rf "$scratch"
  grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY)|Fatal error|ERROR:" "$build/fuzz-$target.log" || true
  [ "$status" -eq 0 ] || { echo "fuzz-$target failed (exit $status): fuzz/$build/fuzz-$target.log, input in fuzz/$build/crashes" >&2; exit 1; }
done
