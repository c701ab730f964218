// RaftNode's side of the disk watchdog (disk_watchdog.h): on every tick,
// read the log's state; while the disk is full or stuck, refuse new client
// writes (submit_write) and, when leading, hand leadership to the most
// up-to-date voter through the ordinary transfer.
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

// The recently active voter with the longest replicated log: it needs the
// least catching up before it can take over (and is likeliest to win).
core::NodeId RaftNode::handoff_target(const core::Status& status) const {
  core::NodeId best = core::kNoNode;
  core::Index best_match = 0;
  for (const core::PeerStatus& peer : status.peers) {
    if (peer.id == config_.node_id || !peer.recently_active) continue;
    if (std::find(status.voters.begin(), status.voters.end(), peer.id) == status.voters.end()) {
      continue;
    }
    if (best == core::kNoNode || peer.match > best_match) {
      best = peer.id;
      best_match = peer.match;
    }
  }
  return best;
}

}  // namespace raftkv::daemon
