// RaftNode's side of the disk watchdog (disk_watchdog.h): on every tick,
// read the log's state; while the disk is full or stuck, refuse new client
// writes (submit_write) and, when leading, hand leadership to the most
// up-to-date voter through the ordinary transfer.
#include <algorithm>
#include <utility>

#include "daemon/raft_node.h"
#include "util/log.h"

namespace raftkv::daemon {

void RaftNode::watch_disk() {
  const std::uint64_t now = now_ms();
  if (!disk_watchdog_.check(now, wal_->disk_full(), wal_->in_flight_since_ms())) return;
  if (shutting_down_ || !fatal_error_.empty()) return;
  const core::Status status = core_->status();
  if (status.role != core::Role::kLeader) return;
  const core::NodeId target = handoff_target(status);
  bool started = false;
  if (target == core::kNoNode) {
    if (disk_watchdog_.first_attempt())
      RKV_WARN("disk", "disk %s: no other voter to hand leadership to",
               disk_state_name(disk_watchdog_.state()));
  } else {
    started = core_->transfer_leadership(target) == core::TransferResult::kStarted;
    RKV_WARN("disk", "disk %s: handing leadership to member %llu%s",
             disk_state_name(disk_watchdog_.state()), static_cast<unsigned long long>(target),
             started ? "" : " (refused by the core)");
  }
  disk_watchdog_.note_handoff(now, started);
}

// The voter with the longest replicated log: it needs the least catching up
// before it can take over (and is likeliest to win); among equals one heard
// from recently. Not only recently active ones: the core clears that flag
// at every check-quorum round, so at some ticks no peer has it.
core::NodeId RaftNode::handoff_target(const core::Status& status) const {
  core::NodeId best = core::kNoNode;
  std::pair<core::Index, bool> best_rank{0, false};
  for (const core::PeerStatus& peer : status.peers) {
    if (peer.id == config_.node_id) continue;
    if (std::find(status.voters.begin(), status.voters.end(), peer.id) == status.voters.end()) {
      continue;
    }
    const std::pair<core::Index, bool> rank{peer.match, peer.recently_active};
    if (best == core::kNoNode || rank > best_rank) {
      best = peer.id;
      best_rank = rank;
    }
  }
  return best;
}

}  // namespace raftkv::daemon
