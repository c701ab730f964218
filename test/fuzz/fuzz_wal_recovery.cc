// libFuzzer target: bytes -> one or two WAL segment files (plus a hardstate
// file) in a temporary directory -> storage::recover_dir. Recovery must never
// crash; refusing the directory is fine. When it succeeds, its repairs must
// be final: a second recovery of the same directory succeeds with the same
// log, and the log's indexes are consecutive.
//
// Input layout:
//   byte 0       flags: bit 0 = no hardstate file, bit 1 = garbage hardstate
//                (the rest of the input), bit 2 = split into two segments
//   bytes 1..2   split offset (big-endian) when bit 2 is set
//   rest         segment bytes. The first segment is 00..01.wal; the second
//                is named after the first index in its own header (offset 8,
//                little-endian) so the fuzzer can line it up.
#include <dirent.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "storage/hard_state_file.h"
#include "storage/recovery.h"
#include "storage/segment.h"
#include "util/log.h"

using namespace raftkv;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

std::string g_dir;

void write_file(const std::string& path, std::string_view bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  check(f != nullptr);
  if (!bytes.empty()) check(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
  check(std::fclose(f) == 0);
}

void clear_dir() {
  DIR* d = opendir(g_dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    unlink((g_dir + "/" + e->d_name).c_str());
  }
  closedir(d);
}

std::uint64_t le64(std::string_view bytes, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i)
    v |= std::uint64_t{static_cast<unsigned char>(bytes[at + i])} << (8 * i);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char templ[] = "/tmp/fuzz-wal-XXXXXX";
  check(mkdtemp(templ) != nullptr);
  g_dir = templ;
  util::set_log_level(util::LogLevel::kError);  // repairs log a WARN each
  std::atexit([] {
    clear_dir();
    rmdir(g_dir.c_str());
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::uint8_t flags = data[0];
  const std::size_t split = std::size_t{data[1]} << 8 | data[2];
  const std::string_view rest(reinterpret_cast<const char*>(data + 3), size - 3);

  clear_dir();
  if (flags & 2) {
    write_file(g_dir + "/" + storage::kHardStateName, rest.substr(0, 64));
  } else if (!(flags & 1)) {
    pb::HardState hs;
    hs.set_term(3);
    hs.set_vote(1);
    hs.set_voted(true);
    write_file(g_dir + "/" + storage::kHardStateName, storage::encode_hard_state(hs));
  }
  if ((flags & 4) && split < rest.size()) {
    const std::string_view first = rest.substr(0, split);
    const std::string_view second = rest.substr(split);
    write_file(g_dir + "/" + storage::segment_file_name(1), first);
    const std::uint64_t second_first = second.size() >= 16 ? le64(second, 8) : 2;
    const std::string name = storage::segment_file_name(second_first);
    if (name != storage::segment_file_name(1)) write_file(g_dir + "/" + name, second);
  } else {
    write_file(g_dir + "/" + storage::segment_file_name(1), rest);
  }

  storage::RecoveredState state;
  storage::LogLayout layout;
  std::string error;
  if (!storage::recover_dir(g_dir, &state, &layout, &error)) {
    check(!error.empty());
    return 0;
  }
  for (std::size_t i = 1; i < state.entries.size(); ++i)
    check(state.entries[i].index() == state.entries[i - 1].index() + 1);
  check(layout.last_index == (state.entries.empty() ? 0 : state.entries.back().index()));

  storage::RecoveredState again;
  storage::LogLayout layout_again;
  std::string error_again;
  check(storage::recover_dir(g_dir, &again, &layout_again, &error_again));
  check(again.entries.size() == state.entries.size());
  check(layout_again.last_index == layout.last_index);
  check(layout_again.last_segment_bytes == layout.last_segment_bytes);
  for (std::size_t i = 0; i < again.entries.size(); ++i)
    check(again.entries[i].SerializeAsString() == state.entries[i].SerializeAsString());
  return 0;
}
