#!/usr/bin/env bash
# Latency matrix of issue 7 (one client through the leader and through a
# follower, writes and linearizable reads; 64 clients spread over all
# members). Starts a 3-member cluster from BUILD (a build directory holding
# daemon/raftkvd and tools/bench/raftkv-bench) on 127.0.0.1, HTTP ports
# 2120-2122 and Raft ports 3130-3132, data in /tmp/lat-data-TAG (removed at
# the end), runs raftkv-bench RUNS times (default 3) for 10 s per case, keeps
# one JSON line per run in /tmp/lat-results-TAG.jsonl and prints the median
# of each column per case. Stops the cluster on exit.
#   scripts/measure-latency.sh BUILD TAG [RUNS]
# Cases: w1-leader (--leader-only, --writes 100), w1-follower (--url of the
# member after the leader), r1-leader / r1-follower (--writes 0 --prefill
# --keys 1000), w64-all / r64-all (--cluster, 64 clients).
set -euo pipefail
build=$1; tag=$2; runs=${3:-3}
daemon=$build/daemon/raftkvd; bench=$build/tools/bench/raftkv-bench
spec="0,:3130,:2120;1,:3131,:2121;2,:3132,:2122"
dir=/tmp/lat-data-$tag; out=/tmp/lat-results-$tag.jsonl
rm -rf "$dir"; mkdir -p "$dir"; : > "$out"
pids=()
cleanup() {
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
for id in 0 1 2; do
  "$daemon" --node $id --cluster "$spec" --data-dir "$dir/d$id" 2>>"$dir/log-$id" &
  pids+=($!)
done
deadline=$((SECONDS + 20)); leader=""
until [ -n "$leader" ]; do
  [ $SECONDS -ge $deadline ] && { echo "no leader" >&2; exit 1; }
  sleep 0.2
  leader=$(curl -sf http://127.0.0.1:2120/status | grep -o '"leader": *[0-9]*' | grep -o '[0-9]*$' || true)
done
follower=$(( (leader + 1) % 3 ))
echo "leader $leader, follower $follower" >&2
common=(--clients 1 --duration 10s --json --quiet)
run_case() {  # name, bench args...
  local name=$1; shift
  for r in $(seq 1 "$runs"); do
    local j; j=$("$bench" "$@" --seed "$r")
    echo "{\"case\": \"$name\", \"run\": $r, \"result\": $j}" >> "$out"
  done
}
run_case w1-leader   --cluster "$spec" --leader-only "${common[@]}" --writes 100
run_case w1-follower --url http://127.0.0.1:212$follower "${common[@]}" --writes 100
run_case r1-leader   --cluster "$spec" --leader-only "${common[@]}" --writes 0 --prefill --keys 1000
run_case r1-follower --url http://127.0.0.1:212$follower "${common[@]}" --writes 0 --prefill --keys 1000
run_case w64-all     --cluster "$spec" --clients 64 --duration 10s --json --quiet --writes 100
run_case r64-all     --cluster "$spec" --clients 64 --duration 10s --json --quiet --writes 0 --prefill --keys 1000
python3 - "$out" <<'PY'
import json, sys, statistics
rows = {}
for line in open(sys.argv[1]):
    d = json.loads(line); rows.setdefault(d["case"], []).append(d["result"])
print(f"{'case':12} {'ops/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}  (median of {len(next(iter(rows.values())))})")
for case, rs in rows.items():
    med = lambda f: statistics.median(f(r) for r in rs)
    print(f"{case:12} {med(lambda r: r['throughput']):9.1f} {med(lambda r: r['latency_ms']['p50']):8.3f} "
          f"{med(lambda r: r['latency_ms']['p99']):8.3f} {med(lambda r: r['errors_total']):6.0f}")
PY
