// A tiny in-test driver for several Cores: messages go through a queue the
// test delivers by hand (or all at once), persistence is acknowledged at once
// or when the test says so, and each member's "disk" is kept so that members
// can be restarted from it.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/core.h"

namespace raftkv::core::test {

struct Disk {
  pb::HardState hard_state;
  std::optional<pb::SnapshotMeta> snapshot;
  // The state machine the snapshot holds: the entries 1..snapshot->index().
  std::vector<pb::Entry> snapshot_state;
  // Contiguous; index 1 at position 0 until a snapshot compacts a prefix.
  std::vector<pb::Entry> entries;

  Index first_index() const;
  Index last_index() const;
};

struct Member {
  std::unique_ptr<Core> core;
  Options options;
  Disk disk;
  bool auto_persist = true;
  // Written to the disk but not yet acknowledged (manual persistence).
  bool unacked = false;
  bool unacked_hard_state = false;  // ... and it held a hard state
  std::vector<pb::Message> held;    // messages_after_persist waiting for it
  // The state machine: every entry applied, index 1 at position 0 (loaded
  // from the snapshot at start, replaced by an installed one).
  std::vector<pb::Entry> applied;
  // The snapshot state received with the last InstallSnapshot, installed
  // when the core asks (Ready::snapshot).
  std::vector<pb::Entry> received_snapshot;
  std::vector<ReadState> reads;
  std::vector<std::uint64_t> failed_reads;
  std::vector<DroppedProposal> dropped;
  std::vector<pb::ClusterConfig> configs;  // every Ready::config, in order
};

class Cluster {
 public:
  // Members with the given ids; `tweak` adjusts every member's Options.
  explicit Cluster(
      std::vector<NodeId> ids, const std::function<void(Options&)>& tweak = [](Options&) {});
  // Members started from given disks (hard state and log).
  Cluster(
      std::vector<NodeId> ids, std::map<NodeId, Disk> disks,
      const std::function<void(Options&)>& tweak = [](Options&) {});

  Core& core(NodeId id) { return *members_.at(id).core; }
  Member& member(NodeId id) { return members_.at(id); }

  // Collects one member's Ready: writes its disk, queues messages, applies.
  void process(NodeId id);
  // Acknowledges everything written on a manual-persistence member.
  void persist(NodeId id);
  // Delivers queued messages (and processes members) until nothing moves.
  // Returns the number of messages delivered.
  int stabilize();
  // Delivers the first queued message only (after processing everyone).
  bool deliver_one();
  void process_all();

  // Network faults: messages between cut pairs are dropped.
  void isolate(NodeId id);
  void heal() { cut_.clear(); }
  void cut(NodeId a, NodeId b);
  // Drops every message matching the predicate from now on (until cleared).
  std::function<bool(const pb::Message&)> drop = nullptr;

  // Ticks `id` until it becomes leader (delivering messages meanwhile).
  void elect(NodeId id);
  void tick(NodeId id, int times = 1);
  void tick_all(int times = 1);
  NodeId leader() const;

  // Restarts a member from its disk (losing everything not on it).
  void restart(NodeId id);

  // Snapshots `id`'s state machine at `index` (<= applied) onto its disk and
  // compacts its log, keeping `trailing` entries before the snapshot point.
  void take_snapshot(NodeId id, Index index, Index trailing = 0);
  // InstallSnapshot messages: the receiver gets the sender's stored snapshot
  // state with the message and the sender's core hears report_snapshot(ok)
  // (false when the sender holds no such snapshot, the link is cut, or
  // `fail_transfer` says so). With `hold_snapshots` they are parked in
  // held_snapshots() instead, like a transfer still running.
  std::function<bool(const pb::Message&)> fail_transfer = nullptr;
  bool hold_snapshots = false;
  std::vector<pb::Message>& held_snapshots() { return held_snapshots_; }
  // Delivers a (held) InstallSnapshot as above.
  void deliver_snapshot(pb::Message m);

  // Starts a new member with an empty disk, joining (Options::joining) the
  // cluster; the cluster-wide tweak applies, then `tweak`.
  void add(
      NodeId id, const std::function<void(Options&)>& tweak = [](Options&) {});

  std::deque<pb::Message>& queue() { return queue_; }
  std::vector<pb::Message>& sent_log() { return sent_log_; }

 private:
  void start(NodeId id, Disk disk);
  std::map<NodeId, std::function<void(Options&)>> extra_tweaks_;
  void write(Member& m, const Ready& ready);
  void enqueue(pb::Message&& m);
  bool blocked(const pb::Message& m) const;

  std::vector<NodeId> ids_;
  std::vector<NodeId> bootstrap_;  // the initial voters (ids_ grows with add())
  std::function<void(Options&)> tweak_;
  std::map<NodeId, Member> members_;
  std::deque<pb::Message> queue_;
  std::set<std::pair<NodeId, NodeId>> cut_;
  std::vector<pb::Message> sent_log_;  // every message any member emitted
  std::vector<pb::Message> held_snapshots_;
};

Options default_options(NodeId id, std::vector<NodeId> voters);
std::vector<pb::Entry> entries_with_terms(const std::vector<Term>& terms);

}  // namespace raftkv::core::test
