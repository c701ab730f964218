// A member's Raft log as the simulator sees it.
//
// The core exposes no accessor for its log (see docs/simulation.md, "API
// gaps"), but the driver contract makes every append visible: each entry the
// core adds arrives in Ready::entries, and a conflicting suffix is replaced by
// entries that start at or below the last index. Replaying those writes gives
// the core's in-memory log exactly; after a crash it is reset to the disk.
//
// Each position also carries a hash of the whole prefix up to it, so Log
// Matching can be checked in O(1) per entry instead of comparing logs.
#pragma once

#include <cstdint>
#include <vector>

#include "core/types.h"
#include "raft.pb.h"

namespace raftkv::sim {

using core::Index;
using core::Term;

class ShadowLog {
 public:
  Index last() const { return entries_.size(); }
  const pb::Entry& at(Index i) const { return entries_[i - 1]; }
  Term term_at(Index i) const { return i == 0 || i > last() ? 0 : at(i).term(); }
  std::uint64_t prefix_hash(Index i) const { return i == 0 ? 0 : hashes_[i - 1]; }

  // Writes `entries` (contiguous, ascending), first truncating the log to
  // entries.front().index() - 1. Returns false, writing nothing, when the
  // batch is not contiguous or would leave a gap.
  bool write(const std::vector<pb::Entry>& entries);

  // Replaces the whole log (recovery from disk).
  void reset(const std::vector<pb::Entry>& entries);

 private:
  void push(const pb::Entry& e);

  std::vector<pb::Entry> entries_;
  std::vector<std::uint64_t> hashes_;
};

// True when a and b are the same entry (term, type and payload).
bool same_entry(const pb::Entry& a, const pb::Entry& b);

// A hash of one entry's term, index, type and payload.
std::uint64_t entry_hash(const pb::Entry& e);

}  // namespace raftkv::sim
