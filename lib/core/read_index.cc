// Linearizable reads without writing the log: ReadIndex (thesis §6.4).
//
// The leader records its commit index as the read's index, then proves it
// is still the leader by a heartbeat round a majority answers. Rounds are
// numbered (read_round): every read waiting when a round is sent is served
// by that round, so a burst of reads costs one heartbeat. A new leader does
// not know the latest commit index until it commits an entry of its own
// term (its no-op), so reads wait for that first.
//
// Failure rule: a read is answered exactly once, by a ReadState, by a
// ReadIndexResponse, or by being listed in Ready::failed_reads (rejected on
// leader or leader changes) -- never later with a stale index.
#include <utility>

#include "core/state.h"

namespace raftkv::core {

bool Core::State::committed_in_term() const {
  return log.term_at(commit) == term;
}

ReadResult Core::State::read_index(std::uint64_t request_id) {
  if (role == Role::kLeader) {
    add_leader_read(PendingRead{id, {request_id}, 0, 0});
    return ReadResult::kAccepted;
  }
  if (leader == kNoNode) return ReadResult::kNoLeader;
  forward_reads.push_back(request_id);  // sent to the leader by ready()
  return ReadResult::kAccepted;
}

void Core::State::add_leader_read(PendingRead read) {
  if (!committed_in_term()) {
    reads_awaiting_commit.push_back(std::move(read));
    return;
  }
  read.index = commit;
  // Alone, or with the unsafe fault: no round needed (the fault skips the
  // proof of leadership that a deposed leader would fail).
  const bool sole_voter = config.voters().size() == 1 && config.is_voter(id);
  if (sole_voter || opts.faults.read_index_without_heartbeat) {
    serve_read(read);
    return;
  }
  reads_unsent.push_back(std::move(read));
}

// Called when the leader's commit first reaches an entry of its term.
void Core::State::on_term_committed() {
  auto waiting = std::move(reads_awaiting_commit);
  reads_awaiting_commit.clear();
  for (auto& read : waiting) add_leader_read(std::move(read));
}

// Starts a round for every read not yet in one and announces it at once.
void Core::State::start_read_round() {
  ++read_round;
  for (auto& read : reads_unsent) {
    read.round = read_round;
    reads_in_round.push_back(std::move(read));
  }
  reads_unsent.clear();
  broadcast_heartbeat();
  release_reads();
}

void Core::State::ack_read_round(Progress& pr, std::uint64_t round) {
  if (round <= pr.read_round_acked) return;
  pr.read_round_acked = round;
  release_reads();
}

// Serves every read whose round a majority (self included) has echoed.
void Core::State::release_reads() {
  if (reads_in_round.empty()) return;
  std::vector<std::uint64_t> rounds;
  for (NodeId voter : config.voters()) {
    if (voter == id) {
      rounds.push_back(read_round);
    } else if (auto it = progress.find(voter); it != progress.end()) {
      rounds.push_back(it->second.read_round_acked);
    }
  }
  const std::uint64_t confirmed = config.quorum_value(std::move(rounds));
  while (!reads_in_round.empty() && reads_in_round.front().round <= confirmed) {
    serve_read(reads_in_round.front());
    reads_in_round.pop_front();
  }
}

void Core::State::serve_read(PendingRead& read) {
  if (read.from == id) {
    for (std::uint64_t read_id : read.ids) out.reads.push_back(ReadState{read_id, read.index});
    return;
  }
  pb::Message m = message_to(read.from);
  auto* r = m.mutable_read_index_response();
  for (std::uint64_t read_id : read.ids) r->add_request_ids(read_id);
  r->set_read_index(read.index);
  send(std::move(m));
}

// Leadership or leader changed: every read in progress fails, on the leader
// (locally, or by a rejection to the asking follower) and on a follower.
void Core::State::fail_all_reads() {
  for (auto* queue : {&reads_awaiting_commit, &reads_unsent, &reads_in_round}) {
    for (auto& read : *queue) {
      if (read.from == id) {
        out.failed_reads.insert(out.failed_reads.end(), read.ids.begin(), read.ids.end());
        continue;
      }
      pb::Message m = message_to(read.from);
      auto* r = m.mutable_read_index_response();
      for (std::uint64_t read_id : read.ids) r->add_request_ids(read_id);
      r->set_rejected(true);
      send(std::move(m));
    }
    queue->clear();
  }
  out.failed_reads.insert(out.failed_reads.end(), forward_reads.begin(), forward_reads.end());
  forward_reads.clear();
  for (const auto& [read_id, asked] : outstanding_reads) out.failed_reads.push_back(read_id);
  outstanding_reads.clear();
}

void Core::State::handle_read_index_request(const pb::Message& m) {
  const auto& ids = m.read_index_request().request_ids();
  if (role != Role::kLeader) {
    pb::Message reply = message_to(m.from());
    auto* r = reply.mutable_read_index_response();
    r->mutable_request_ids()->CopyFrom(ids);
    r->set_rejected(true);
    return send(std::move(reply));
  }
  if (auto it = progress.find(m.from()); it != progress.end()) it->second.recently_active = true;
  add_leader_read(PendingRead{m.from(), {ids.begin(), ids.end()}, 0, 0});
}

void Core::State::handle_read_index_response(const pb::Message& m) {
  // Only the leader we asked, in this term; anything else was already failed.
  if (role != Role::kFollower || m.from() != leader) return;
  const auto& r = m.read_index_response();
  for (std::uint64_t read_id : r.request_ids()) {
    auto it = outstanding_reads.find(read_id);
    if (it == outstanding_reads.end() || it->second != m.from()) continue;
    outstanding_reads.erase(it);
    if (r.rejected()) {
      out.failed_reads.push_back(read_id);
    } else {
      out.reads.push_back(ReadState{read_id, r.read_index()});
    }
  }
}

}  // namespace raftkv::core
