// Group commit, the pure part: merging queued write() calls into one batch
// and planning where its bytes go. No I/O here (see wal.cc for that).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "raft.pb.h"

namespace raftkv::storage {

// The effect of several write() calls on the log, folded as they arrive:
// keep the durable log through `keep_through()`, then append `tail()`.
// Hard states: only the newest matters.
class PendingBatch {
 public:
  // `base_last` is the log's last index once everything before this batch
  // is durable.
  explicit PendingBatch(std::uint64_t base_last) : base_last_(base_last), keep_(base_last) {}

  // Folds one write in. Returns 0, or -EINVAL (and changes nothing) when the
  // entries are not consecutive or would leave a gap after the log's end.
  int add(std::optional<pb::HardState> hard_state, std::vector<pb::Entry>&& entries);

  std::uint64_t base_last() const { return base_last_; }
  std::uint64_t keep_through() const { return keep_; }
  // The log's last index once this batch is durable.
  std::uint64_t last_index() const { return tail_.empty() ? keep_ : tail_.back().index(); }
  const std::vector<pb::Entry>& tail() const { return tail_; }
  const std::optional<pb::HardState>& hard_state() const { return hard_state_; }
  bool empty() const { return tail_.empty() && !hard_state_ && keep_ == base_last_; }

 private:
  std::uint64_t base_last_;
  std::uint64_t keep_;
  std::vector<pb::Entry> tail_;  // indexes keep_+1 .. in order
  std::optional<pb::HardState> hard_state_;
};

// Bytes for one segment file: appended to the active one, or a new file.
struct SegmentChunk {
  bool new_segment = false;
  std::uint64_t first_index = 0;  // the segment's name
  std::uint64_t offset = 0;       // where `bytes` go in the file
  std::string bytes;              // header (new segments) + records
  std::uint64_t entries = 0;
};

struct BatchPlan {
  std::optional<pb::HardState> hard_state;
  // Segments made wholly obsolete by a truncation below the active
  // segment's first index: removed (durably) before anything is written,
  // so a stale suffix can never reappear after the new records.
  std::vector<std::uint64_t> delete_segments;
  std::vector<SegmentChunk> chunks;
  std::uint64_t entries = 0;
};

// Plans `batch` given the segments on disk (first indexes, ascending; the
// last is the active one holding `active_bytes` bytes) and the size bound.
BatchPlan plan_batch(const PendingBatch& batch, const std::vector<std::uint64_t>& segment_firsts,
                     std::uint64_t active_bytes, std::uint64_t segment_bytes);

}  // namespace raftkv::storage
