#!/usr/bin/env bash
# tools/fuzz.sh [RUNS] [TARGET...]: build the libFuzzer targets (clang, ASan + UBSan; preset
# `fuzz`) and run each for RUNS executions (default 1000000), starting from the committed seed
# corpus (tests/fuzz/corpus/<name>/). New interesting inputs go to tests/fuzz/corpus-work/<name>/
# (ignored by git); crashes are written to build/fuzz/crashes/ and stop the run. Results:
# docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${1:-1000000}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.cpp; do targets+=("$(basename "$f" .cpp | sed 's/^fuzz_//')"); done
fi
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)" --target "${targets[@]/#/fuzz_}"
mkdir -p build/fuzz/crashes
for name in "${targets[@]}"; do
  work=tests/fuzz/corpus-work/$name
  mkdir -p "$work"
  echo "==> fuzz_$name: $RUNS runs"
  start=$SECONDS
  # -malloc_limit_mb: an allocation larger than this is reported as a bug (the loaders must
  # never allocate more than the input can justify); -rss_limit_mb likewise for total memory.
  build/fuzz/bin/fuzz_"$name" -runs="$RUNS" -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -artifact_prefix=build/fuzz/crashes/"$name"- -print_final_stats=1 \
    "$work" tests/fuzz/corpus/"$name" >build/fuzz/"$name".log 2>&1 && rc=0 || rc=$?
  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb|ERROR|SUMMARY|Done' build/fuzz/"$name".log || true
  echo "    $name: $((SECONDS - start)) s, exit $rc (log: build/fuzz/$name.log)"
  [ "$rc" -eq 0 ] || { echo "fuzz_$name found a problem: see build/fuzz/crashes/"; exit 1; }
done
