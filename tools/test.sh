#!/usr/bin/env bash
# tools/test.sh: every test suite, in the order a failure is cheapest to read.
#   core (native)      the shared core's GoogleTest suite, Release build
#   core (wasm)        the same suite compiled with Emscripten, run under node
#   core (ASan+UBSan)  the same suite again with sanitizers, plus the fuzz-corpus replays
#   viewer (native)    the browser viewer's UI-free state, report and exports (tests/viewer),
#                      Release and with the sanitizers
#   native (LibTorch)  models, data loading, training, resume (tests/native)
#   server             coronanet serve as a black box over loopback (tests/server, node --test)
#   oracles            NIfTI vs nibabel, metrics vs scikit-learn (independent implementations)
#   cross-build        native and wasm give the same preprocessing/metric outputs (<= 1e-6)
#   browser            the web app in headless Debian Chromium (playwright-core); screenshots in
#                      build/test-artifacts/
# Builds what is out of date first (tools/setup.sh --no-install). Ends with "tests: N passed, M failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
JOBS=$(nproc 2>/dev/null || echo 2)
LOG_DIR=$ROOT/build/test-logs
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}

PASSED=0 FAILED=0 FAILED_SUITES=()
step() { printf '\n==> %s\n' "$*"; }
record() {  # record SUITE PASSED FAILED
  PASSED=$((PASSED + $2)) FAILED=$((FAILED + $3))
  printf -- '--- %s: %d passed, %d failed\n' "$1" "$2" "$3"
  [ "$3" -eq 0 ] || FAILED_SUITES+=("$1")
}

# run_gtest SUITE LOG CMD...: a GoogleTest binary; its own counts go into the totals.
run_gtest() {
  local suite=$1 log=$2; shift 2
  "$@" >"$log" 2>&1
  local rc=$? passed failed
  passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\?\..*/\1/p' "$log" | tail -n1)
  failed=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) tests\?, listed below.*/\1/p' "$log" | tail -n1)
  passed=${passed:-0} failed=${failed:-0}
  grep -E '^\[==========\] [0-9]+ tests? from' "$log" | tail -n1
  if [ "$rc" -ne 0 ]; then
    grep -E '^\[  FAILED  \]|Failure|error' "$log" | head -n 40
    [ "$failed" -gt 0 ] || failed=1  # crashed before GoogleTest could count
  fi
  record "$suite" "$passed" "$failed"
}

# run_ctest SUITE BUILD_DIR [ctest args]: each ctest entry counts once.
run_ctest() {
  local suite=$1 dir=$2; shift 2
  local log=$LOG_DIR/${suite// /_}.log
  ctest --test-dir "$dir" --output-on-failure "$@" >"$log" 2>&1
  local rc=$? total failed
  grep -E '^ *[0-9]+/[0-9]+ Test' "$log"
  total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -n1)
  failed=$(sed -n 's/.* \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -n1)
  if [ -z "$total" ]; then
    tail -n 30 "$log"
    record "$suite" 0 1
    return
  fi
  [ "$rc" -eq 0 ] || grep -A30 -E 'Output from these tests|\*\*\*Failed' "$log" | head -n 80
  record "$suite" "$((total - failed))" "$failed"
}

step "building (tools/setup.sh --no-install)"
tools/setup.sh --no-install || { echo "tests: 0 passed, 1 failed (build failed)"; exit 1; }
mkdir -p "$LOG_DIR"

step "sanitizer build (build/asan: ASan + UBSan)"
{ cmake --preset native-asan >/dev/null && cmake --build --preset native-asan -j "$JOBS"; } >"$LOG_DIR/asan-build.log" 2>&1 ||
  { tail -n 40 "$LOG_DIR/asan-build.log"; echo "tests: 0 passed, 1 failed (ASan build failed)"; exit 1; }

step "core suite (native)"
run_gtest "core suite (native)" "$LOG_DIR/core-native.log" build/bin/corona_core_tests

step "core suite (wasm, node $(node --version))"
run_gtest "core suite (wasm)" "$LOG_DIR/core-wasm.log" node --no-experimental-fetch build/wasm/bin/corona_core_tests.js

step "core suite (native, ASan + UBSan)"
run_gtest "core suite (ASan+UBSan)" "$LOG_DIR/core-asan.log" build/asan/bin/corona_core_tests

step "viewer state suite (native)"
run_gtest "viewer state (native)" "$LOG_DIR/viewer-native.log" build/bin/corona_viewer_tests
run_gtest "viewer state (ASan+UBSan)" "$LOG_DIR/viewer-asan.log" build/asan/bin/corona_viewer_tests

if [ -x build/bin/corona_native_tests ]; then
  step "native suite (LibTorch)"
  run_gtest "native suite (LibTorch)" "$LOG_DIR/native.log" build/bin/corona_native_tests
fi

step "fuzz corpus replay (ASan + UBSan)"
run_ctest "fuzz corpus replay" build/asan -R '^fuzz_replay_'

step "native CLI on the fixtures"
run_ctest "native CLI" build -R '^cli_'

step "server: coronanet serve on loopback (tests/server, node --test)"
run_ctest "server" build -R '^server_'

step "oracles: nibabel, scikit-learn"
run_ctest "oracles" build -R '^oracle_'

step "cross-build parity: native vs wasm core outputs on the fixtures"
run_ctest "cross-build parity" build -R '^parity_'

step "browser: the web app (build/web) in headless Chromium"
node --test tests/e2e/ >"$LOG_DIR/browser.log" 2>&1
rc=$?
b_pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$LOG_DIR/browser.log" | tail -n1)
b_fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$LOG_DIR/browser.log" | tail -n1)
grep -E '^(not )?ok ' "$LOG_DIR/browser.log"
if [ "$rc" -ne 0 ]; then
  grep -B2 -A20 '^not ok' "$LOG_DIR/browser.log" | head -n 60
  [ "${b_fail:-0}" -gt 0 ] || b_fail=1
fi
record "browser" "${b_pass:-0}" "${b_fail:-0}"

printf '\n'
if [ "$FAILED" -gt 0 ]; then
  echo "failed suites: ${FAILED_SUITES[*]} (logs in build/test-logs/)"
fi
echo "tests: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
