// Reading a data directory back: scanning every file, replaying the log
// (truncations included), choosing the snapshot, and deciding what is
// repaired and what is refused.
//
// Rules (docs/disk-format.md, "Recovery"):
//   repaired: a torn record at the end of the last segment (cut off with
//     ftruncate, logged with RKV_WARN); a last segment holding no record (a
//     roll interrupted by a crash: removed); a leftover hardstate.tmp or
//     *.snap.tmp (removed); an empty directory (a fresh member: hardstate
//     0/0 created); a log left stale by an interrupted snapshot install
//     (every segment removed, RKV_WARN; snapshot_recovery.h).
//   skipped: a snapshot that fails verification, when an older one (or the
//     log alone) still rebuilds at least as much (RKV_WARN naming the file;
//     the file is left in place for the operator).
//   refused: anything else: a bad record followed by valid data, a bad
//     record in any segment but the last, an index gap (missing segment, or
//     a log that starts after the snapshot ends), a bad header or unknown
//     format version, a corrupt hardstate file, a missing hardstate next to
//     segments or snapshots, or a corrupt snapshot with no usable fallback.
// The Wal (open) and raftkv-dump (read-only) share everything here.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "raft.pb.h"
#include "storage/segment.h"
#include "storage/snapshot_file.h"
#include "storage/snapshot_recovery.h"

namespace raftkv::storage {

// What a member recovers: its hard state, its newest valid snapshot (if
// any) and its log.
struct RecoveredState {
  pb::HardState hard_state;
  // The log after the snapshot, contiguous: from index 1 without a
  // snapshot, from snapshot->meta.index() + 1 with one. Entries at or below
  // the snapshot's index may still be on disk (until compaction), but they
  // are not decoded into memory: the core would drop them anyway
  // (core::PersistentState), and holding them made a restarted member's
  // peak memory twice a running one's.
  std::vector<pb::Entry> entries;
  // The snapshot the state machine starts from (verified in full). Its
  // pairs went to the SnapshotSink given to recovery, if any; otherwise the
  // daemon reads them with read_snapshot(snapshot->path, ...).
  std::optional<SnapshotInfo> snapshot;
};

// Receives the chosen snapshot's pairs while recovery verifies it, so that
// a big snapshot is read once. A snapshot can fail verification half way
// (after some pairs were delivered) and an older one be tried next:
// discard() then says "forget every pair received so far".
class SnapshotSink {
 public:
  virtual ~SnapshotSink() = default;
  // The views are valid only during the call.
  virtual void pair(std::string_view key, std::string_view value) = 0;
  virtual void discard() = 0;
};

struct DirScan {
  std::string dir;
  bool hard_state_present = false;
  bool hard_state_ok = false;
  pb::HardState hard_state;
  std::string hard_state_problem;
  std::uint64_t hard_state_offset = 0;
  bool tmp_present = false;                // an interrupted hardstate replacement
  std::vector<SegmentScan> segments;       // ordered by first index
  std::vector<std::string> snapshots;      // snapshot files, newest first (not yet read)
  std::vector<std::string> snapshot_tmps;  // *.snap.tmp files (interrupted writes)
};

// Called by scan_dir after it read each segment, in order; `last`: no
// segment follows. Once it has used a segment's records it may free all
// but the last one (recover_dir does, so that only one segment's records
// are in memory at a time; whether a segment held any record still
// matters to torn_tail).
using SegmentHook = std::function<void(SegmentScan& segment, bool last)>;

// Reads every file of `dir` without modifying anything.
// Returns 0, or a negative errno if the directory cannot be listed.
int scan_dir(const std::string& dir, DirScan* out, const SegmentHook& hook = {});

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
// is <= the previous one drops everything from that index on). The log
// starts at the first segment's first index (whether a snapshot covers
// what lies before is plan_snapshot_recovery's business). Returns "" or the
// first fatal problem of the log; a torn tail of the last segment is not
// fatal here (see torn_tail()).
std::string replay_log(const DirScan& scan, LogVisitor* visitor);

// replay_log one segment at a time, as a SegmentHook sees them.
class LogReplay {
 public:
  explicit LogReplay(LogVisitor* visitor) : visitor_(visitor) {}
  // Replays the next segment: "" or the log's fatal problem (then stop).
  std::string add(const SegmentScan& segment, bool is_last);

 private:
  LogVisitor* visitor_;
  bool started_ = false;
  std::uint64_t last_ = 0;  // the log's last index so far
};

// Collects the LogExtent of what replay_log walks (truncations applied).
class ExtentBuilder : public LogVisitor {
 public:
  void on_segment(const SegmentScan& segment) override;
  void on_truncate(std::uint64_t keep_through, const SegmentScan& segment,
                   const ScannedRecord& record) override;
  void on_entry(const SegmentScan& segment, const ScannedRecord& record) override;
  const LogExtent& extent() const { return extent_; }

 private:
  LogExtent extent_;
};

// "" or the fatal problem of the hardstate file.
std::string check_hard_state(const DirScan& scan);

// The repairable problem at the end of the log, "" if none (for reports).
std::string torn_tail(const DirScan& scan);

// Where the log ends on disk after recovery, so that the writer can go on.
struct LogLayout {
  std::vector<std::uint64_t> segment_firsts;  // ascending
  std::vector<std::uint64_t> segment_bytes;   // valid bytes of each segment
  std::uint64_t last_segment_bytes = 0;       // valid bytes of the last segment
  // The log's last index: its last entry's, or the snapshot's index when
  // the log is empty (the next write then starts right after it).
  std::uint64_t last_index = 0;
  // The lowest index a write may start at: the log's first index, or
  // last_index + 1 when the log is empty. Starting lower would rewrite
  // state a snapshot already holds; Wal::reset is the way to do that.
  std::uint64_t first_writable = 1;
};

// Open-time recovery of `dir` (created if missing): scans, refuses or
// repairs per the rules above, and fills `out` and `layout`. Blocking I/O.
// `sink` (optional) receives the chosen snapshot's pairs. On refusal
// returns false with the one-line reason in `error`.
bool recover_dir(const std::string& dir, RecoveredState* out, LogLayout* layout, std::string* error,
                 SnapshotSink* sink = nullptr);

}  // namespace raftkv::storage
