#include "member.h"

#include <algorithm>
#include <utility>

#include "snapshot_transfer.h"

namespace raftkv::sim {

Member::Member(NodeId id, World& world) : id_(id), world_(world) {}

core::Options Member::options() const {
  const Scenario& s = world_.scenario;
  core::Options o;
  o.id = id_;
  for (NodeId v = 0; v < s.members; ++v) o.voters.push_back(v);
  o.joining = id_ >= s.members;  // a spare: empty, waits to be added
  o.promote_within_entries = s.promote_within_entries;
  o.election_ticks = s.election_ticks;
  o.heartbeat_ticks = s.heartbeat_ticks;
  o.pre_vote = s.pre_vote;
  o.check_quorum = s.check_quorum;
  o.max_append_bytes = s.max_append_bytes;
  o.max_inflight_messages = s.max_inflight_messages;
  // A new seed per incarnation: a restarted member draws new timeouts.
  o.seed = mix(mix(s.seed, id_), incarnation_);
  o.faults = s.faults;
  return o;
}

void Member::start() {
  core_ = std::make_unique<core::Core>(options(), disk_.recover());
  state_ = StateMachine{};
  store_ = disk_.snapshot();
  received_.reset();
  if (store_) {
    const pb::SnapshotMeta& meta = store_->meta;
    state_ = store_->state;
    log_.reset(meta.index(), meta.term(), state_.hash, disk_.log());
    world_.checker.on_state_loaded(id_, *store_, "restarted from");
  } else {
    log_.reset(disk_.log());
  }
  last_snapshot_ = state_.applied;
  config_ = core_->config();
  conf_high_water_ = log_.last();
  log_base_config_ = store_ ? store_->meta.config() : pb::ClusterConfig{};
  soft_ = core::SoftState{core::Role::kFollower, core::kNoNode, core_->term()};
  world_.log("n%llu start (incarnation %llu, term %llu, log %llu)", ull(id_), ull(incarnation_),
             ull(core_->term()), ull(log_.last()));
  // Members' clocks tick at the same rate but in different phases.
  world_.queue.after(world_.rng.between(1, world_.scenario.tick), EventKind::kTick,
                     static_cast<std::uint32_t>(id_), incarnation_);
  drain();
}

void Member::crash() {
  std::size_t survivors = world_.rng.below(disk_.pending() + 1);
  // A snapshot being written survives if its rename reached the disk.
  bool snapshot_survives = world_.rng.chance(0.5);
  world_.log("n%llu CRASH (%zu of %zu pending writes survive, %zu held sends lost%s)", ull(id_),
             survivors, disk_.pending(), held_.size(),
             !disk_.snapshot_pending() ? ""
             : snapshot_survives       ? ", snapshot written"
                                       : ", snapshot lost");
  disk_.crash(survivors, snapshot_survives);
  core_.reset();
  ++incarnation_;
  held_.clear();
  waiting_reads_.clear();
  state_ = StateMachine{};
  soft_ = core::SoftState{};
  world_.checker.on_crash(id_);
  ++world_.stats.crashes;
}

void Member::tick() {
  core_->tick();
  drain();
}

void Member::deliver(const pb::Message& message) {
  core_->step(message);
  drain();
}

core::ProposeResult Member::propose(std::string data) {
  core::ProposeResult result = core_->propose(std::move(data));
  drain();
  return result;
}

// The read is registered with the checker before the core can answer it:
// what was committed at this instant is what the answer must include.
core::ReadResult Member::read(std::uint64_t request_id) {
  core::ReadResult result = core_->read_index(request_id);
  if (result == core::ReadResult::kAccepted) world_.checker.on_read_requested(id_, request_id);
  drain();
  return result;
}

core::TransferResult Member::transfer(NodeId target) {
  core::TransferResult result = core_->transfer_leadership(target);
  drain();
  return result;
}

void Member::disk_done() {
  Disk::Write write = disk_.complete_next();
  if (write.hard_state) core_->on_term_persisted(write.hard_state->term());
  release_held();
  if (write.install) {
    // ready.h: an installed snapshot is reported durable like entries.
    core_->on_persisted(write.install->meta.index(), write.install->meta.term());
  }
  if (!write.entries.empty()) {
    const pb::Entry& last = write.entries.back();
    core_->on_persisted(last.index(), last.term());
  }
  drain();
}

void Member::snapshot_done() {
  Disk::SnapshotWrite write = disk_.complete_snapshot();
  const pb::SnapshotMeta& meta = write.snapshot.meta;
  if (!store_ || meta.index() >= store_->meta.index()) store_ = write.snapshot;
  world_.log("n%llu snapshot at %llu written, log kept from %llu", ull(id_), ull(meta.index()),
             ull(write.keep_from));
  ++world_.stats.snapshots;
  core_->on_snapshot_taken(meta, write.keep_from);
  drain();
}

void Member::deliver_snapshot(const pb::Message& message, const Snapshot& snapshot) {
  received_ = snapshot;
  core_->step(message);
  drain();
}

void Member::report_snapshot(NodeId to, bool ok) {
  core_->report_snapshot(to, ok);
  drain();
}

// Every `snapshot_every` applied entries, one at a time: the state machine
// as of now, with the metadata the core gives for it, a random trailing.
void Member::maybe_take_snapshot() {
  const Scenario& s = world_.scenario;
  if (s.snapshot_every == 0 || disk_.snapshot_pending()) return;
  if (state_.applied < last_snapshot_ + s.snapshot_every) return;
  std::optional<pb::SnapshotMeta> meta = core_->snapshot_meta(state_.applied);
  if (!meta) return;
  Snapshot snapshot{*meta, state_};
  world_.checker.on_snapshot(id_, snapshot, "took");
  last_snapshot_ = state_.applied;
  Index trailing = std::min<Index>(world_.rng.between(0, s.snapshot_trailing_max), meta->index());
  Index keep_from = meta->index() + 1 - trailing;
  Time latency = disk_latency() + s.snapshot_write_per_entry * meta->index();
  world_.log("n%llu take snapshot at %llu (trailing %llu)", ull(id_), ull(meta->index()),
             ull(trailing));
  disk_.submit_snapshot(Disk::SnapshotWrite{std::move(snapshot), keep_from});
  world_.queue.after(latency, EventKind::kSnapshotDone, static_cast<std::uint32_t>(id_),
                     incarnation_);
}

void Member::drain() {
  while (core_ && core_->has_ready()) {
    core::Ready ready = core_->ready();
    handle(ready);
  }
}

void Member::handle(core::Ready& ready) {
  bool was_leader = soft_.role == core::Role::kLeader &&
                    (!ready.soft_state || (ready.soft_state->role == core::Role::kLeader &&
                                           ready.soft_state->term == soft_.term));
  persist(ready, was_leader);
  maybe_crash_after_vote(ready);
  // Delivered in memory: entries copied in, as the transport puts them on
  // the wire.
  for (core::OutMessage& m : ready.messages) send(core::materialize(std::move(m)));
  send_after_persist(std::move(ready.messages_after_persist));
  if (ready.soft_state) note_soft_state(*ready.soft_state);
  check_config(ready);
  apply(ready.committed);
  note_reads(ready);
  note_dropped(ready);
}

void Member::note_dropped(const core::Ready& ready) {
  for (const core::DroppedProposal& d : ready.dropped_proposals) {
    world_.log("n%llu proposal %s dropped (reason %d)", ull(id_), d.data.c_str(),
               static_cast<int>(d.reason));
    world_.checker.on_dropped(id_, d.data);
    ++world_.stats.dropped;
  }
}

// An InstallSnapshot goes to the transfer layer (the daemon streams the
// snapshot file); everything else to the network.
void Member::send(const pb::Message& message) {
  if (message.has_install_snapshot()) {
    world_.transfers->start(*this, message);
  } else {
    world_.net.send(message);
  }
}

// Steps 1 and 4 of the contract: one disk write per Ready; the shadow log
// (the core's in-memory log) and the state machine change at once.
void Member::persist(core::Ready& ready, bool was_leader) {
  if (!ready.hard_state && !ready.snapshot && ready.entries.empty()) return;
  std::vector<pb::Entry> entries = core::copy_entries(ready.entries);
  Disk::Write write{ready.hard_state, std::nullopt, entries, 0};
  if (ready.snapshot && !install(*ready.snapshot, write)) return;
  if (!entries.empty()) {
    Index first = entries.front().index();
    Index last_before = log_.last();
    world_.checker.on_write(id_, was_leader, first, last_before);
    if (!log_.write(entries)) {
      world_.checker.on_bad_write(id_, first, last_before);
      return;
    }
    world_.checker.on_log_written(id_, log_, first);
  }
  Time latency = disk_latency();
  Time done = disk_.submit(std::move(write), world_.queue.now(), latency);
  world_.queue.push(done, EventKind::kDiskDone, static_cast<std::uint32_t>(id_), incarnation_);
}

// Ready::snapshot: the state machine becomes the received snapshot's now;
// the disk stores it and resets the log with this Ready's write.
bool Member::install(const pb::SnapshotMeta& meta, Disk::Write& write) {
  if (!received_ || received_->meta.index() != meta.index() ||
      received_->meta.term() != meta.term()) {
    world_.checker.fail("Driver contract (install)",
                        "n" + std::to_string(id_) + " asked to install a snapshot at " +
                            std::to_string(meta.index()) + " it never received");
    return false;
  }
  world_.log("n%llu INSTALL snapshot at %llu/%llu (applied %llu before)", ull(id_),
             ull(meta.index()), ull(meta.term()), ull(state_.applied));
  state_ = received_->state;
  world_.checker.on_state_loaded(id_, *received_, "installed");
  log_.reset(meta.index(), meta.term(), state_.hash, {});
  log_base_config_ = meta.config();
  store_ = received_;
  last_snapshot_ = meta.index();
  write.install = received_;
  ++world_.stats.installs;
  return true;
}

Time Member::disk_latency() {
  const Scenario& s = world_.scenario;
  Time latency = world_.rng.between(s.disk_min, s.disk_max);
  if (world_.rng.chance(s.disk_stall_chance)) latency += world_.rng.between(0, s.disk_stall);
  if (world_.queue.now() < slow_until_) latency *= 20;
  return latency;
}

// Step 3: these messages promise durable state, so they wait for every
// write submitted so far (this Ready's included).
void Member::send_after_persist(std::vector<pb::Message> messages) {
  if (messages.empty()) return;
  if (disk_.completed() >= disk_.submitted()) {
    for (const pb::Message& m : messages) send(m);
    return;
  }
  held_.emplace_back(disk_.submitted(), std::move(messages));
}

void Member::release_held() {
  while (!held_.empty() && held_.front().first <= disk_.completed()) {
    for (const pb::Message& m : held_.front().second) send(m);
    held_.pop_front();
  }
}

void Member::note_soft_state(const core::SoftState& soft) {
  bool new_leader = soft.role == core::Role::kLeader &&
                    (soft_.role != core::Role::kLeader || soft_.term != soft.term);
  soft_ = soft;
  if (!new_leader) return;
  ++world_.stats.leaders;
  first_commit_pending_ = true;
  maybe_isolate(world_.scenario.isolate_new_leader);
  world_.log("n%llu LEADER of term %llu (log %llu, committed so far %llu)", ull(id_),
             ull(soft.term), ull(log_.last()), ull(world_.checker.committed()));
  world_.checker.on_leader(id_, soft.term, log_);
}

// Step 5. The state machine is a list of applied entries, kept by the
// checker; probes of the liveness phase are recognised here.
void Member::apply(const std::vector<core::SharedEntry>& committed) {
  if (committed.empty()) return;
  for (const core::SharedEntry& shared : committed) {
    const pb::Entry& e = *shared;
    Index before = world_.checker.committed();
    state_.apply(e);
    world_.checker.on_apply(id_, e, state_);
    if (world_.checker.committed() > before) ++world_.stats.committed;
    if (world_.checker.committed() > before && e.type() == pb::ENTRY_CONF_CHANGE) {
      ++world_.stats.conf_changes;
    }
    if (world_.probe_open && !world_.probe_committed && e.data().rfind("probe-", 0) == 0) {
      world_.probe_committed = true;
      world_.probe_index = e.index();
    }
  }
  if (first_commit_pending_ && soft_.role == core::Role::kLeader) {
    first_commit_pending_ = false;
    maybe_isolate(world_.scenario.isolate_after_first_commit);
  }
  world_.log("n%llu applied up to %llu", ull(id_), ull(state_.applied));
  core_->on_applied(state_.applied);
  answer_reads();
  maybe_take_snapshot();
}

// Step 6: the linearizability check happens when the core returns the
// ReadState; the read is served once the state machine catches up.
void Member::note_reads(const core::Ready& ready) {
  for (const core::ReadState& r : ready.reads) {
    world_.log("n%llu read %llu -> index %llu", ull(id_), ull(r.request_id), ull(r.index));
    world_.checker.on_read_state(id_, r.request_id, r.index);
    waiting_reads_.push_back(r);
  }
  answer_reads();
}

void Member::answer_reads() {
  std::size_t kept = 0;
  for (const core::ReadState& r : waiting_reads_) {
    if (r.index <= state_.applied) {
      ++world_.stats.reads;
    } else {
      waiting_reads_[kept++] = r;
    }
  }
  waiting_reads_.resize(kept);
}

// A crash right after a vote is granted is the schedule that exposes a vote
// answered before it was durable (two votes in one term after restart).
void Member::maybe_crash_after_vote(const core::Ready& ready) {
  if (!world_.chaos) return;
  auto granted = [](const pb::Message& m) {
    return m.has_request_vote_response() && m.request_vote_response().granted() &&
           !m.request_vote_response().pre_vote();
  };
  bool voted = false;
  for (const core::OutMessage& m : ready.messages) voted = voted || granted(m.message);
  for (const pb::Message& m : ready.messages_after_persist) voted = voted || granted(m);
  if (!voted || !world_.rng.chance(world_.scenario.crash_after_vote)) return;
  Time delay = world_.rng.between(0, world_.scenario.disk_max);
  Time downtime = world_.rng.between(kMillisecond, 3 * world_.scenario.tick);
  world_.queue.after(delay, EventKind::kCrash, static_cast<std::uint32_t>(id_), downtime);
}

// Cuts this member off within about one message delay, so some of what it
// just sent is lost with it.
void Member::maybe_isolate(double chance) {
  if (!world_.chaos || !world_.rng.chance(chance)) return;
  Time delay = world_.rng.between(0, world_.net.profile().max_delay);
  world_.queue.after(delay, EventKind::kIsolate, static_cast<std::uint32_t>(id_));
}

}  // namespace raftkv::sim
