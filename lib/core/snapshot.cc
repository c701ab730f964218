// Snapshots and log compaction (Raft §7, thesis ch. 5).
//
// The core never sees snapshot data: the driver takes snapshots of its state
// machine, stores them, and streams them to followers. The core decides
// *which* metadata a snapshot carries (snapshot_meta), forgets the log
// prefix a stored snapshot covers (on_snapshot_taken), tells a leader's
// driver when a follower needs a snapshot (an InstallSnapshot message) and
// a follower's driver when to install one (Ready::snapshot).
//
// Leader: a follower whose next entry's predecessor is compacted (its term
// is unknown, so no AppendEntries can pass the consistency check) gets one
// InstallSnapshot of the newest snapshot, and its Progress waits in snapshot
// mode (progress.h) for the follower's acknowledgement or the driver's
// report of a failed transfer. After the driver reports the transfer done,
// heartbeats are anchored at the snapshot: a follower that lost the install
// in a crash rejects one and is sent the snapshot again.
//
// Follower: the driver steps the InstallSnapshot only once it holds the
// whole file, verified. What is already committed here needs no install;
// a log that holds the snapshot's last entry is kept (entries after it
// apply as usual); otherwise the log is replaced by the snapshot.
#include <algorithm>
#include <map>
#include <utility>

#include "core/state.h"

namespace raftkv::core {

// Restart: the driver loaded the state machine from `meta`'s snapshot.
void Core::State::restore_snapshot(const pb::SnapshotMeta& meta, std::vector<pb::Entry>&& entries) {
  snapshot = meta;
  log.restore(meta.index(), meta.term(), std::move(entries));
  // The configuration follows in init_membership(), from the snapshot's and
  // the log's.
}

std::optional<pb::SnapshotMeta> Core::State::snapshot_meta(Index index) const {
  if (index < log.compacted_index() || index > applied) return std::nullopt;
  if (opts.faults.snapshot_one_past_applied && index < log.last_index()) ++index;
  const std::optional<Term> index_term = log.term_at(index);
  if (!index_term) return std::nullopt;
  pb::SnapshotMeta meta;
  meta.set_index(index);
  meta.set_term(*index_term);
  // As of `index`: the history reaches down to the compaction point. A
  // member that joined with an empty log does not know the configuration
  // below the first configuration entry it received: no snapshot there, or
  // whoever installs it would start from nobody.
  *meta.mutable_config() = configs.at(index);
  if (meta.config().members_size() == 0) return std::nullopt;
  return meta;
}

void Core::State::on_snapshot_taken(const pb::SnapshotMeta& meta, Index keep_from) {
  // A snapshot past what the state machine applied, or of another history,
  // is a driver bug: never compact on its word.
  if (meta.index() > applied) return;
  const std::optional<Term> index_term = log.term_at(meta.index());
  if (index_term && *index_term != meta.term()) return;
  if (!snapshot || meta.index() >= snapshot->index()) snapshot = meta;
  log.compact(std::min(keep_from, meta.index() + 1));
  configs.compact(log.compacted_index());
}

// Leader: `to` needs entries we no longer hold. Without a snapshot to offer
// (a log restored without one yet starting above index 1) nothing can help.
void Core::State::send_snapshot(NodeId to, Progress& pr) {
  if (!snapshot) return;
  pb::Message m = message_to(to);
  *m.mutable_install_snapshot()->mutable_meta() = *snapshot;
  pr.become_snapshot(snapshot->index(), snapshot->term());
  send(std::move(m));
}

void Core::State::report_snapshot(NodeId peer, bool ok) {
  if (role != Role::kLeader) return;
  auto it = progress.find(peer);
  if (it == progress.end() || it->second.mode != Progress::Mode::kSnapshot) return;
  Progress& pr = it->second;
  if (ok) {
    // From now on heartbeats ask "do you hold the snapshot?" (send_heartbeat).
    pr.snapshot_delivered = true;
    return;
  }
  pr.become_probe(pr.match + 1);
  // The driver just failed to reach the follower: retry once it answers a
  // heartbeat (which clears probe_sent), not in a tight loop.
  pr.probe_sent = true;
}

// Follower side (m.term() == term here).
void Core::State::handle_install_snapshot(const pb::Message& m) {
  if (role == Role::kLeader) return;  // impossible: one leader per term
  if (role != Role::kFollower) become_follower(term, m.from());
  set_leader(m.from());
  election_elapsed = 0;
  const pb::SnapshotMeta& meta = m.install_snapshot().meta();
  Index match = meta.index();
  if (meta.index() <= commit) {
    // Nothing new (a late or duplicate snapshot). Our commit index is
    // committed, hence in the leader's log too: the best answer.
    match = commit;
  } else if (log.matches(meta.index(), meta.term())) {
    // Our log already holds the snapshot's history: keep it, and apply the
    // entries up to meta.index as usual.
    commit = meta.index();
  } else {
    install_snapshot(meta);
  }
  pb::Message reply = message_to(m.from());
  auto* r = reply.mutable_append_entries_response();
  r->set_success(true);
  r->set_match_index(match);
  r->set_last_log_index(log.last_index());
  send_ack(std::move(reply), match);
}

// Replaces the log and the state machine with the snapshot (Ready::snapshot).
void Core::State::install_snapshot(const pb::SnapshotMeta& meta) {
  log.reset(meta.index(), meta.term());
  snapshot = meta;
  commit = applying = applied = meta.index();
  unstable_from = meta.index() + 1;
  // Not durable until the driver reports on_persisted(meta.index, meta.term):
  // acknowledgements that claim it wait behind the disk meanwhile.
  persisted = meta.index() - 1;
  restore_config(meta.config(), meta.index());
  out.snapshot = meta;
}

// Follower: an AppendEntries anchored before our compaction point. Entries up
// to that point are committed, so this leader holds them too (Leader
// Completeness): the consistency check passes there, and the message's
// copies of them are skipped.
void Core::State::skip_compacted(pb::AppendEntries* ae) const {
  const Index compacted = log.compacted_index();
  if (ae->prev_log_index() >= compacted) return;
  const Index covered = compacted - ae->prev_log_index();
  const int skip = static_cast<int>(std::min<Index>(covered, ae->entries_size()));
  ae->mutable_entries()->DeleteSubrange(0, skip);
  ae->set_prev_log_index(compacted);
  ae->set_prev_log_term(log.compacted_term());
}

// --- Core

std::optional<pb::SnapshotMeta> Core::snapshot_meta(Index index) const {
  return state_->snapshot_meta(index);
}

void Core::on_snapshot_taken(const pb::SnapshotMeta& meta, Index keep_from) {
  state_->on_snapshot_taken(meta, keep_from);
}

void Core::report_snapshot(NodeId peer, bool ok) {
  state_->report_snapshot(peer, ok);
}

}  // namespace raftkv::core
