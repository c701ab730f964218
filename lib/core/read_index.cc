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
#include <algorithm>
#include <span>
#include <utility>

#include "core/state.h"

namespace raftkv::core {

bool Core::State::committed_in_term() const {
  return log.term_at(commit) == term;
}

namespace {

// Adds `ids` to the queue's last batch when it has the same asker and read
// index (they are then answered alike), else as a new batch: a burst of
// local reads allocates one ids vector per round, not one per read.
void queue_reads(std::deque<PendingRead>& queue, NodeId from, Index index,
                 std::span<const std::uint64_t> ids) {
  if (!queue.empty() && queue.back().from == from && queue.back().index == index) {
    queue.back().ids.insert(queue.back().ids.end(), ids.begin(), ids.end());
    return;
  }
  queue.push_back(PendingRead{from, {ids.begin(), ids.end()}, index, 0});
}

// The first outstanding read whose id is not below `id` (the deque is
// sorted). A template: State::OutstandingRead is private to the core.
template <class Reads>
auto find_outstanding_read(Reads& reads, std::uint64_t id) {
  return std::lower_bound(reads.begin(), reads.end(), id,
                          [](const auto& read, std::uint64_t v) { return read.id < v; });
}

}  // namespace

ReadResult Core::State::read_index(std::uint64_t request_id) {
  if (role == Role::kLeader) {
    add_leader_reads(id, std::span(&request_id, 1));
    return ReadResult::kAccepted;
  }
  if (leader == kNoNode) return ReadResult::kNoLeader;
  forward_reads.push_back(request_id);  // sent to the leader by ready()
  return ReadResult::kAccepted;
}

void Core::State::add_leader_reads(NodeId from, std::span<const std::uint64_t> ids) {
  if (!committed_in_term()) {
    queue_reads(reads_awaiting_commit, from, 0, ids);
    return;
  }
  // Alone, or with the unsafe fault: no round needed (the fault skips the
  // proof of leadership that a deposed leader would fail).
  const bool sole_voter = config.voters().size() == 1 && config.is_voter(id);
  if (sole_voter || opts.faults.read_index_without_heartbeat) {
    serve_read(from, commit, ids);
    return;
  }
  queue_reads(reads_unsent, from, commit, ids);
}

// Called when the leader's commit first reaches an entry of its term.
void Core::State::on_term_committed() {
  auto waiting = std::move(reads_awaiting_commit);
  reads_awaiting_commit.clear();
  for (const auto& read : waiting) add_leader_reads(read.from, read.ids);
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

// Whether a majority of the voters (self included) has echoed `round`.
// Counted directly, without collecting every voter's round in a vector:
// this runs on every heartbeat answer.
bool Core::State::round_confirmed(std::uint64_t round) const {
  std::size_t echoed = 0;
  for (NodeId voter : config.voters()) {
    if (voter == id) {
      echoed += read_round >= round ? 1 : 0;
    } else if (auto it = progress.find(voter); it != progress.end()) {
      echoed += it->second.read_round_acked >= round ? 1 : 0;
    }
  }
  return echoed >= config.quorum();
}

// Serves every read whose round a majority has echoed. reads_in_round is
// ordered by round and a voter's echo of a round covers every earlier one,
// so serving stops at the first round not yet confirmed.
void Core::State::release_reads() {
  while (!reads_in_round.empty() && round_confirmed(reads_in_round.front().round)) {
    const PendingRead& read = reads_in_round.front();
    serve_read(read.from, read.index, read.ids);
    reads_in_round.pop_front();
  }
}

void Core::State::serve_read(NodeId from, Index index, std::span<const std::uint64_t> ids) {
  if (from == id) {
    // Every Ready starts with an empty reads vector: room for a typical
    // batch at once, not growth by doubling from one read (alone, each read
    // is served on its own call).
    if (out.reads.capacity() < out.reads.size() + ids.size()) {
      out.reads.reserve(std::max<std::size_t>(2 * out.reads.size() + ids.size(), 16));
    }
    for (std::uint64_t read_id : ids) out.reads.push_back(ReadState{read_id, index});
    return;
  }
  pb::Message m = message_to(from);
  auto* r = m.mutable_read_index_response();
  r->mutable_request_ids()->Add(ids.begin(), ids.end());
  r->set_read_index(index);
  send(std::move(m));
}

// Follower: one ReadIndexRequest for every read asked since the last
// ready(), and each id remembered with the leader asked.
void Core::State::send_forward_reads() {
  pb::Message m = message_to(leader);
  auto* r = m.mutable_read_index_request();
  r->mutable_request_ids()->Add(forward_reads.begin(), forward_reads.end());
  for (std::uint64_t read_id : forward_reads) {
    const OutstandingRead read{read_id, leader, ticks};
    // Ids normally grow (the daemon numbers them from a counter); any other
    // order still keeps the deque sorted.
    if (outstanding_reads.empty() || outstanding_reads.back().id < read_id) {
      outstanding_reads.push_back(read);
      continue;
    }
    const auto it = find_outstanding_read(outstanding_reads, read_id);
    if (it != outstanding_reads.end() && it->id == read_id) {
      *it = read;  // the same id again: as a map's insert, keep one
      continue;
    }
    outstanding_reads.insert(it, read);
  }
  forward_reads.clear();
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
  for (const OutstandingRead& read : outstanding_reads) out.failed_reads.push_back(read.id);
  outstanding_reads.clear();
}

// A follower's read whose request or answer was lost (a dropped connection
// loses what it carried) would otherwise wait until the leader changes,
// however long the leader lives. A leader that is alive answers within a
// heartbeat round, so after two election timeouts the read fails instead: a
// read has no effect, so failing is a definite answer, and a late answer is
// ignored like any unknown id. The front is the oldest read when ids grow
// with time (the daemon's do); any other order only delays some expiries.
void Core::State::expire_outstanding_reads() {
  const auto limit = 2 * static_cast<std::uint64_t>(opts.election_ticks);
  while (!outstanding_reads.empty() && ticks - outstanding_reads.front().asked_at >= limit) {
    out.failed_reads.push_back(outstanding_reads.front().id);
    outstanding_reads.pop_front();
  }
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
  const std::span<const std::uint64_t> read_ids(ids.data(), static_cast<std::size_t>(ids.size()));
  const bool asker_confirms = opts.faults.read_index_asker_always_confirms ||
                              (m.term() == term && asker_completes_quorum(m.from()));
  if (asker_confirms && committed_in_term()) {
    serve_read(m.from(), commit, read_ids);
    return;
  }
  add_leader_reads(m.from(), read_ids);
}

// Whether a voter's ReadIndexRequest of our term, with us, already proves
// what a heartbeat round would: with 2 or 3 voters (quorum 2) the asker and
// we are a majority. The asker sent the request after its reads arrived
// (t0), while still in our term. A leader of a later term elected before t0
// had the votes of a majority, so of the asker or of us: the asker would
// then have been in that later term when it sent, and we would have stepped
// down. So every write acknowledged before t0 was committed in a term up to
// ours, and our commit index covers it once it holds an entry of our term.
// A request of an earlier term proves nothing, and in larger configurations
// the two of us are no majority: those reads wait for a heartbeat round.
bool Core::State::asker_completes_quorum(NodeId asker) const {
  return config.quorum() == 2 && config.is_voter(id) && config.is_voter(asker);
}

void Core::State::handle_read_index_response(const pb::Message& m) {
  // Only the leader we asked, in this term; anything else was already failed.
  if (role != Role::kFollower || m.from() != leader) return;
  const auto& r = m.read_index_response();
  for (std::uint64_t read_id : r.request_ids()) {
    const auto it = find_outstanding_read(outstanding_reads, read_id);
    if (it == outstanding_reads.end() || it->id != read_id || it->leader != m.from()) continue;
    outstanding_reads.erase(it);  // usually at or near the front: cheap in a deque
    if (r.rejected()) {
      out.failed_reads.push_back(read_id);
    } else {
      out.reads.push_back(ReadState{read_id, r.read_index()});
    }
  }
}

}  // namespace raftkv::core
