// Roles, timeouts and elections: Raft §5.2 (election), §5.4.1 (election
// restriction), thesis §9.6 (pre-vote), §6.2 (check-quorum) and §4.2.3
// (leader stickiness).
#include <utility>

#include "core/state.h"

namespace raftkv::core {

void Core::State::reset_election_timer() {
  election_elapsed = 0;
  const int base = opts.election_ticks > 0 ? opts.election_ticks : 1;
  // Uniform in [election_ticks, 2 * election_ticks) (§5.2: split votes are
  // rare when timeouts differ).
  randomized_timeout = base + static_cast<int>(rng.below(static_cast<std::uint64_t>(base)));
}

// Leader stickiness: we heard from a live leader within the minimum election
// timeout, so a vote request can only come from a disruptive member.
bool Core::State::in_lease() const {
  return opts.check_quorum && leader != kNoNode && election_elapsed < opts.election_ticks;
}

void Core::State::tick_election() {
  ++election_elapsed;
  if (!promotable() || election_elapsed < randomized_timeout) return;
  // A candidate whose election timed out goes back to pre-vote: a member cut
  // off right after its pre-vote succeeded must not bump its term forever
  // (canonical/raft#196).
  campaign(opts.pre_vote ? Campaign::kPreVote : Campaign::kElection);
}

void Core::State::tick_leader() {
  ++heartbeat_elapsed;
  ++election_elapsed;
  if (transfer_target != kNoNode && ++transfer_elapsed >= opts.election_ticks) abort_transfer();
  tick_stalls();
  tick_promotions();
  tick_departures();
  if (election_elapsed >= opts.election_ticks) {
    election_elapsed = 0;
    // Check-quorum (thesis §6.2): a leader cut off from a majority steps
    // down, so that its clients retry elsewhere and it stops serving reads.
    if (opts.check_quorum && !quorum_active()) {
      become_follower(term, kNoNode);
      return;
    }
  }
  if (heartbeat_elapsed >= opts.heartbeat_ticks) {
    heartbeat_elapsed = 0;
    broadcast_heartbeat();
  }
}

// Whether a majority (self included) was heard from since the last check;
// starts a new observation period.
bool Core::State::quorum_active() {
  std::map<NodeId, bool> active;
  active[id] = true;
  for (auto& [peer, pr] : progress) {
    if (pr.recently_active) active[peer] = true;
    pr.recently_active = false;
  }
  return config.tally(active) == VoteResult::kWon;
}

void Core::State::set_term(Term new_term) {
  if (new_term == term) return;
  term = new_term;
  vote = kNoNode;
  hard_state_dirty = true;
}

void Core::State::set_leader(NodeId new_leader) {
  if (new_leader == leader) return;
  // Forwarded reads were asked of the old leader: fail them rather than let a
  // late answer through (field notes 1.7). Unsent proposals are dropped and
  // reported: they never left this member.
  fail_all_reads();
  drop_forward_entries();
  leader = new_leader;
}

void Core::State::become_follower(Term new_term, NodeId new_leader) {
  const bool was_leader = role == Role::kLeader;
  set_term(new_term);
  if (role != Role::kFollower) fail_all_reads();
  role = Role::kFollower;
  set_leader(new_leader);
  reset_election_timer();
  votes.clear();
  if (was_leader) abort_transfer();
}

void Core::State::become_pre_candidate() {
  fail_all_reads();
  role = Role::kPreCandidate;  // term and vote stay: nothing to persist
  set_leader(kNoNode);
  reset_election_timer();
}

void Core::State::become_candidate() {
  fail_all_reads();
  set_term(term + 1);
  vote = id;
  hard_state_dirty = true;
  role = Role::kCandidate;
  set_leader(kNoNode);
  reset_election_timer();
}

// Raft §5.2 and §8: a new leader appends a no-op of its term, so that it
// can commit (and serve reads) without waiting for a client write.
void Core::State::become_leader() {
  role = Role::kLeader;
  set_leader(id);
  votes.clear();
  heartbeat_elapsed = 0;
  election_elapsed = 0;
  uncommitted_bytes = 0;
  read_round = 0;
  transfer_target = kNoNode;
  led_term = term;
  proposals_decided.clear();
  learners_watched.clear();
  departing.clear();
  sync_progress();
  for (auto& [peer, pr] : progress) {
    pr = Progress{};
    pr.become_probe(log.last_index() + 1);
  }
  pb::Entry noop;
  noop.set_type(pb::ENTRY_NOOP);
  noop.set_term(term);
  noop.set_index(log.last_index() + 1);
  log.append(std::move(noop));
  need_flush = true;
  maybe_commit();  // a one-member cluster commits once it persisted
}

void Core::State::campaign(Campaign kind) {
  if (!promotable()) return;
  const bool pre = kind == Campaign::kPreVote;
  if (pre) {
    become_pre_candidate();
  } else {
    become_candidate();
  }
  votes.clear();
  // Our own vote in a real election, for the term become_candidate() just
  // started, counts once durable (on_term_persisted).
  if (pre) votes[id] = true;
  // A pre-vote asks for the term we would use; it does not change ours.
  const Term asked = pre ? term + 1 : term;
  for (NodeId voter : config.voters()) {
    if (voter == id) continue;
    pb::Message m = message_to(voter);
    m.set_term(asked);
    auto* rv = m.mutable_request_vote();
    rv->set_last_log_index(log.last_index());
    rv->set_last_log_term(log.last_term());
    rv->set_pre_vote(pre);
    rv->set_leadership_transfer(kind == Campaign::kTransfer);
    // A real candidate's request implies its own vote, which must be durable.
    if (pre) {
      send(std::move(m));
    } else {
      send_after_persist(std::move(m));
    }
  }
  advance_election();  // a pre-vote of the sole voter wins at once
}

// Our vote for ourselves is durable: it counts now. Others' votes arrive
// only after it is (our requests leave after the write), so for them this
// changes nothing; the sole voter wins here, not before its term is safe.
void Core::State::on_term_persisted(Term t) {
  if (role != Role::kCandidate || t != term || votes.count(id)) return;
  votes[id] = true;
  advance_election();
}

// Acts on the votes counted so far.
void Core::State::advance_election() {
  switch (config.tally(votes)) {
    case VoteResult::kWon:
      if (role == Role::kPreCandidate) {
        campaign(Campaign::kElection);
      } else {
        become_leader();
      }
      return;
    case VoteResult::kLost:
      become_follower(term, kNoNode);
      return;
    case VoteResult::kPending:
      return;
  }
}

void Core::State::reject_vote(const pb::Message& m) {
  pb::Message reply = message_to(m.from());
  auto* r = reply.mutable_request_vote_response();
  r->set_granted(false);
  r->set_pre_vote(m.request_vote().pre_vote());
  send(std::move(reply));
}

// §5.2 / §5.4.1: one vote per term, only for a log at least as up to date.
// Pre-votes (thesis §9.6) apply the same test for term + 1 but record
// nothing. Reached with m.term() >= term (or a higher-term pre-vote).
void Core::State::handle_request_vote(const pb::Message& m) {
  const auto& rv = m.request_vote();
  const bool pre = rv.pre_vote();
  const bool can_vote =
      vote == m.from() || (vote == kNoNode && leader == kNoNode) || (pre && m.term() > term);
  if (!can_vote || !log_up_to_date(rv)) return reject_vote(m);

  pb::Message reply = message_to(m.from());
  // Answer with the term asked, not ours: a granted pre-vote for a higher
  // term must not look stale to the pre-candidate (etcd#8243).
  reply.set_term(m.term());
  auto* r = reply.mutable_request_vote_response();
  r->set_granted(true);
  r->set_pre_vote(pre);
  if (pre) return send(std::move(reply));

  vote = m.from();
  hard_state_dirty = true;
  election_elapsed = 0;
  // The grant promises a durable vote (unless the test fault forgets it).
  if (opts.faults.forget_to_persist_vote) {
    send(std::move(reply));
  } else {
    send_after_persist(std::move(reply));
  }
}

void Core::State::handle_vote_response(const pb::Message& m) {
  const auto& r = m.request_vote_response();
  if (r.pre_vote()) {
    // Grants come with term + 1, rejections with the voter's term (a higher
    // one already made us a follower in check_term).
    if (role != Role::kPreCandidate || (r.granted() && m.term() != term + 1)) return;
  } else if (role != Role::kCandidate || m.term() != term) {
    return;
  }
  votes.emplace(m.from(), r.granted());
  advance_election();
}

}  // namespace raftkv::core
