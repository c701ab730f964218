// Core's public methods, the term rules shared by every message (Raft §5.1),
// dispatch per message type, and the assembly of Ready.
#include "core/core.h"

#include <algorithm>
#include <utility>

#include "core/state.h"

namespace raftkv::core {

Core::State::State(Options options, PersistentState persistent)
    : opts(std::move(options)), id(opts.id), config(opts.voters, {}), rng(opts.seed) {
  const pb::HardState& hs = persistent.hard_state;
  term = hs.term();
  vote = hs.voted() ? hs.vote() : kNoNode;
  if (persistent.snapshot) {
    restore_snapshot(*persistent.snapshot, std::move(persistent.entries));
  } else {
    log.restore(std::move(persistent.entries));
  }
  // Everything recovered is durable. Commit starts at the snapshot (the
  // driver loaded the state machine from it), or 0, and is relearned.
  persisted = log.last_index();
  unstable_from = log.last_index() + 1;
  applying = applied = log.compacted_index();
  commit = log.compacted_index();
  init_membership();
  reset_election_timer();
  last_soft = soft_state();
  // From a generator of its own (election timeouts stay as they were), also
  // seeded with what we recovered: a driver that reuses a seed for a new
  // incarnation still gets a new session once the disk has changed.
  Rng session_rng(opts.seed ^ 0x70726f706f736531 ^ (term << 1) ^ (log.last_index() << 17) ^
                  (log.last_term() << 40));
  propose_session = session_rng.next();
}

pb::Message Core::State::message_to(NodeId to) const {
  pb::Message m;
  m.set_from(id);
  m.set_to(to);
  m.set_term(term);
  return m;
}

void Core::State::step(pb::Message&& m) {
  if (m.to() != id || m.from() == id || ignores(m)) return;
  if (!check_term(m)) return;
  switch (m.body_case()) {
    case pb::Message::kRequestVote:
      return handle_request_vote(m);
    case pb::Message::kRequestVoteResponse:
      return handle_vote_response(m);
    case pb::Message::kAppendEntries:
      return handle_append_entries(std::move(m));
    case pb::Message::kAppendEntriesResponse:
      return handle_append_response(m);
    case pb::Message::kTimeoutNow:
      return handle_timeout_now(m);
    case pb::Message::kReadIndexRequest:
      return handle_read_index_request(m);
    case pb::Message::kReadIndexResponse:
      return handle_read_index_response(m);
    case pb::Message::kPropose:
      return handle_propose(std::move(m));
    case pb::Message::kProposeResponse:
      return handle_propose_response(m);
    case pb::Message::kInstallSnapshot:
      return handle_install_snapshot(m);
    case pb::Message::kSnapshotChunk:
    case pb::Message::kSnapshotChunkAck:
      return;  // the drivers' transfer of snapshot files, not Raft's business
    case pb::Message::BODY_NOT_SET:
      return;
  }
}

// Raft §5.1: a higher term makes us a follower of that term; a lower term
// marks a stale message. Returns whether the message should be handled.
bool Core::State::check_term(const pb::Message& m) {
  if (m.term() > term) {
    if (m.has_request_vote()) {
      const auto& rv = m.request_vote();
      // Leader stickiness (thesis §4.2.3): while we hear from a leader, a
      // (pre-)vote must not even bump our term, or a rejoining member would
      // depose a healthy leader. A transfer's vote is wanted by the leader.
      if (!rv.leadership_transfer() && in_lease()) {
        reject_vote(m);
        return false;
      }
      // A pre-vote carries the term the sender would use; it changes nothing.
      if (rv.pre_vote()) return true;
    } else if (m.has_request_vote_response() && m.request_vote_response().pre_vote() &&
               m.request_vote_response().granted()) {
      // A granted pre-vote is answered with the term we asked for (term + 1).
      return true;
    }
    const bool from_leader =
        m.has_append_entries() || m.has_timeout_now() || m.has_install_snapshot();
    const int elapsed = election_elapsed;
    become_follower(m.term(), from_leader ? m.from() : kNoNode);
    // Figure 2: a follower's election timer restarts on its leader's
    // AppendEntries or on granting a vote (handle_request_vote), not on a
    // higher term alone. A candidate whose log is behind cannot win, yet its
    // RequestVotes would otherwise keep restarting the timers of the members
    // that can, so that it campaigns first again every round (sim seed
    // 219754 without pre-vote: no leader for 19 election timeouts).
    if (m.has_request_vote()) election_elapsed = elapsed;
    return true;
  }
  if (m.term() < term) {
    answer_stale(m);
    // Proposals and read requests are not bound to a term: a leader serves
    // them whatever the sender believes (its answer updates the sender). A
    // refused proposal stays refused whatever the term.
    return m.has_propose() || m.has_read_index_request() || m.has_propose_response();
  }
  return true;
}

// Answers to messages from an earlier term, so that their senders learn the
// current term instead of stalling (etcd#8243, canonical/raft#279): a stale
// leader steps down, a stale (pre-)candidate catches up on the term.
void Core::State::answer_stale(const pb::Message& m) {
  if (m.has_append_entries() || m.has_install_snapshot()) {
    pb::Message reply = message_to(m.from());
    auto* r = reply.mutable_append_entries_response();
    r->set_success(false);
    r->set_rejected_index(m.has_append_entries() ? m.append_entries().prev_log_index()
                                                 : m.install_snapshot().meta().index());
    r->set_last_log_index(log.last_index());
    // Carries our term, which may not be durable yet.
    send_after_persist(std::move(reply));
  } else if (m.has_request_vote()) {
    reject_vote(m);
  }
}

// Everything accumulated outside of ready() that waits for one batch: new
// appends (batching proposals), a new read round, forwarded work.
void Core::State::flush() {
  if (role == Role::kLeader) {
    if (!reads_unsent.empty()) start_read_round();
    flush_appends();
    return;
  }
  if (leader == kNoNode) return;
  if (!forward_entries.empty()) {
    pb::Message m = message_to(leader);
    auto* p = m.mutable_propose();
    p->mutable_entries()->Swap(&forward_entries);
    p->set_session(propose_session);
    p->set_seq(++propose_seq);
    send(std::move(m));
  }
  if (!forward_reads.empty()) send_forward_reads();
}

Ready Core::State::take_ready() {
  flush();
  Ready ready = std::move(out);
  out = Ready{};
  if (hard_state_dirty) {
    pb::HardState hs;
    hs.set_term(term);
    // The fault forgets the vote: after a restart the member may vote again.
    if (vote != kNoNode && !opts.faults.forget_to_persist_vote) {
      hs.set_vote(vote);
      hs.set_voted(true);
    }
    ready.hard_state = hs;
    hard_state_dirty = false;
  }
  // Shared with the log, not copied (shared_entry.h).
  for (Index i = unstable_from; i <= log.last_index(); ++i) {
    ready.entries.push_back(log.shared_at(i));
  }
  unstable_from = log.last_index() + 1;
  const Index deliverable = std::min(commit, persisted);
  for (Index i = applying + 1; i <= deliverable; ++i) ready.committed.push_back(log.shared_at(i));
  applying = std::max(applying, deliverable);
  if (soft_state() != last_soft) {
    last_soft = soft_state();
    ready.soft_state = last_soft;
  }
  if (config_changed) {
    ready.config = configs.current();
    config_changed = false;
  }
  return ready;
}

bool Core::State::has_ready() const {
  if (!out.empty() || hard_state_dirty || unstable_from <= log.last_index()) return true;
  if (std::min(commit, persisted) > applying || soft_state() != last_soft) return true;
  if (config_changed) return true;
  if (role == Role::kLeader) return need_flush || commit_changed || !reads_unsent.empty();
  return leader != kNoNode && (!forward_entries.empty() || !forward_reads.empty());
}

namespace {

PeerStatus peer_status(NodeId peer, const Progress& pr) {
  PeerStatus p;
  p.id = peer;
  p.match = pr.match;
  p.next = pr.next;
  p.probing = pr.mode == Progress::Mode::kProbe;
  switch (pr.mode) {
    case Progress::Mode::kProbe:
      p.mode = PeerMode::kProbe;
      break;
    case Progress::Mode::kReplicate:
      p.mode = PeerMode::kReplicate;
      break;
    case Progress::Mode::kSnapshot:
      p.mode = PeerMode::kSnapshot;
      break;
  }
  p.pending_snapshot = pr.pending_snapshot;
  p.recently_active = pr.recently_active;
  return p;
}

}  // namespace

Status Core::State::status() const {
  Status s;
  s.id = id;
  s.role = role;
  s.term = term;
  s.vote = vote;
  s.leader = leader;
  s.commit_index = commit;
  s.applied_index = applied;
  s.last_log_index = log.last_index();
  s.last_log_term = log.last_term();
  s.persisted_index = persisted;
  s.snapshot_index = snapshot ? snapshot->index() : 0;
  s.snapshot_term = snapshot ? snapshot->term() : 0;
  s.first_log_index = log.first_index();
  s.voters = config.voters();
  s.learners = config.learners();
  if (role != Role::kLeader) return s;
  for (const auto& [peer, pr] : progress) s.peers.push_back(peer_status(peer, pr));
  return s;
}

// --- Core

Core::Core(Options options, PersistentState state)
    : state_(std::make_unique<State>(std::move(options), std::move(state))) {}

Core::~Core() = default;

void Core::tick() {
  ++state_->ticks;
  if (state_->role == Role::kLeader) {
    state_->tick_leader();
  } else {
    state_->tick_election();
    state_->expire_outstanding_reads();
  }
}

void Core::step(const pb::Message& message) {
  pb::Message copy = message;
  state_->step(std::move(copy));
}

void Core::step(pb::Message&& message) {
  state_->step(std::move(message));
}

ProposeResult Core::propose(std::string data) {
  return state_->propose(std::move(data));
}

ReadResult Core::read_index(std::uint64_t request_id) {
  return state_->read_index(request_id);
}

TransferResult Core::transfer_leadership(NodeId target) {
  return state_->transfer_leadership(target);
}

ChangeResult Core::propose_conf_change(pb::ConfChange change, std::string* error) {
  return state_->propose_conf_change(std::move(change), error);
}

const pb::ClusterConfig& Core::config() const {
  return state_->configs.current();
}

void Core::on_persisted(Index index, Term term) {
  state_->on_persisted(index, term);
}

void Core::on_term_persisted(Term term) {
  state_->on_term_persisted(term);
}

void Core::on_applied(Index index) {
  state_->applied = std::max(state_->applied, std::min(index, state_->applying));
}

bool Core::has_ready() const {
  return state_->has_ready();
}
Ready Core::ready() {
  return state_->take_ready();
}
Status Core::status() const {
  return state_->status();
}
Role Core::role() const {
  return state_->role;
}
NodeId Core::leader() const {
  return state_->leader;
}
Term Core::term() const {
  return state_->term;
}
NodeId Core::id() const {
  return state_->id;
}

}  // namespace raftkv::core
