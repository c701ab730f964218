#include "storage/batch.h"

#include <cerrno>

#include "storage/record.h"
#include "storage/segment.h"

namespace raftkv::storage {

int PendingBatch::add(std::optional<pb::HardState> hard_state, std::vector<pb::Entry>&& entries) {
  for (std::size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].index() != entries[i - 1].index() + 1) return -EINVAL;
  }
  if (!entries.empty()) {
    const std::uint64_t first = entries.front().index();
    if (first == 0 || first > last_index() + 1) return -EINVAL;
    if (first <= keep_) {
      // Reaches into the log as it was before this batch: truncate there.
      keep_ = first - 1;
      tail_.clear();
    } else {
      tail_.resize(first - keep_ - 1);  // drop this batch's own overwritten suffix
    }
    for (pb::Entry& entry : entries) tail_.push_back(std::move(entry));
  }
  if (hard_state) hard_state_ = std::move(hard_state);
  return 0;
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

}  // namespace

BatchPlan plan_batch(const PendingBatch& batch, const std::vector<std::uint64_t>& segment_firsts,
                     std::uint64_t active_bytes, std::uint64_t segment_bytes) {
  BatchPlan plan;
  plan.hard_state = batch.hard_state();
  if (batch.tail().empty()) return plan;
  const std::uint64_t first = batch.tail().front().index();
  SegmentChunk chunk;
  if (segment_firsts.empty() || first < segment_firsts.back()) {
    for (std::uint64_t segment : segment_firsts) {
      if (segment >= first) plan.delete_segments.push_back(segment);
    }
    chunk = new_chunk(first);
  } else {
    // Append to the active segment; a first index <= its last record is an
    // in-band truncation that recovery applies.
    chunk.first_index = segment_firsts.back();
    chunk.offset = active_bytes;
  }
  std::string record;
  for (const pb::Entry& entry : batch.tail()) {
    record.clear();
    append_entry_record(entry, &record);
    if (must_roll(chunk, entry.index(), record.size(), segment_bytes)) {
      plan.chunks.push_back(std::move(chunk));
      chunk = new_chunk(entry.index());
    }
    chunk.bytes += record;
    ++chunk.entries;
    ++plan.entries;
  }
  plan.chunks.push_back(std::move(chunk));
  return plan;
}

}  // namespace raftkv::storage
