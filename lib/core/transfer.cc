// Leadership transfer (thesis §3.10): the leader stops accepting proposals,
// brings the target's log up to date, then sends it TimeoutNow; the target
// starts an election at once (no pre-vote, its votes flagged to bypass
// leader stickiness). If that has not happened within an election timeout
// the transfer is abandoned and proposals flow again.
#include "core/state.h"

namespace raftkv::core {

TransferResult Core::State::transfer_leadership(NodeId target) {
  if (role != Role::kLeader) return TransferResult::kNotLeader;
  if (target == id) return TransferResult::kAlreadyLeader;
  if (!config.is_voter(target)) return TransferResult::kUnknownTarget;
  if (target != transfer_target) {
    transfer_target = target;
    transfer_elapsed = 0;
    timeout_now_sent = false;
  }
  // Catch the target up. Streamed messages may have been lost (only the
  // stall timer would notice, after an election timeout, as long as the
  // transfer lasts): resend from its match.
  auto& pr = progress.at(target);
  if (pr.match < log.last_index() && pr.mode == Progress::Mode::kReplicate) {
    pr.become_probe(pr.match + 1);
  }
  need_flush = true;
  maybe_send_timeout_now();
  return TransferResult::kStarted;
}

void Core::State::maybe_send_timeout_now() {
  if (transfer_target == kNoNode || timeout_now_sent) return;
  auto it = progress.find(transfer_target);
  if (it == progress.end() || it->second.match < log.last_index()) return;
  pb::Message m = message_to(transfer_target);
  m.mutable_timeout_now();
  send(std::move(m));
  timeout_now_sent = true;
}

void Core::State::abort_transfer() {
  transfer_target = kNoNode;
  transfer_elapsed = 0;
  timeout_now_sent = false;
}

void Core::State::handle_timeout_now(const pb::Message& m) {
  if (role != Role::kFollower || m.from() != leader) return;
  campaign(Campaign::kTransfer);
}

}  // namespace raftkv::core
