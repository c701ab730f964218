#!/usr/bin/env bash
# Installs the Debian 12 packages raftkv needs to build, test and run,
# skipping the ones already present. Needs root (or sudo).
set -euo pipefail

packages=(
  g++ pkg-config meson ninja-build  # toolchain and build system
  libuv1-dev                        # the event loop
  libprotobuf-dev protobuf-compiler # peer messages and log entries
  node-llhttp                       # llhttp's C sources (no library package exists)
  catch2                            # unit tests (v2, header-only)
  clang libclang-rt-14-dev          # libFuzzer and sanitizer runtimes for the fuzz targets
  zlib1g-dev                        # crc32 checksums of log records
  libsodium-dev                     # HMAC-SHA-256 and nonces for --cluster-secret-file
  libsystemd-dev                    # sd_notify: READY=1, WATCHDOG=1 under systemd
  libjemalloc-dev                   # raftkvd's allocator: less CPU per request than glibc malloc
  python3 curl                      # integration tests and the README's examples
  systemd man-db                    # systemd-analyze verify/security of the unit in the install test
  procps iproute2 nftables          # ps/kill in tests; namespaces and partitions in the fault suite
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
