#include "storage/batch.h"

#include <algorithm>
#include <cerrno>

#include "storage/record.h"
#include "storage/segment.h"

namespace raftkv::storage {

int PendingBatch::add(std::optional<pb::HardState> hard_state, std::vector<SharedEntry>&& entries) {
  for (std::size_t i = 1; i < entries.size(); ++i) {
    if (entries[i]->index() != entries[i - 1]->index() + 1) return -EINVAL;
  }
  if (!entries.empty()) {
    const std::uint64_t first = entries.front()->index();
    if (first == 0 || first < first_writable_ || first > last_index() + 1) return -EINVAL;
    if (first <= keep_) {
      // Reaches into the log as it was before this batch: truncate there.
      keep_ = first - 1;
      tail_.clear();
    } else {
      tail_.resize(first - keep_ - 1);  // drop this batch's own overwritten suffix
    }
    for (SharedEntry& entry : entries) tail_.push_back(std::move(entry));
  }
  if (hard_state) hard_state_ = std::move(hard_state);
  return 0;
}

void PendingBatch::reset(std::uint64_t snapshot_index) {
  reset_ = true;
  keep_ = snapshot_index;
  tail_.clear();
  first_writable_ = snapshot_index + 1;
}

void PendingBatch::compact(std::uint64_t upto) {
  compact_upto_ = std::max(compact_upto_.value_or(0), upto);
}

namespace {

SegmentChunk new_chunk(std::uint64_t first_index) {
  SegmentChunk chunk;
  chunk.new_segment = true;
  chunk.first_index = first_index;
  chunk.bytes = encode_segment_header(first_index);
  return chunk;
}

// Whether `record_size` more bytes overflow the chunk's segment. A segment
// always takes at least one record, and never rolls at its own first index
// (the new file would have the same name).
bool must_roll(const SegmentChunk& chunk, std::uint64_t index, std::size_t record_size,
               std::uint64_t segment_bytes) {
  const std::uint64_t size = chunk.offset + chunk.bytes.size();
  return size > kSegmentHeaderBytes && size + record_size > segment_bytes &&
         index > chunk.first_index;
}

// The closed segments of the layout `segment_firsts` (after the plan's
// deletes and new chunks) that hold nothing above `upto`.
std::vector<std::uint64_t> compactable(const std::vector<std::uint64_t>& segment_firsts,
                                       std::uint64_t upto) {
  std::vector<std::uint64_t> out;
  for (std::size_t i = 0; i + 1 < segment_firsts.size(); ++i) {
    if (segment_firsts[i + 1] - 1 > upto) break;
    out.push_back(segment_firsts[i]);
  }
  return out;
}

// Segment first indexes once `plan` has run on `segment_firsts`.
std::vector<std::uint64_t> layout_after(const BatchPlan& plan,
                                        const std::vector<std::uint64_t>& segment_firsts) {
  std::vector<std::uint64_t> firsts;
  for (std::uint64_t first : segment_firsts) {
    if (std::find(plan.delete_segments.begin(), plan.delete_segments.end(), first) ==
        plan.delete_segments.end()) {
      firsts.push_back(first);
    }
  }
  for (const SegmentChunk& chunk : plan.chunks) {
    if (chunk.new_segment) firsts.push_back(chunk.first_index);
  }
  return firsts;
}

// Plans the new records (plan.chunks) and the deletes they need first.
void plan_entries(const PendingBatch& batch, const std::vector<std::uint64_t>& segment_firsts,
                  std::uint64_t active_bytes, std::uint64_t segment_bytes, BatchPlan* out) {
  BatchPlan& plan = *out;
  if (batch.is_reset()) {
    plan.reset = true;
    plan.delete_segments.assign(segment_firsts.rbegin(), segment_firsts.rend());
  }
  if (batch.tail().empty()) return;
  const std::uint64_t first = batch.tail().front()->index();
  SegmentChunk chunk;
  if (batch.is_reset()) {
    chunk = new_chunk(first);
  } else if (segment_firsts.empty() || first < segment_firsts.back()) {
    for (auto it = segment_firsts.rbegin(); it != segment_firsts.rend(); ++it) {
      if (*it >= first) plan.delete_segments.push_back(*it);
    }
    chunk = new_chunk(first);
  } else {
    // Append to the active segment; a first index <= its last record is an
    // in-band truncation that recovery applies.
    chunk.first_index = segment_firsts.back();
    chunk.offset = active_bytes;
  }
  // One allocation for the batch's records instead of one per doubling:
  // every large allocation makes malloc consolidate its fast bins (1-2% of
  // a follower's CPU in profiles, issue 7). Sizes are cached for the loop.
  std::uint64_t record_bytes = 0;
  for (const SharedEntry& shared : batch.tail()) record_bytes += entry_record_size(*shared);
  chunk.bytes.reserve(chunk.bytes.size() + std::min(record_bytes, segment_bytes));
  for (const SharedEntry& shared : batch.tail()) {
    const pb::Entry& entry = *shared;
    if (must_roll(chunk, entry.index(), entry_record_size(entry), segment_bytes)) {
      plan.chunks.push_back(std::move(chunk));
      chunk = new_chunk(entry.index());
    }
    append_entry_record(entry, &chunk.bytes);
    ++chunk.entries;
    ++plan.entries;
  }
  plan.chunks.push_back(std::move(chunk));
}

}  // namespace

BatchPlan plan_batch(const PendingBatch& batch, const std::vector<std::uint64_t>& segment_firsts,
                     std::uint64_t active_bytes, std::uint64_t segment_bytes) {
  BatchPlan plan;
  plan.hard_state = batch.hard_state();
  plan_entries(batch, segment_firsts, active_bytes, segment_bytes, &plan);
  if (batch.compact_upto()) {
    plan.compact_segments = compactable(layout_after(plan, segment_firsts), *batch.compact_upto());
  }
  return plan;
}

}  // namespace raftkv::storage
