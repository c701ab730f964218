// Reading a data directory back: scanning every file, replaying the log
// (truncations included) and deciding what is repaired and what is refused.
//
// Rules (docs/disk-format.md, "Recovery"):
//   repaired: a torn record at the end of the last segment (cut off with
//     ftruncate, logged with RKV_WARN); a last segment holding no record (a
//     roll interrupted by a crash: removed); a leftover hardstate.tmp
//     (removed); an empty directory (a fresh member: hardstate 0/0 created).
//   refused: anything else: a bad record followed by valid data, a bad
//     record in any segment but the last, an index gap (missing segment), a
//     bad header or unknown format version, a corrupt hardstate file, or a
//     missing hardstate next to segments.
// The Wal (open) and raftkv-dump (read-only) share everything here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "raft.pb.h"
#include "storage/segment.h"

namespace raftkv::storage {

// What a member recovers: its hard state and its log, contiguous from index 1.
struct RecoveredState {
  pb::HardState hard_state;
  std::vector<pb::Entry> entries;
};

struct DirScan {
  std::string dir;
  bool hard_state_present = false;
  bool hard_state_ok = false;
  pb::HardState hard_state;
  std::string hard_state_problem;
  std::uint64_t hard_state_offset = 0;
  bool tmp_present = false;           // an interrupted hardstate replacement
  std::vector<SegmentScan> segments;  // ordered by first index
};

// Reads every file of `dir` without modifying anything.
// Returns 0, or a negative errno if the directory cannot be listed.
int scan_dir(const std::string& dir, DirScan* out);

// "FILE: corrupt record at offset N (why)": the one-line form of every
// refusal, so that operators can find the bytes.
std::string corrupt_at(const std::string& file, std::uint64_t offset, const std::string& why);

// Receives the log as replay_log walks it, in file order.
class LogVisitor {
 public:
  virtual ~LogVisitor() = default;
  virtual void on_segment(const SegmentScan& /*segment*/) {}
  // Entries after `keep_through` are dropped: `record` rewrites the suffix.
  virtual void on_truncate(std::uint64_t /*keep_through*/, const SegmentScan& /*segment*/,
                           const ScannedRecord& /*record*/) {}
  virtual void on_entry(const SegmentScan& /*segment*/, const ScannedRecord& /*record*/) {}
};

// Walks the segments in order, applying truncations (a record whose index
// is <= the previous one drops everything from that index on). Returns ""
// or the first fatal problem of the log; a torn tail of the last segment is
// not fatal here (see torn_tail()).
std::string replay_log(const DirScan& scan, LogVisitor* visitor);

// "" or the fatal problem of the hardstate file.
std::string check_hard_state(const DirScan& scan);

// The repairable problem at the end of the log, "" if none (for reports).
std::string torn_tail(const DirScan& scan);

// Where the log ends on disk after recovery, so that the writer can go on.
struct LogLayout {
  std::vector<std::uint64_t> segment_firsts;  // ascending
  std::uint64_t last_segment_bytes = 0;       // valid bytes of the last segment
  std::uint64_t last_index = 0;
};

// Open-time recovery of `dir` (created if missing): scans, refuses or
// repairs per the rules above, and fills `out` and `layout`. Blocking I/O.
// On refusal returns false with the one-line reason in `error`.
bool recover_dir(const std::string& dir, RecoveredState* out, LogLayout* layout,
                 std::string* error);

}  // namespace raftkv::storage
