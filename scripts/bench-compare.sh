#!/usr/bin/env bash
# Compares raftkv with etcd 3.4 (and nginx as a ceiling reference) on this
# machine, with the same load from raftkv-bench:
#   writes: 64 clients, 100% writes (PUT), 100-byte values, 10 s
#   reads:  64 clients, linearizable reads of 1000 prefilled keys, 10 s
#   nginx:  64 clients, GET of a constant 200 "ok" (no consensus, no disk)
# Each is run 3 times; the script prints the medians and raftkv's ratios.
#
# Everything runs on loopback with its own ports and a temp dir (removed on
# exit): a 3-member raftkvd cluster (release build, default fsync), a
# 3-member etcd cluster (Debian etcd-server, default fsync) and one nginx
# worker. etcd and nginx are installed with apt-get when missing and
# possible, and skipped otherwise.
#
# Usage: scripts/bench-compare.sh [--runs N] [--duration 10s] [--clients 64]
#                                 [--build DIR] [--no-etcd] [--no-nginx]
# Env: RAFTKVD, RAFTKV_BENCH to use given binaries instead of DIR's.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3 duration=10s clients=64 build=build-release use_etcd=1 use_nginx=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --no-etcd) use_etcd=0; shift ;;
    --no-nginx) use_nginx=0; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-compare.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

daemon=${RAFTKVD:-$build/daemon/raftkvd}
bench=${RAFTKV_BENCH:-$build/tools/bench/raftkv-bench}
if [ ! -x "$daemon" ] || [ ! -x "$bench" ]; then
  echo "building $build (release)..." >&2
  [ -d "$build" ] || meson setup "$build" --buildtype=release >/dev/null
  ninja -C "$build" daemon/raftkvd tools/bench/raftkv-bench >/dev/null
fi

tmp=$(mktemp -d /tmp/bench-compare.XXXXXX)
pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# Bounded wait until a command succeeds.
wait_for() {
  local what=$1; shift
  local deadline=$((SECONDS + 30))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then echo "$what did not come up; logs in $tmp" >&2; return 1; fi
    sleep 0.2
  done
}

ensure_installed() {  # command package
  command -v "$1" >/dev/null && return 0
  [ "$(id -u)" = 0 ] || return 1
  echo "installing $2..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$2" >/dev/null 2>&1
  command -v "$1" >/dev/null
}

stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}

# One workload, $runs times; appends "system workload ops_s p50 p99 errors"
# lines to $tmp/results.
measure() {
  local system=$1 workload=$2; shift 2
  for run in $(seq "$runs"); do
    "$bench" --clients "$clients" --duration "$duration" --json --quiet "$@" >"$tmp/run.json"
    python3 - "$system" "$workload" "$tmp/run.json" >>"$tmp/results" <<'PY'
import json, sys
r = json.load(open(sys.argv[3]))
print(sys.argv[1], sys.argv[2], r["throughput"], r["latency_ms"]["p50"], r["latency_ms"]["p99"],
      r["errors_total"])
PY
    tail -1 "$tmp/results" | awk -v n="$run" '{printf "  %s %s run %d: %.0f ops/s p50 %.2f ms p99 %.2f ms errors %d\n", $1, $2, n, $3, $4, $5, $6}' >&2
  done
}

writes=(--writes 100 --value-size 100)
reads=(--writes 0 --prefill --keys 1000 --value-size 100)

# --- raftkv ---------------------------------------------------------------
spec="0,127.0.0.1:23030,127.0.0.1:22020;1,127.0.0.1:23031,127.0.0.1:22021;2,127.0.0.1:23032,127.0.0.1:22022"
for id in 0 1 2; do
  "$daemon" --node "$id" --cluster "$spec" --data-dir "$tmp/raftkv-$id" --log-level warn \
    2>>"$tmp/raftkvd-$id.log" &
  pids+=($!)
