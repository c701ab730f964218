#!/usr/bin/env bash
# Installs what is missing, builds raftkv twice (debug with ASan+UBSan and
# release, both with warnings as errors) and runs every test in both.
# Ends with one line "tests: N passed, M failed" and exits non-zero on any
# failure.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh || exit 1

passed=0
failed=0
status=0

# Runs `meson test` in build dir $1 and adds its counts to the totals.
run_suite() {
  local dir=$1
  shift
  echo "== meson test in $dir $*"
  meson test -C "$dir" --print-errorlogs "$@" | tee "$dir/test-output.txt"
  local rc=${PIPESTATUS[0]}
  local ok fail to
  ok=$(awk '/^Ok:/ {print $2}' "$dir/test-output.txt")
  fail=$(awk '/^Fail:/ {print $2}' "$dir/test-output.txt")
  to=$(awk '/^Timeout:/ {print $2}' "$dir/test-output.txt")
  passed=$((passed + ${ok:-0}))
  failed=$((failed + ${fail:-0} + ${to:-0}))
  [ "$rc" -eq 0 ] || status=1
}

build() {
  echo "== building $1"
  if ! scripts/build.sh "$@"; then
    echo "build of $1 failed" >&2
    failed=$((failed + 1))
    status=1
    return 1
  fi
}

if build build-asan --buildtype=debug -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_suite build-asan --suite unit --suite sim --suite fast
fi
if build build-release --buildtype=release -Dwerror=true; then
  run_suite build-release
fi

echo "tests: $passed passed, $failed failed"
exit $status
