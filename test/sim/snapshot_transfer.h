// Snapshot transfers between members: the daemon's chunked, resumable
// stream of a snapshot file, modelled as one delay.
//
// When a member's core emits an InstallSnapshot, its driver starts sending
// the snapshot it holds (the metadata travels with the data, like the
// chunk stream's last chunk). The transfer takes a network delay plus a time
// proportional to the snapshot's size (its index), as long as it takes: no
// timeout ends it. It breaks when either member crashes meanwhile, when the
// link between them is cut at its end, or at random during the chaos phase.
// On success the receiver's driver steps the InstallSnapshot with the data
// (sometimes twice: a retransmitted last chunk) and then the sender hears
// report_snapshot(ok = true); on failure the sender (if it is still the
// same incarnation) hears report_snapshot(ok = false).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "member.h"
#include "state_machine.h"
#include "world.h"

namespace raftkv::sim {

class SnapshotTransfers {
 public:
  SnapshotTransfers(World& world, std::vector<std::unique_ptr<Member>>& members);

  // `from` emitted the InstallSnapshot `message`: send it its stored snapshot.
  void start(Member& from, const pb::Message& message);
  // The transfer parked in `slot` ends (EventKind::kTransferDone).
  void finish(std::uint64_t slot);

 private:
  struct Transfer {
    pb::Message message;
    Snapshot snapshot;
    std::uint64_t from_incarnation = 0;
    std::uint64_t to_incarnation = 0;
    bool to_was_up = false;
    bool breaks = false;
  };

  World& world_;
  std::vector<std::unique_ptr<Member>>& members_;
  std::vector<Transfer> slots_;
  std::vector<std::uint64_t> free_;
};

}  // namespace raftkv::sim