done
leader_known() { curl -sf http://127.0.0.1:22020/status | grep -q '"leader": *[0-9]'; }
wait_for raftkv leader_known
echo "raftkv: 3 members up" >&2
measure raftkv writes --cluster "$spec" "${writes[@]}"
measure raftkv reads --cluster "$spec" "${reads[@]}"
stop_all

# --- etcd -----------------------------------------------------------------
if [ $use_etcd = 1 ] && ensure_installed etcd etcd-server; then
  cluster="e0=http://127.0.0.1:22380,e1=http://127.0.0.1:22381,e2=http://127.0.0.1:22382"
  for id in 0 1 2; do
    etcd --name "e$id" --data-dir "$tmp/etcd-$id" \
      --listen-client-urls "http://127.0.0.1:2237$id" \
      --advertise-client-urls "http://127.0.0.1:2237$id" \
      --listen-peer-urls "http://127.0.0.1:2238$id" \
      --initial-advertise-peer-urls "http://127.0.0.1:2238$id" \
      --initial-cluster "$cluster" --initial-cluster-state new \
      --initial-cluster-token bench-compare --logger zap --log-level error \
      2>>"$tmp/etcd-$id.log" &
    pids+=($!)
  done
  etcd_healthy() { curl -sf http://127.0.0.1:22370/health | grep -q '"health":"true"'; }
  wait_for etcd etcd_healthy
  echo "etcd: 3 members up" >&2
  urls=http://127.0.0.1:22370,http://127.0.0.1:22371,http://127.0.0.1:22372
  measure etcd writes --target etcd --url "$urls" "${writes[@]}"
  measure etcd reads --target etcd --url "$urls" "${reads[@]}"
  stop_all
else
  echo "etcd: not available, skipped" >&2
fi

# --- nginx ----------------------------------------------------------------
if [ $use_nginx = 1 ] && ensure_installed nginx nginx; then
  mkdir -p "$tmp/nginx"
  cat >"$tmp/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen 127.0.0.1:28080;
    location / { return 200 "ok"; }
  }
}
CONF
  nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" &
  pids+=($!)
  wait_for nginx curl -sf http://127.0.0.1:28080/
  echo "nginx: up" >&2
  measure nginx get --target plain --url http://127.0.0.1:28080/
  stop_all
else
  echo "nginx: not available, skipped" >&2
fi

# --- medians and ratios ---------------------------------------------------
python3 - "$tmp/results" "$runs" "$clients" "$duration" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    system, workload, ops, p50, p99, errors = line.split()
    rows.setdefault((system, workload), []).append((float(ops), float(p50), float(p99), int(errors)))
med = {k: tuple(statistics.median(r[i] for r in v) for i in range(4)) for k, v in rows.items()}
print(f"medians of {sys.argv[2]} runs, {sys.argv[3]} clients, {sys.argv[4]} each\n")
print("| system | workload | ops/s | p50 ms | p99 ms | errors |")
print("| --- | --- | ---: | ---: | ---: | ---: |")
for (system, workload), (ops, p50, p99, errors) in med.items():
    print(f"| {system} | {workload} | {ops:.0f} | {p50:.2f} | {p99:.2f} | {errors:.0f} |")
print()
def ratio(a, b, what):
    if a in med and b in med and med[b][0] > 0:
        print(f"- {what}: {med[a][0] / med[b][0]:.2f}x throughput, "
              f"p99 {med[a][2]:.2f} vs {med[b][2]:.2f} ms")
ratio(("raftkv", "writes"), ("etcd", "writes"), "raftkv / etcd, writes")
ratio(("raftkv", "reads"), ("etcd", "reads"), "raftkv / etcd, linearizable reads")
ratio(("raftkv", "writes"), ("nginx", "get"), "raftkv writes / nginx GET")
ratio(("raftkv", "reads"), ("nginx", "get"), "raftkv reads / nginx GET")
PY
