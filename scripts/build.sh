#!/usr/bin/env bash
# Configures (once) and builds one build directory; on failure prints the
# compiler's errors.
#   scripts/build.sh DIR [meson setup options...]
set -euo pipefail
dir=$1
shift
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "$@" >/dev/null
else
  meson setup --reconfigure "$dir" "$@" >/dev/null
fi
log=$(mktemp)
if ! meson compile -C "$dir" >"$log" 2>&1; then
  grep -E -A5 "error|FAILED" "$log" | head -60 >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
