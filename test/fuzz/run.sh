#!/usr/bin/env bash
# Builds the fuzz targets (build.sh) and runs each for SECONDS (default 60)
# from the committed seed corpus, then prints execs and coverage per target.
#
#   test/fuzz/run.sh [SECONDS] [TARGET...]
#
# Environment: FUZZ_BUILD_DIR (default /tmp/raftkv-fuzz), FUZZ_JOBS (parallel
# libFuzzer workers per target, default 1). New corpus entries go to
# $FUZZ_BUILD_DIR/corpus/<target> (the committed seeds stay untouched), crash
# reproducers to $FUZZ_BUILD_DIR/artifacts/<target>/. Exit status: 0 all
# targets ran clean, 1 a target found a crash, 77 clang/libFuzzer missing.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
seconds="${1:-60}"
shift || true
out="${FUZZ_BUILD_DIR:-/tmp/raftkv-fuzz}"
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(fuzz_http_request fuzz_peer_frame fuzz_wal_recovery fuzz_cluster_spec)

if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -lt 1 ]]; then
  echo "usage: run.sh [SECONDS] [TARGET...]" >&2
  exit 2
fi

"$here/build.sh" "$out"
rc=$?
if [[ $rc -ne 0 ]]; then
  exit $rc  # 77 (skip) passes through
fi

status=0
summary=()
for t in "${targets[@]}"; do
  work="$out/corpus/$t"
  arts="$out/artifacts/$t"
  mkdir -p "$work" "$arts"
  log="$out/$t.log"
  echo "=== $t: ${seconds}s"
  # -max_total_time bounds the run; -timeout flags a single slow input;
  # -rss_limit_mb catches runaway allocation.
  "$out/$t" "$work" "$here/corpus/$t" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$arts/" ${FUZZ_JOBS:+-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS"} \
    >"$log" 2>&1
  trc=$?
  # The last status line: "#1234 DONE cov: 567 ft: 890 corp: ..."
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  execs=$(grep -E '^stat::number_of_executed_units:' "$log" | tail -1 | awk '{print $2}')
  cov=$(echo "$last" | grep -oE 'cov: [0-9]+' | awk '{print $2}')
  ft=$(echo "$last" | grep -oE 'ft: [0-9]+' | awk '{print $2}')
  corp=$(echo "$last" | grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' | awk '{print $2}')
  result="ok"
  if [[ $trc -ne 0 ]]; then
    result="CRASH (exit $trc): see $log and $arts"
    status=1
    grep -E 'ERROR: |SUMMARY: |runtime error' "$log" | head -5
  fi
  summary+=("$(printf '%-20s %12s %8s %8s %14s  %s' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
                "${corp:-?}" "$result")")
done

echo
printf '%-20s %12s %8s %8s %14s  %s\n' target execs cov ft corpus result
for line in "${summary[@]}"; do echo "$line"; done
exit $status
