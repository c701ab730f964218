#include "cluster.h"

#include <algorithm>
#include <sstream>

#include "core/membership.h"

namespace raftkv::sim {

std::uint64_t liveness_bound_ticks(const Scenario& s, Index backlog) {
  Time round_trip = 2 * s.network.max_delay + s.disk_max;
  std::uint64_t election = 20 * static_cast<std::uint64_t>(s.election_ticks);
  return election + (backlog * round_trip + s.tick - 1) / s.tick;
}

std::uint64_t catch_up_bound_ticks(const Scenario& s, Index probe_index, Index lag) {
  Time round_trip = 2 * s.network.max_delay + s.disk_max;
  Time transfer = s.network.max_delay + s.transfer_per_entry * probe_index + s.disk_max +
                  s.disk_stall + s.snapshot_write_per_entry * probe_index;
  std::uint64_t election = 20 * static_cast<std::uint64_t>(s.election_ticks);
  return election + (lag * round_trip + 2 * transfer + s.tick - 1) / s.tick;
}

Cluster::Cluster(const Scenario& scenario)
    : world_(scenario),
      workload_(world_, members_),
      nemesis_(world_, members_),
      transfers_(world_, members_),
      membership_(world_, members_) {
  world_.transfers = &transfers_;
  if (scenario.snapshot_every > 0) world_.stats.snapshot_seeds = 1;
  for (NodeId id = 0; id < scenario.total(); ++id) {
    members_.push_back(std::make_unique<Member>(id, world_));
  }
}

RunResult Cluster::run() {
  const Scenario& s = world_.scenario;
  // The drawn options first: a replay's reader needs them to judge the run.
  world_.log(
      "scenario: %zu voters + %zu spares, election %d ticks, heartbeat %d, pre-vote %s, "
      "check-quorum %s, inflight %zu, append bytes %zu",
      s.members, s.spares, s.election_ticks, s.heartbeat_ticks, s.pre_vote ? "on" : "off",
      s.check_quorum ? "on" : "off", s.max_inflight_messages, s.max_append_bytes);
  for (auto& m : members_) m->start();
  workload_.start();
  nemesis_.start();
  membership_.start();
  while (!world_.queue.empty() && !finished()) {
    Event e = world_.queue.pop();
    ++world_.stats.events;
    if (world_.chaos && world_.stats.events > world_.scenario.steps) heal();
    if (!world_.chaos && e.time > deadline_) {
      fail_liveness();
      break;
    }
    dispatch(e);
    if (world_.probe_committed && !catching_up_) start_catch_up();
  }
  RunResult result;
  result.violation = world_.checker.violation();
  result.step = world_.stats.events;
  result.time = world_.queue.now();
  if (catching_up_ && caught_up()) {
    world_.stats.catch_up_ticks_max =
        (world_.queue.now() - probe_committed_at_) / world_.scenario.tick;
  }
  result.stats = world_.stats;
  return result;
}

// The probe committed: from now on every member of the configuration (as
// of the probe) must apply it.
void Cluster::start_catch_up() {
  catching_up_ = true;
  const Time now = world_.queue.now();
  probe_committed_at_ = now;
  world_.stats.liveness_ticks_max = (now - std::min(live_from_, now)) / world_.scenario.tick;
  const pb::ClusterConfig config =
      committed_config(world_.scenario, world_.checker, world_.probe_index);
  for (auto& m : members_) {
    if (core::find_member(config, m->id()) == nullptr) outside_.insert(m->id());
  }
  Index lowest = world_.probe_index;
  for (auto& m : members_) {
    if (!outside_.count(m->id())) lowest = std::min(lowest, m->state().applied);
  }
  bound_ticks_ =
      catch_up_bound_ticks(world_.scenario, world_.probe_index, world_.probe_index - lowest);
  // A majority may commit while a slow disk still drains what was queued
  // before the heal: the laggard's bound starts once it has.
  deadline_ = std::max(now, live_from_) + bound_ticks_ * world_.scenario.tick;
  world_.log("catch-up: probe at %llu, lowest applied %llu, bound %llu ticks",
             ull(world_.probe_index), ull(lowest), ull(bound_ticks_));
}

bool Cluster::caught_up() const {
  for (const auto& m : members_) {
    if (outside_.count(m->id())) continue;
    if (!m->up() || m->state().applied < world_.probe_index) return false;
  }
  return true;
}

bool Cluster::finished() const {
  return world_.checker.violation().has_value() || (catching_up_ && caught_up());
}

void Cluster::fail_liveness() {
  std::ostringstream out;
  if (!catching_up_) {
    out << "no leader with a committed proposal " << bound_ticks_
        << " ticks after the heal and the disks drained (election timeout "
        << world_.scenario.election_ticks << " ticks)";
    world_.checker.fail("Liveness", out.str());
    return;
  }
  out << "the probe committed at index " << world_.probe_index << " but after " << bound_ticks_
      << " more ticks";
  for (const auto& m : members_) {
    if (outside_.count(m->id())) continue;
    if (m->up() && m->state().applied >= world_.probe_index) continue;
    out << " n" << m->id() << (m->up() ? " applied only " : " is down at ") << m->state().applied;
    if (m->up()) {
      const core::Status st = m->status();
      out << " (commit " << st.commit_index << ", persisted " << st.persisted_index << ", log "
          << st.first_log_index << ".." << st.last_log_index << ", " << m->pending_writes()
          << " writes pending)";
    }
    out << ";";
  }
  world_.checker.fail("Liveness (catch-up)", out.str());
}

void Cluster::heal() {
  nemesis_.heal_all();
  if (!world_.scenario.pre_vote && !world_.scenario.check_quorum) retire_removed_members();
  healed_at_ = world_.queue.now();
  Index longest = 0;
  for (auto& m : members_) longest = std::max(longest, m->log().last());
  Index committed = world_.checker.committed();
  bound_ticks_ =
      liveness_bound_ticks(world_.scenario, longest > committed ? longest - committed : 0);
  // Writes queued on a slow disk still complete at their slow pace: the
  // bound starts once every disk has drained them.
  Time start = healed_at_;
  for (auto& m : members_) start = std::max(start, m->disk_busy_until());
  live_from_ = start;
  deadline_ = start + bound_ticks_ * world_.scenario.tick;
  world_.log("liveness: bound %llu ticks", ull(bound_ticks_));
  world_.queue.after(world_.scenario.tick, EventKind::kProbe);
}

namespace {

// Whether entries of `m`'s log above the commit may still be committed: its
// log must go past the commit and hold the committed prefix (by Log
// Matching, the entry at the commit index has the committed term). A log
// that diverges at or below the commit only holds entries a leader will
// overwrite. When its disk cannot tell (the entry at the commit index is
// still being written), it counts.
bool may_extend_commit(const Member& m, Index commit, Term commit_term) {
  // A down member restarts at the heal with what its disk holds.
  const ShadowLog& log = m.log();
  const Index end = m.up() ? m.status().last_log_index : log.last();
  if (end <= commit) return false;
  if (commit <= log.base()) return true;  // a snapshot holds only committed entries
  if (!log.holds(commit)) return true;
  return log.at(commit).term() == commit_term;
}

}  // namespace

// Without pre-vote and without check_quorum's lease, Raft has no liveness
// while a removed member keeps running (thesis §4.2.3): it never hears the
// configuration that removed it, times out and sends RequestVote at ever
// higher terms, and each one deposes the leader (seed 107915, 5 members).
// raftkvd always runs both and its transport refuses removed members, so
// for this scenario's liveness phase the operator shuts them down, as the
// thesis advises. A member stays up while the latest configuration of a
// member (up, or down and restarting now) whose log may still extend the
// commit names it: an uncommitted change may add it back. A log that ends
// at or below the commit holds no such change, only the committed
// configuration or an older one (seed 208587: a learner 150 entries behind
// still named the removed n0, whose RequestVotes then deposed every leader
// through a member outside its own newest configuration); nor does a log
// that diverges from the committed prefix (seed 402784: the removed n1's
// own stale log named it). Seed 210662: the only log with the change adding
// n4 back was on a member down at the heal. Safety is checked throughout as
// before.
void Cluster::retire_removed_members() {
  const Index commit = world_.checker.committed();
  const Term commit_term = commit > 0 ? world_.checker.committed_entry(commit).term() : 0;
  const pb::ClusterConfig committed = committed_config(world_.scenario, world_.checker, commit);
  for (auto& m : members_) {
    if (core::find_member(committed, m->id()) != nullptr) continue;
    const bool named = std::any_of(members_.begin(), members_.end(), [&](const auto& other) {
      return !retired_.count(other->id()) && may_extend_commit(*other, commit, commit_term) &&
             core::find_member(other->config(), m->id()) != nullptr;
    });
    if (named) continue;
    retired_.insert(m->id());
    world_.log("liveness: n%llu was removed; shut down (no pre-vote, no check_quorum)",
               ull(m->id()));
    if (m->up()) m->crash();
  }
}

void Cluster::dispatch(const Event& e) {
  switch (e.kind) {
    case EventKind::kTick:
      on_tick(e);
      break;
    case EventKind::kDeliver:
      on_deliver(e);
      break;
    case EventKind::kDiskDone: {
      Member& m = *members_[e.member];
      if (m.up() && m.incarnation() == e.arg) m.disk_done();
      break;
    }
    case EventKind::kCrash:
      on_crash(e);
      break;
    case EventKind::kRestart:
      on_restart(e);
      break;
    case EventKind::kNemesis:
      nemesis_.act();
      break;
    case EventKind::kIsolate:
      nemesis_.isolate(members_[e.member].get());
      break;
    case EventKind::kPropose:
      workload_.propose();
      break;
    case EventKind::kRead:
      workload_.read();
      break;
    case EventKind::kTransfer:
      workload_.transfer();
      break;
    case EventKind::kProbe:
      workload_.probe();
      break;
    case EventKind::kSnapshotDone: {
      Member& m = *members_[e.member];
      if (m.up() && m.incarnation() == e.arg) m.snapshot_done();
      break;
    }
    case EventKind::kTransferDone:
      transfers_.finish(e.arg);
      break;
    case EventKind::kMembership:
      membership_.act();
      break;
  }
}

// A tick chain belongs to one incarnation; a crash ends it and the restart
// starts a new one.
void Cluster::on_tick(const Event& e) {
  Member& m = *members_[e.member];
  if (!m.up() || m.incarnation() != e.arg) return;
  world_.queue.after(world_.scenario.tick, EventKind::kTick, e.member, e.arg);
  m.tick();
}

void Cluster::on_deliver(const Event& e) {
  std::optional<pb::Message> message = world_.net.take(e.arg);
  if (!message) return;
  Member& m = *members_[message->to()];
  if (!m.up()) return;
  if (world_.trace.enabled) {
    world_.log("n%llu <- n%llu %s", ull(message->to()), ull(message->from()),
               describe(*message).c_str());
  }
  m.deliver(*message);
}

void Cluster::on_crash(const Event& e) {
  Member& m = *members_[e.member];
  if (!world_.chaos || !m.up()) return;
  m.crash();
  world_.queue.after(e.arg, EventKind::kRestart, e.member);
}

void Cluster::on_restart(const Event& e) {
  Member& m = *members_[e.member];
  if (!m.up() && !retired_.count(m.id())) m.start();
}

}  // namespace raftkv::sim
