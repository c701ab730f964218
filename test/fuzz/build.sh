#!/usr/bin/env bash
# Builds the libFuzzer targets of test/fuzz/ with clang++ and
# -fsanitize=fuzzer,address,undefined, directly from the library sources they
# need (meson's main build uses g++, which has no libFuzzer).
#
#   test/fuzz/build.sh [BUILD_DIR]     (default /tmp/raftkv-fuzz)
#
# Needs clang++ (Debian: clang-14) and libFuzzer's runtime (Debian:
# libclang-rt-14-dev), protoc and the protobuf, zlib, libsodium and llhttp
# (node-llhttp) headers the main build uses. Exits 77 with a message when the compiler or
# libFuzzer is missing, so meson reports the fuzz test as skipped.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-/tmp/raftkv-fuzz}"
mkdir -p "$out/obj" "$out/gen"

cxx="${CXX_FUZZ:-}"
if [[ -z "$cxx" ]]; then
  for c in clang++ clang++-14 clang++-15 clang++-16; do
    if command -v "$c" >/dev/null 2>&1; then cxx="$c"; break; fi
  done
fi
if [[ -z "$cxx" ]]; then
  echo "SKIP: clang++ not found (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 77
fi
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "SKIP: C++ compiler '$cxx' not found (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 77
fi
cc="${cxx/clang++/clang}"
if ! command -v protoc >/dev/null 2>&1; then
  echo "SKIP: protoc not found (Debian: protobuf-compiler)" >&2
  exit 77
fi
# libFuzzer's runtime: a one-line target must link.
probe="$out/obj/probe.cc"
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >"$probe"
if ! "$cxx" -fsanitize=fuzzer,address,undefined "$probe" -o "$out/obj/probe" 2>"$out/obj/probe.log"; then
  echo "SKIP: $cxx cannot link -fsanitize=fuzzer (libFuzzer runtime missing;" \
       "Debian: apt-get install libclang-rt-14-dev): $(head -c 300 "$out/obj/probe.log")" >&2
  exit 77
fi

llhttp_src="${LLHTTP_SRC:-/usr/share/llhttp}"
llhttp_inc="${LLHTTP_INC:-/usr/share/include/llhttp}"

# Instrument everything we compile; the fuzzer's main comes in at link time.
san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1)
cxxflags=(-std=c++20 "${san[@]}" -fsanitize=fuzzer-no-link -I"$root/lib" -isystem "$out/gen"
          -isystem "$llhttp_inc" -DRAFTKV_VERSION='"fuzz"')
cflags=("${san[@]}" -fsanitize=fuzzer-no-link -w -isystem "$llhttp_inc")

# Generated protobuf code (not ours: no sanitizer-recover flags needed, but
# instrumented so coverage sees message parsing of our schema).
for p in raft kv; do
  if [[ ! -f "$out/gen/$p.pb.cc" || "$root/proto/$p.proto" -nt "$out/gen/$p.pb.cc" ]]; then
    protoc --proto_path="$root/proto" --cpp_out="$out/gen" "$root/proto/$p.proto"
  fi
done

# The sources each target needs (all compiled once into $out/obj).
common_src=(lib/util/log.cc)
http_src=(lib/http/request_parser.cc lib/http/request.cc lib/http/url.cc)
frame_src=(lib/transport/frame.cc lib/transport/handshake.cc lib/transport/peer_auth.cc
           lib/transport/connector_auth.cc gen:raft.pb.cc)
wal_src=(lib/storage/recovery.cc lib/storage/segment.cc lib/storage/record.cc
         lib/storage/snapshot_file.cc lib/storage/snapshot_recovery.cc
         lib/storage/hard_state_file.cc lib/storage/file_util.cc gen:raft.pb.cc)
spec_src=(lib/util/cluster_spec.cc lib/util/address.cc lib/util/flags.cc)
llhttp_c=(api.c http.c llhttp.c)

compile() {  # source-spec -> prints object path
  local spec="$1" src obj
  if [[ "$spec" == gen:* ]]; then
    src="$out/gen/${spec#gen:}"
  elif [[ "$spec" == llhttp:* ]]; then
    src="$llhttp_src/${spec#llhttp:}"
  else
    src="$root/$spec"
  fi
  obj="$out/obj/$(echo "$spec" | tr '/:' '__').o"
  if [[ ! -f "$obj" || "$src" -nt "$obj" || "$0" -nt "$obj" ]] ||
     [[ "$spec" == lib/* && -n "$(find "$root/lib" -name '*.h' -newer "$obj" -print -quit)" ]]; then
    if [[ "$spec" == llhttp:* ]]; then
      "$cc" "${cflags[@]}" -c "$src" -o "$obj"
    else
      "$cxx" "${cxxflags[@]}" -c "$src" -o "$obj"
    fi
  fi
  echo "$obj"
}

link_target() {  # name sources...
  local name="$1"; shift
  local objs=() s
  for s in "$@"; do objs+=("$(compile "$s")"); done
  objs+=("$(compile "test/fuzz/$name.cc")")
  "$cxx" -fsanitize=fuzzer,address,undefined "${objs[@]}" -o "$out/$name" \
    -lprotobuf -lz -lsodium -lpthread
  echo "built $out/$name"
}

llhttp_specs=()
for f in "${llhttp_c[@]}"; do llhttp_specs+=("llhttp:$f"); done

link_target fuzz_http_request "${http_src[@]}" "${llhttp_specs[@]}" "${common_src[@]}"
link_target fuzz_peer_frame "${frame_src[@]}" "${common_src[@]}"
link_target fuzz_wal_recovery "${wal_src[@]}" "${common_src[@]}"
link_target fuzz_cluster_spec "${spec_src[@]}" "${common_src[@]}"
