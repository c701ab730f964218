// A member's simulated state machine, and the snapshots taken of it.
//
// The state is summarised by the index applied last and a hash chained over
// every entry applied, in order (chain_hash, the same chain as a log's prefix
// hash): a state machine built by applying the committed log up to i has
// exactly the committed prefix hash at i. That makes "this state equals the
// one built from the committed log" an O(1) comparison, for a member after
// each apply and for every snapshot taken, stored or installed.
#pragma once

#include <cstdint>

#include "raft.pb.h"
#include "shadow_log.h"

namespace raftkv::sim {

struct StateMachine {
  Index applied = 0;
  std::uint64_t hash = 0;

  void apply(const pb::Entry& e) {
    applied = e.index();
    hash = chain_hash(hash, e);
  }
};

// A snapshot as a member stores and sends it: the core's metadata and the
// state machine it holds.
struct Snapshot {
  pb::SnapshotMeta meta;
  StateMachine state;
};

}  // namespace raftkv::sim
