#!/usr/bin/env bash
# Installs what is missing, builds raftkv (release) and runs a local
# 3-member cluster on 127.0.0.1 in the foreground: Raft on ports 3030-3032,
# HTTP on 2020-2022, data in .cluster/. Ctrl-C stops all three cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
echo "building (release)..."
scripts/build.sh build-release --buildtype=release

daemon=build-release/daemon/raftkvd
spec="0,:3030,:2020;1,:3031,:2021;2,:3032,:2022"
mkdir -p .cluster
pids=()
stop_all() {
  trap - INT TERM EXIT
  echo "stopping the cluster..."
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop_all INT TERM EXIT

for id in 0 1 2; do
  "$daemon" --node "$id" --cluster "$spec" --data-dir ".cluster/data-$id" \
    2>>".cluster/raftkvd-$id.log" &
  pids+=($!)
done

# Wait (bounded) until some member reports a leader.
deadline=$((SECONDS + 20))
until curl -sf http://127.0.0.1:2020/status | grep -q '"leader": *[0-9]'; do
  if [ $SECONDS -ge $deadline ]; then
    echo "no leader after 20 s; see .cluster/raftkvd-*.log" >&2
    exit 1
  fi
  sleep 0.2
done

cat <<'TXT'
raftkv is running: members 0, 1, 2 (HTTP on 127.0.0.1:2020, :2021, :2022).
Try:
  curl -X PUT --data-binary 'world' http://127.0.0.1:2021/kv/hello
  curl http://127.0.0.1:2022/kv/hello
  curl 'http://127.0.0.1:2020/set?key=a&value=1'; curl 'http://127.0.0.1:2020/get?key=a'
  curl http://127.0.0.1:2020/status
Logs: .cluster/raftkvd-N.log   Stop: Ctrl-C
TXT
wait "${pids[@]}"
