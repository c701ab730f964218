// Log replication and commitment (Raft §5.3, §5.4.2), with batching,
// pipelining and fast back-tracking; proposals and their forwarding.
#include <algorithm>
#include <utility>

#include "core/state.h"

namespace raftkv::core {

// Sends the next batch to a follower if its flow control allows: at most
// max_append_bytes of entries, starting at pr.next. False if nothing was sent.
bool Core::State::send_append(NodeId to, Progress& pr) {
  if (pr.paused(opts.max_inflight_messages, opts.max_inflight_bytes)) return false;
  if (pr.next > log.last_index()) return false;
  const auto prev_term = log.term_at(pr.next - 1);
  if (!prev_term) {
    // Compacted: no AppendEntries can pass the follower's check any more.
    send_snapshot(to, pr);
    return false;
  }
  // The entries ride beside the message, shared with the log, not copied
  // into it (out_message.h).
  OutMessage m{message_to(to), {}};
  auto* ae = m.message.mutable_append_entries();
  ae->set_prev_log_index(pr.next - 1);
  ae->set_prev_log_term(*prev_term);
  ae->set_leader_commit(commit);
  ae->set_read_round(read_round);
  const std::size_t bytes =
      log.share_into(pr.next, log.last_index(), opts.max_append_bytes, &m.entries);
  const Index last = pr.next - 1 + static_cast<Index>(m.entries.size());
  pr.sent_prev = pr.next - 1;
  pr.sent(last, bytes);
  pr.commit_sent = std::max(pr.commit_sent, std::min(commit, last));
  send(std::move(m));
  return true;
}

// A heartbeat is an empty AppendEntries anchored at the follower's match, so
// it always passes the consistency check; it carries min(commit, match): a
// follower must not commit entries it might not share with us. A follower
// that rejects it lost entries it acknowledged (handle_append_rejection).
// A match we compacted has no known term: the heartbeat is then anchored at
// index 0, which every log holds (a follower's compacted prefix included).
// A follower the driver delivered a snapshot to is asked whether it holds
// the snapshot's last entry (see progress.h, snapshot mode).
std::pair<Index, Term> Core::State::heartbeat_anchor(const Progress& pr) const {
  if (pr.mode == Progress::Mode::kSnapshot && pr.snapshot_delivered) {
    return {pr.pending_snapshot, pr.pending_snapshot_term};
  }
  if (const std::optional<Term> match_term = log.term_at(pr.match)) return {pr.match, *match_term};
  return {0, 0};
}

void Core::State::send_heartbeat(NodeId to, Progress& pr) {
  pb::Message m = message_to(to);
  const auto [anchor, anchor_term] = heartbeat_anchor(pr);
  pr.sent_prev = anchor;
  const Index leader_commit = std::min(commit, anchor);
  pr.commit_sent = std::max(pr.commit_sent, leader_commit);
  auto* ae = m.mutable_append_entries();
  ae->set_prev_log_index(anchor);
  ae->set_prev_log_term(anchor_term);
  ae->set_leader_commit(leader_commit);
  ae->set_read_round(read_round);
  send(std::move(m));
}

void Core::State::broadcast_heartbeat() {
  for (auto& [peer, pr] : progress) send_heartbeat(peer, pr);
}

// Called from ready(): everything proposed since the last one goes out in as
// few messages as the byte budget allows (batching), as many as each window
// allows (pipelining).
void Core::State::flush_appends() {
  for (auto& [peer, pr] : progress) {
    bool sent = false;
    while (send_append(peer, pr)) sent = true;
    // Followers learn a new commit index from the next append; those that
    // got none hear it through a heartbeat at once (their clients wait on
    // it). Not only when the commit index moves: a follower acknowledging
    // after the commit point passed was told only up to its old match, and
    // can learn the rest now.
    if (!sent && pr.match > 0 && std::min(commit, heartbeat_anchor(pr).first) > pr.commit_sent) {
      send_heartbeat(peer, pr);
    }
  }
  need_flush = false;
  commit_changed = false;
}

void Core::State::tick_stalls() {
  // A lost message in replicate mode is noticed when a later one is
  // rejected; if it was the last one, only this timer notices.
  for (auto& [peer, pr] : progress) {
    if (pr.mode != Progress::Mode::kReplicate || pr.inflights.count() == 0) continue;
    if (++pr.stall_ticks >= opts.election_ticks) {
      pr.become_probe(pr.match + 1);
      need_flush = true;
    }
  }
}

// Follower side of §5.3 (m.term() == term here).
void Core::State::handle_append_entries(pb::Message&& m) {
  if (role == Role::kLeader) return;  // impossible: one leader per term
  if (role != Role::kFollower) become_follower(term, m.from());
  set_leader(m.from());
  election_elapsed = 0;
  auto* ae = m.mutable_append_entries();
  skip_compacted(ae);
  const Index prev = ae->prev_log_index();
  if (!log.matches(prev, ae->prev_log_term())) return reject_append(m);

  const Index last_new = prev + static_cast<Index>(ae->entries_size());
  append_from_leader(prev, ae->mutable_entries());
  // §5.3: commit up to the leader's commit, but only within what this
  // message proved we share with the leader.
  const Index new_commit = std::min<Index>(ae->leader_commit(), last_new);
  if (new_commit > commit) commit = new_commit;

  // Our durable committed prefix matches the leader's log too (Leader
  // Completeness), so we claim it when it reaches further: a leader that
  // lost our answer to an InstallSnapshot (or to an append) learns our
  // progress from the next heartbeat's answer instead of waiting forever.
  const Index match = std::max(last_new, std::min(commit, persisted));
  pb::Message reply = message_to(m.from());
  auto* r = reply.mutable_append_entries_response();
  r->set_success(true);
  r->set_match_index(match);
  r->set_read_round(ae->read_round());
  r->set_last_log_index(log.last_index());
  send_ack(std::move(reply), match);
}

// "match_index is durable": an acknowledgement waits for our writes unless
// what it claims is already on disk. That is always so for a heartbeat
// (anchored at our acknowledged match), which ReadIndex rounds ride on: its
// answer only says that we still follow this leader in this term (thesis
// §6.4), so a linearizable read does not wait behind our fdatasync. The
// term it carries need not be durable: a vote for a later term is granted
// only once durable, and then we reject this leader's messages anyway.
void Core::State::send_ack(pb::Message&& reply, Index match) {
  if (match <= persisted) return send(std::move(reply));
  send_after_persist(std::move(reply));
}

// Appends the leader's entries after `prev`, skipping those we already have
// and truncating our log at the first conflict (§5.3 step 3).
void Core::State::append_from_leader(Index prev,
                                     google::protobuf::RepeatedPtrField<pb::Entry>* entries) {
  Index index = prev;
  for (auto& entry : *entries) {
    ++index;
    if (index <= log.last_index()) {
      if (log.matches(index, entry.term())) continue;
      if (index <= commit) return;  // never: committed entries never conflict
      log.truncate_after(index - 1);
      note_truncated(index - 1);
      persisted = std::min(persisted, index - 1);
      unstable_from = std::min(unstable_from, index);
    }
    entry.set_index(index);
    log.append(std::move(entry));
    note_appended(log.at(index));
  }
}

// Fast back-tracking, follower side: point the leader at the last index that
// may still match: the last one whose term is <= the rejected prev term.
void Core::State::reject_append(const pb::Message& m) {
  const auto& ae = m.append_entries();
  const Index hint_index = log.last_index_with_term_at_most(
      std::min(ae.prev_log_index(), log.last_index()), ae.prev_log_term());
  pb::Message reply = message_to(m.from());
  auto* r = reply.mutable_append_entries_response();
  r->set_success(false);
  r->set_rejected_index(ae.prev_log_index());
  r->set_reject_hint_index(hint_index);
  r->set_reject_hint_term(log.term_at(hint_index).value_or(0));
  r->set_read_round(ae.read_round());
  r->set_last_log_index(log.last_index());
  send_after_persist(std::move(reply));
}

// Leader side of §5.3.
void Core::State::handle_append_response(const pb::Message& m) {
  if (role != Role::kLeader) return;
  auto it = progress.find(m.from());
  if (it == progress.end()) return;
  Progress& pr = it->second;
  const auto& r = m.append_entries_response();
  pr.recently_active = true;
  need_flush = true;
  note_heard(m.from());
  ack_read_round(pr, r.read_round());
  if (!r.success()) return handle_append_rejection(pr, r);
  if (pr.advance(r.match_index())) {
    // Out of probing, or the follower installed the snapshot (or already
    // had everything it covers): stream from its match.
    if (pr.mode == Progress::Mode::kProbe || pr.snapshot_done()) pr.become_replicate();
    maybe_commit();
    maybe_send_timeout_now();
  } else if (pr.mode == Progress::Mode::kProbe) {
    pr.probe_sent = false;  // e.g. a heartbeat answer: probe again
  }
}

void Core::State::handle_append_rejection(Progress& pr, const pb::AppendEntriesResponse& r) {
  const Index rejected = r.rejected_index();
  // Ignore rejections of messages sent before we last moved `next`.
  if (pr.stale_rejection(rejected)) return;
  if (rejected == 0) return;  // index 0 always matches: a bogus answer
  // Fast back-tracking, leader side: skip every entry of ours whose term is
  // above the follower's conflicting term, in one round trip.
  Index guess = r.reject_hint_index();
  if (r.reject_hint_term() > 0)
    guess = log.last_index_with_term_at_most(guess, r.reject_hint_term());
  const Index next = std::min(guess, rejected - 1) + 1;
  // A follower that holds what it acknowledged always hints at or above its
  // match (terms never decrease along a log). Below it, and in answer to
  // the latest message, it lost acknowledged entries: probe from its hint.
  // Only commit decisions made from now on see the lower match; the commit
  // index never goes back.
  if (next <= pr.match && pr.answers_latest(rejected)) pr.forget_match();
  pr.become_probe(next);
}

// §5.4.2: count replicas only for entries of the current term; earlier ones
// are committed with them. The leader counts itself only up to its durable
// index (it writes its log in parallel with sending).
bool Core::State::maybe_commit() {
  std::vector<std::uint64_t> matches;
  for (NodeId voter : config.voters()) {
    if (voter == id) {
      matches.push_back(persisted);
    } else if (auto it = progress.find(voter); it != progress.end()) {
      matches.push_back(it->second.match);
    }
  }
  const Index candidate = config.quorum_value(std::move(matches));
  if (candidate <= commit) return false;
  if (log.term_at(candidate) != term && !opts.faults.commit_prior_term_by_count) return false;
  advance_commit(candidate);
  return true;
}

void Core::State::advance_commit(Index index) {
  const bool had_term_commit = committed_in_term();
  for (Index i = commit + 1; i <= index; ++i) {
    const auto& entry = log.at(i);
    if (entry.term() != term) continue;
    const std::size_t size = entry.data().size();
    uncommitted_bytes -= std::min(uncommitted_bytes, size);
  }
  commit = index;
  commit_changed = true;
  if (!had_term_commit && committed_in_term()) on_term_committed();
  on_commit_advanced();
}

ProposeResult Core::State::propose(std::string&& data) {
  pb::Entry entry;
  entry.set_type(pb::ENTRY_NORMAL);
  entry.set_data(std::move(data));
  if (role == Role::kLeader) {
    if (transfer_target != kNoNode) return ProposeResult::kTransferring;
    return append_proposal(std::move(entry)) ? ProposeResult::kAccepted
                                             : ProposeResult::kBackPressure;
  }
  if (leader == kNoNode) return ProposeResult::kNoLeader;
  // Forwarded in one Propose message per ready(); the leader assigns term
  // and index.
  *forward_entries.Add() = std::move(entry);
  return ProposeResult::kAccepted;
}

// Appends a client entry on the leader unless too many bytes are already
// uncommitted (one entry is always allowed, so a big one cannot wedge).
bool Core::State::append_proposal(pb::Entry&& entry) {
  const std::size_t size = entry.data().size();
  if (uncommitted_bytes > 0 && uncommitted_bytes + size > opts.max_uncommitted_bytes) {
    return false;
  }
  uncommitted_bytes += size;
  entry.set_term(term);
  entry.set_index(log.last_index() + 1);
  log.append(std::move(entry));
  need_flush = true;
  return true;
}

// A batch forwarded by a follower. A named batch (seq > 0) is appended only
// by the leader of the term it was sent in, once; one that cannot be taken
// is refused, so that the follower fails its clients at once instead of
// letting them time out. An unnamed one (older members) is appended by any
// leader and silently dropped otherwise, as it always was.
void Core::State::handle_propose(pb::Message&& m) {
  const bool named = m.propose().seq() > 0;
  if (named && !decide_proposal(m)) return;  // decided before, or maybe by an earlier incarnation
  if (role != Role::kLeader || (named && m.term() != term)) {
    if (named) refuse_proposal(m, 0, pb::ProposeResponse::NOT_LEADER);
    return;
  }
  if (auto it = progress.find(m.from()); it != progress.end()) it->second.recently_active = true;
  if (transfer_target != kNoNode) {
    if (named) refuse_proposal(m, 0, pb::ProposeResponse::TRANSFERRING);
    return;
  }
  append_proposals(m, named);
}

// Appends a batch's entries until the byte limit refuses one; the rest is
// refused with it.
void Core::State::append_proposals(pb::Message& m, bool refuse_on_back_pressure) {
  auto& entries = *m.mutable_propose()->mutable_entries();
  for (int i = 0; i < entries.size(); ++i) {
    if (entries[i].type() == pb::ENTRY_CONF_CHANGE) continue;  // only through the admin path
    // append_proposal() leaves a refused entry untouched.
    if (append_proposal(std::move(entries[i]))) continue;
    if (refuse_on_back_pressure) refuse_proposal(m, i, pb::ProposeResponse::BACK_PRESSURE);
    return;
  }
}

// Whether this member may decide the fate of named batch `m` now, once and
// for all. Only the leader of the batch's term (m.term()) ever appends it,
// and that leadership lives in a single incarnation. If it was ours
// (led_term), the filter lets each batch be decided once. If it is our
// current term, we never led it here and did not vote for ourselves in it,
// no incarnation of ours led it or ever will (a candidate's own vote is
// durable before it asks for votes): refusing is safe. Otherwise an earlier
// incarnation may have appended it: we must say nothing.
bool Core::State::decide_proposal(const pb::Message& m) {
  const auto& p = m.propose();
  if (led_term != 0 && m.term() == led_term) {
    return proposals_decided.first_time(m.from(), p.session(), p.seq());
  }
  return m.term() == term && vote != id;
}

void Core::State::refuse_proposal(pb::Message& m, int first, pb::ProposeResponse::Reason reason) {
  auto* p = m.mutable_propose();
  pb::Message reply = message_to(m.from());
  auto* r = reply.mutable_propose_response();
  r->set_session(p->session());
  r->set_seq(p->seq());
  r->set_reason(reason);
  for (int i = first; i < p->entries_size(); ++i) {
    r->add_rejected(std::move(*p->mutable_entries(i)->mutable_data()));
  }
  send(std::move(reply));
}

// Follower side: the leader refused (part of) a batch of ours.
void Core::State::handle_propose_response(const pb::Message& m) {
  const auto& r = m.propose_response();
  if (r.session() != propose_session) return;  // an earlier incarnation's batch
  DropReason reason = DropReason::kNotLeader;
  if (r.reason() == pb::ProposeResponse::TRANSFERRING) reason = DropReason::kTransferring;
  if (r.reason() == pb::ProposeResponse::BACK_PRESSURE) reason = DropReason::kBackPressure;
  for (const std::string& data : r.rejected()) out.dropped_proposals.push_back({data, reason});
}

// Our leader changed before these were forwarded: they never left.
void Core::State::drop_forward_entries() {
  for (auto& entry : forward_entries) {
    out.dropped_proposals.push_back({std::move(*entry.mutable_data()), DropReason::kLeaderChanged});
  }
  forward_entries.Clear();
}

void Core::State::on_persisted(Index index, Term t) {
  // Ignored when the log was truncated meanwhile (another entry is there).
  if (!log.matches(index, t) || index <= persisted) return;
  persisted = index;
  if (role == Role::kLeader) maybe_commit();
}

}  // namespace raftkv::core
