// raftkv-dump's view of the snapshot files: each one verified in full
// (header and body, with storage/snapshot_file.h's reader) and rendered as
// one text or JSON line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/snapshot_file.h"

namespace raftkv::dump {

struct SnapshotReport {
  std::string path;
  std::uint64_t index = 0;  // from the file name (also when the header is unreadable)
  std::uint64_t term = 0;
  bool header_ok = false;      // `info` holds the header's meta, pairs and size
  bool ok = false;             // the whole file verified
  storage::SnapshotInfo info;  // when header_ok
  std::string problem;         // "FILE: corrupt snapshot at offset N (why)" unless ok
};

// Verifies every file of `paths` (newest first, as list_snapshots gives them).
std::vector<SnapshotReport> check_snapshots(const std::vector<std::string>& paths);

// "snapshot NAME: index I term T, members [1 raft=A http=B; ...], P pairs,
// B bytes, ok" (or ", corrupt snapshot at offset N (why)" instead of "ok";
// only "snapshot NAME: corrupt snapshot at ..." when the header is bad).
std::string snapshot_text(const SnapshotReport& report);

// {"type":"snapshot","present":true,"file":..,"index":..,"term":..,
// "members":[..],"pairs":..,"bytes":..,"status":"ok"|"corrupt"[,"problem":..]}
// (members, pairs and bytes only when the header is readable).
std::string snapshot_json(const SnapshotReport& report);

}  // namespace raftkv::dump
