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
//
// Snapshots: after an install (or a restart from a snapshot) the log begins
// after a base point (index, term, prefix hash of the snapshot's state), as
// the core's does. Compaction after a snapshot is not mirrored: the entries
// it drops are committed, and keeping them changes no check.
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
  // The base point: 0 without a snapshot.
  Index base() const { return base_; }
  Index last() const { return base_ + entries_.size(); }
  // Whether the entry at `i` is held (base < i <= last).
  bool holds(Index i) const { return i > base_ && i <= last(); }
  const pb::Entry& at(Index i) const { return entries_[i - base_ - 1]; }
  // The term at `i` (the base's at the base; 0 where unknown).
  Term term_at(Index i) const { return i == base_ ? base_term_ : holds(i) ? at(i).term() : 0; }
  // The hash of the prefix up to `i`, for base() <= i <= last().
  std::uint64_t prefix_hash(Index i) const {
    return i == base_ ? base_hash_ : hashes_[i - base_ - 1];
  }

  // Writes `entries` (contiguous, ascending), first truncating the log to
  // entries.front().index() - 1. Returns false, writing nothing, when the
  // batch is not contiguous, would leave a gap or starts at or below base().
  bool write(const std::vector<pb::Entry>& entries);

  // Replaces the whole log (recovery from disk without a snapshot).
  void reset(const std::vector<pb::Entry>& entries);
  // Replaces the whole log with one after a snapshot's point, skipping the
  // entries at or below it as the core does (and all of them if the entry
  // at the point has another term).
  void reset(Index base, Term base_term, std::uint64_t base_hash,
             const std::vector<pb::Entry>& entries);

 private:
  void push(const pb::Entry& e);

  Index base_ = 0;
  Term base_term_ = 0;
  std::uint64_t base_hash_ = 0;
  std::vector<pb::Entry> entries_;
  std::vector<std::uint64_t> hashes_;
};

// True when a and b are the same entry (term, type and payload).
bool same_entry(const pb::Entry& a, const pb::Entry& b);

// A hash of one entry's term, index, type and payload.
std::uint64_t entry_hash(const pb::Entry& e);

// The prefix hash after `e`, given the one before it: the chain shared by
// logs (ShadowLog) and state machines (StateMachine), so that a state built
// from the committed prefix up to i hashes like that prefix.
std::uint64_t chain_hash(std::uint64_t prefix, const pb::Entry& e);

}  // namespace raftkv::sim
