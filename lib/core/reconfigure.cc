// Membership changes in the core, one server at a time (thesis §4.1, §4.4;
// the rules and why they are safe are in membership.h):
//   - a configuration takes effect as soon as its entry is in the log
//     (note_appended) and is rolled back when truncated (note_truncated);
//   - the leader replicates to every member of the current configuration,
//     and also to a member being removed until its REMOVE commits, and then
//     for one more election timeout (departing), so that the removed member
//     learns that its removal committed and stops campaigning
//     (sync_progress);
//   - a member campaigns while it is a voter in the configuration as of its
//     commit index or in any later one (promotable): one whose removal is
//     not known committed may still be needed to elect a leader, as when
//     the removed leader alone holds the REMOVE entry the others need;
//   - a leader that removed itself leads until the REMOVE commits (it does
//     not count itself in majorities), then hands over to the most
//     up-to-date voter, or just steps down;
//   - the leader promotes a learner once it has kept up for an election
//     timeout (tick_promotions).
// Learners never count: every quorum goes through `config` (Configuration),
// which holds the voters apart.
#include <algorithm>
#include <utility>

#include "core/state.h"

namespace raftkv::core {
namespace {

pb::ClusterConfig bootstrap_config(const Options& o) {
  if (o.joining) return {};
  if (o.initial_config.members_size() > 0) return o.initial_config;
  return config_of_voters(o.voters);
}

// A snapshot's configuration; one that records nobody (a driver that does
// not record membership) leaves the bootstrap configuration.
pb::ClusterConfig recorded_or_bootstrap(const pb::ClusterConfig& recorded, const Options& o) {
  return recorded.members_size() > 0 ? recorded : bootstrap_config(o);
}

}  // namespace

// The bootstrap configuration (or the recovered snapshot's), then every
// change the recovered log holds. The driver reads config() after
// construction: no Ready::config for it.
void Core::State::init_membership() {
  configs.reset(recorded_or_bootstrap(snapshot ? snapshot->config() : pb::ClusterConfig{}, opts),
                log.compacted_index());
  for (Index i = log.first_index(); i <= log.last_index(); ++i) {
    const pb::Entry& entry = log.at(i);
    if (entry.type() == pb::ENTRY_CONF_CHANGE) {
      configs.append(i, config_after(configs.current(), entry));
    }
  }
  adopt_config();
  config_changed = false;
}

// An installed snapshot replaced the log: its configuration is in force as
// of its index.
void Core::State::restore_config(const pb::ClusterConfig& recorded, Index index) {
  configs.reset(recorded_or_bootstrap(recorded, opts), index);
  adopt_config();
}

// Members of the configuration, those still replicated to (being removed,
// departing), and anyone for a member outside its own configuration
// (joining, or removed: it has no cluster to protect).
bool Core::State::knows(NodeId from) const {
  return config.is_member(from) || progress.count(from) > 0 || !config.is_member(id);
}

// Thesis §4.1: members handle messages without consulting their
// configuration. A leader or candidate unknown to a member that lags behind
// a change may be legitimate, and ignoring it can wedge the cluster (a new
// voter needing a lagging voter's vote). One thing only is ignored from a
// stranger: a (pre-)vote request from a log behind ours. It could not get
// our vote anyway, and it is what a removed member that missed its removal
// sends forever; heard, its term would depose our leader whenever the lease
// (check-quorum) is off (field notes 1.4).
bool Core::State::ignores(const pb::Message& m) const {
  if (!m.has_request_vote() || knows(m.from())) return false;
  return !log_up_to_date(m.request_vote());
}

// §5.4.1: the candidate's log is at least as up to date as ours.
bool Core::State::log_up_to_date(const pb::RequestVote& rv) const {
  return rv.last_log_term() > log.last_term() ||
         (rv.last_log_term() == log.last_term() && rv.last_log_index() >= log.last_index());
}

void Core::State::note_appended(const pb::Entry& entry) {
  if (entry.type() != pb::ENTRY_CONF_CHANGE) return;
  configs.append(entry.index(), config_after(configs.current(), entry));
  adopt_config();
}

void Core::State::note_truncated(Index last_kept) {
  if (opts.faults.keep_config_on_truncation) return;
  if (configs.truncate_after(last_kept)) adopt_config();
}

// The configuration in force changed: quorums, peers, transfers follow.
void Core::State::adopt_config() {
  config = quorum_view(configs.current());
  config_changed = true;
  sync_progress();
  if (transfer_target != kNoNode && !config.is_voter(transfer_target)) abort_transfer();
  std::erase_if(learners_watched, [this](const auto& watched) {
    return config.is_voter(watched.first) || !config.is_member(watched.first);
  });
}

// Progress for every member of a configuration not yet known committed
// (members_since(commit)) but self: new members get one at once (probing
// from the last entry, which is usually the change that added them). On the
// leader, a member whose removal committed departs: it keeps its Progress
// (heartbeats carry the commit index) for an election timeout more.
void Core::State::sync_progress() {
  const std::vector<NodeId> tracked = configs.members_since(commit);
  auto is_tracked = [&tracked](NodeId peer) {
    return std::binary_search(tracked.begin(), tracked.end(), peer);
  };
  std::erase_if(departing, [&](const auto& peer) { return is_tracked(peer.first); });
  for (auto it = progress.begin(); it != progress.end();) {
    const NodeId peer = it->first;
    if (is_tracked(peer) || departing.count(peer) > 0) {
      ++it;
    } else if (role == Role::kLeader) {
      departing[peer] = std::max(opts.election_ticks, 1);
      ++it;
    } else {
      it = progress.erase(it);
    }
  }
  for (NodeId peer : tracked) {
    if (peer == id || progress.count(peer) > 0) continue;
    progress[peer].become_probe(std::max<Index>(log.last_index(), 1));
    if (role == Role::kLeader) need_flush = true;
  }
}

void Core::State::tick_departures() {
  for (auto it = departing.begin(); it != departing.end();) {
    if (--it->second > 0) {
      ++it;
      continue;
    }
    progress.erase(it->first);
    it = departing.erase(it);
  }
}

bool Core::State::promotable() const {
  return config.is_voter(id) || configs.voter_since(commit, id);
}

ChangeResult Core::State::propose_conf_change(pb::ConfChange&& change, std::string* error) {
  const ChangeResult allowed = may_change(error);
  if (allowed != ChangeResult::kAccepted) return allowed;
  std::string reason = check_change(configs.current(), change);
  if (!reason.empty()) {
    if (error) *error = std::move(reason);
    return ChangeResult::kUnsafe;
  }
  append_conf_change(std::move(change));
  return ChangeResult::kAccepted;
}

// Whether this member may start a change now. The one-change-at-a-time rule
// makes every two successive configurations overlap; the own-term rule
// (raft-dev 2015) stops a new leader from starting a change while an
// uncommitted one of a deposed leader may still survive in other logs.
ChangeResult Core::State::may_change(std::string* error) const {
  auto refuse = [error](ChangeResult result, const char* why) {
    if (error) *error = why;
    return result;
  };
  if (role != Role::kLeader) {
    return leader != kNoNode ? refuse(ChangeResult::kNotLeader, "not the leader")
                             : refuse(ChangeResult::kNoLeader, "no leader known");
  }
  if (transfer_target != kNoNode) {
    return refuse(ChangeResult::kTransferring, "a leadership transfer is in progress");
  }
  if (configs.last_change_index() > commit && !opts.faults.concurrent_conf_changes) {
    return refuse(ChangeResult::kChangePending, "another membership change is not committed yet");
  }
  if (!committed_in_term()) {
    return refuse(ChangeResult::kChangePending,
                  "the leader has not committed an entry of its term yet");
  }
  return ChangeResult::kAccepted;
}

// Appends the change with the configuration it leads to (what a joining
// member learns the cluster from), and adopts it at once.
void Core::State::append_conf_change(pb::ConfChange&& change) {
  *change.mutable_config() = apply_change(configs.current(), change);
  pb::Entry entry;
  entry.set_type(pb::ENTRY_CONF_CHANGE);
  entry.set_term(term);
  entry.set_index(log.last_index() + 1);
  entry.set_data(change.SerializeAsString());
  // Counted like a proposal's bytes: advance_commit() releases them.
  uncommitted_bytes += entry.data().size();
  const Index index = entry.index();
  log.append(std::move(entry));
  need_flush = true;
  note_appended(log.at(index));
}

// Leader: the commit index moved. Members whose removal just committed
// depart; a leader whose own removal committed steps down.
void Core::State::on_commit_advanced() {
  if (role != Role::kLeader) return;
  sync_progress();
  if (commit >= configs.last_change_index() && !config.is_voter(id)) step_down_removed();
}

// Thesis §4.2.2: the removed leader hands over to the voter with the most of
// its log, by TimeoutNow if that voter already has all of it (as a transfer
// would); otherwise the others elect a leader after their election timeout.
void Core::State::step_down_removed() {
  NodeId best = kNoNode;
  Index best_match = 0;
  for (NodeId voter : config.voters()) {
    auto it = progress.find(voter);
    if (it == progress.end() || (best != kNoNode && it->second.match <= best_match)) continue;
    best = voter;
    best_match = it->second.match;
  }
  if (best != kNoNode && best_match >= log.last_index()) {
    pb::Message m = message_to(best);
    m.mutable_timeout_now();
    send(std::move(m));
  }
  become_follower(term, kNoNode);
}

// A learner answered: it is alive (auto-promotion needs that).
void Core::State::note_heard(NodeId from) {
  if (!config.is_member(from) || config.is_voter(from)) return;
  LearnerWatch& watch = learners_watched[from];
  watch.heard = true;
  watch.silent_ticks = 0;
}

// Leader, every tick: a learner counts as caught up while its log is within
// promote_within_entries of ours and it answered within an election
// timeout; after an election timeout of that, the leader proposes its
// promotion (one change at a time: the others wait their turn). Bounded: a
// learner that keeps up is promoted about one election timeout after it
// caught up, plus the time earlier changes take to commit.
void Core::State::tick_promotions() {
  if (!opts.auto_promote) return;
  const int needed = std::max(opts.election_ticks, 1);
  for (NodeId learner : config.learners()) {
    auto it = progress.find(learner);
    if (it == progress.end()) continue;
    LearnerWatch& watch = learners_watched[learner];
    ++watch.silent_ticks;
    const Index behind = log.last_index() - std::min(it->second.match, log.last_index());
    const bool near = behind <= opts.promote_within_entries;
    const bool alive = watch.heard && watch.silent_ticks <= needed;
    watch.caught_up_ticks = near && alive ? watch.caught_up_ticks + 1 : 0;
  }
  if (may_change(nullptr) != ChangeResult::kAccepted) return;
  NodeId ready = kNoNode;
  for (const auto& [learner, watch] : learners_watched) {
    if (watch.caught_up_ticks >= needed) {
      ready = learner;
      break;
    }
  }
  if (ready == kNoNode) return;
  pb::ConfChange change;
  change.set_type(pb::ConfChange::PROMOTE);
  *change.mutable_member() = *find_member(configs.current(), ready);
  change.mutable_member()->set_learner(false);
  change.set_origin(id);
  change.set_request_id(0);
  append_conf_change(std::move(change));
}

}  // namespace raftkv::core
