// Group commit, the pure part: merging queued write() calls into one batch
// and planning where its bytes go. No I/O here (see wal.cc for that).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "raft.pb.h"

namespace raftkv::storage {

// An entry shared with the Raft core's log (core/shared_entry.h): the
// pending batch holds it until its bytes are planned, never modifies it.
using SharedEntry = std::shared_ptr<const pb::Entry>;

// The effect of several write(), compact() and reset() calls on the log,
// folded as they arrive: keep the durable log through `keep_through()`
// (none of it after a reset), then append `tail()`, then compact. Hard
// states: only the newest matters.
class PendingBatch {
 public:
  // `base_last` is the log's last index once everything before this batch
  // is durable; writes may not start below `first_writable`.
  explicit PendingBatch(std::uint64_t base_last, std::uint64_t first_writable = 1)
      : base_last_(base_last), keep_(base_last), first_writable_(first_writable) {}

  // Folds one write in. Returns 0, or -EINVAL (and changes nothing) when the
  // entries are not consecutive, would leave a gap after the log's end, or
  // start below first_writable().
  int add(std::optional<pb::HardState> hard_state, std::vector<SharedEntry>&& entries);
  // The log is replaced by a snapshot ending at `snapshot_index`: every
  // segment goes, including entries queued so far; the next write must
  // start at snapshot_index + 1.
  void reset(std::uint64_t snapshot_index);
  // Segments holding only entries <= `upto` are to be deleted once this
  // batch's entries are written (the largest request wins).
  void compact(std::uint64_t upto);

  std::uint64_t base_last() const { return base_last_; }
  std::uint64_t keep_through() const { return keep_; }
  // The log's last index once this batch is durable.
  std::uint64_t last_index() const { return tail_.empty() ? keep_ : tail_.back()->index(); }
  const std::vector<SharedEntry>& tail() const { return tail_; }
  const std::optional<pb::HardState>& hard_state() const { return hard_state_; }
  bool is_reset() const { return reset_; }
  const std::optional<std::uint64_t>& compact_upto() const { return compact_upto_; }
  std::uint64_t first_writable() const { return first_writable_; }
  bool empty() const {
    return tail_.empty() && !hard_state_ && keep_ == base_last_ && !reset_ && !compact_upto_;
  }

 private:
  std::uint64_t base_last_;
  std::uint64_t keep_;
  std::uint64_t first_writable_;
  std::vector<SharedEntry> tail_;  // indexes keep_+1 .. in order
  std::optional<pb::HardState> hard_state_;
  bool reset_ = false;
  std::optional<std::uint64_t> compact_upto_;
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
  // segment's first index, or every segment after a reset: removed
  // (durably) before anything is written, so a stale suffix can never
  // reappear after the new records. Newest first: a crash half way leaves
  // a log that still starts where it did, never one with a hole.
  std::vector<std::uint64_t> delete_segments;
  bool reset = false;
  std::vector<SegmentChunk> chunks;
  // Closed segments (never the active one) whose entries are all <= the
  // compaction index, in the layout the chunks leave behind: removed after
  // the chunks are durable. Oldest first: a crash half way leaves a log
  // that starts later but still has no hole.
  std::vector<std::uint64_t> compact_segments;
  std::uint64_t entries = 0;
};

// Plans `batch` given the segments on disk (first indexes, ascending; the
// last is the active one holding `active_bytes` bytes) and the size bound.
// A closed segment holds exactly the entries first .. (next segment's
// first - 1): anything it holds beyond that was truncated by the next one.
BatchPlan plan_batch(const PendingBatch& batch, const std::vector<std::uint64_t>& segment_firsts,
                     std::uint64_t active_bytes, std::uint64_t segment_bytes);

}  // namespace raftkv::storage
