#!/usr/bin/env bash
# Thin wrapper kept for old command lines: the comparison of raftkv with
# etcd 3.4 and nginx is scripts/bench-compare.py (see its --help). The old
# --clients N becomes --sweep N.
set -euo pipefail
here=$(dirname "$0")
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --clients) args+=(--sweep "$2"); shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
exec python3 "$here/bench-compare.py" "${args[@]}"
