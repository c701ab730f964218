// One simulated cluster member: a real core::Core driven exactly as ready.h
// demands, a simulated disk, and a volatile state machine.
//
// Driver contract, per Ready (ready.h):
//   1. hard state and entries become a disk write with a random latency;
//   2. `messages` go to the network at once;
//   3. `messages_after_persist` are held until every write submitted up to
//      and including this Ready has completed;
//   4. each completed write with entries is reported by on_persisted();
//   5. `committed` entries are applied in order, then on_applied();
//   6. a ReadState is answered once the state machine reaches its index.
// A crash drops the core, the held messages, the pending writes (but a
// random prefix) and the state machine; a restart builds a new Core from
// exactly what the disk holds, and the state machine from its snapshot.
//
// Snapshots: every `snapshot_every` applied entries the member snapshots its
// state machine at its applied index (with the core's snapshot_meta) and
// writes it; once durable, on_snapshot_taken() with a random trailing. An
// InstallSnapshot the core emits goes to the transfer layer, which later
// hands the receiver the message with the sender's snapshot; the receiver
// installs it when its core says so (Ready::snapshot): state machine
// replaced at once, disk (snapshot stored, log reset) in one log write.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/core.h"
#include "disk.h"
#include "shadow_log.h"
#include "state_machine.h"
#include "world.h"

namespace raftkv::sim {

class Member {
 public:
  Member(NodeId id, World& world);

  NodeId id() const { return id_; }
  bool up() const { return core_ != nullptr; }
  std::uint64_t incarnation() const { return incarnation_; }
  // Role and term as last reported through Ready::soft_state.
  const core::SoftState& soft() const { return soft_; }
  const ShadowLog& log() const { return log_; }
  const StateMachine& state() const { return state_; }
  // The snapshot this member can send: the newest stored, or being installed.
  const std::optional<Snapshot>& snapshot_store() const { return store_; }
  Time disk_busy_until() const { return disk_.busy_until(); }
  std::size_t pending_writes() const { return disk_.pending(); }
  core::Status status() const { return core_->status(); }

  // (Re)creates the core from the disk and starts its tick chain.
  void start();
  void crash();
  // The disk is slow (write latency x20) until `until`.
  void slow_disk_until(Time until) { slow_until_ = until; }

  void tick();
  void deliver(const pb::Message& message);
  void disk_done();
  // The snapshot this member was writing is durable.
  void snapshot_done();
  // A transfer brought `snapshot` with the InstallSnapshot `message`.
  void deliver_snapshot(const pb::Message& message, const Snapshot& snapshot);
  // The transfer of a snapshot to `to` ended.
  void report_snapshot(NodeId to, bool ok);
  core::ProposeResult propose(std::string data);
  core::ReadResult read(std::uint64_t request_id);
  core::TransferResult transfer(NodeId target);
  // Membership (membership.cc): a change proposed here, and the
  // configuration in force as last reported.
  core::ChangeResult change(pb::ConfChange change, std::string* error);
  const pb::ClusterConfig& config() const { return config_; }

 private:
  core::Options options() const;
  void drain();
  void handle(core::Ready& ready);
  void persist(core::Ready& ready, bool was_leader);
  bool install(const pb::SnapshotMeta& meta, Disk::Write& write);
  void maybe_take_snapshot();
  void send(const pb::Message& message);
  void send_after_persist(std::vector<pb::Message> messages);
  void release_held();
  void note_soft_state(const core::SoftState& soft);
  void apply(const std::vector<core::SharedEntry>& committed);
  void note_reads(const core::Ready& ready);
  void note_dropped(const core::Ready& ready);
  void check_config(const core::Ready& ready);
  void answer_reads();
  void maybe_crash_after_vote(const core::Ready& ready);
  void maybe_isolate(double chance);
  Time disk_latency();

  NodeId id_;
  World& world_;
  std::unique_ptr<core::Core> core_;
  std::uint64_t incarnation_ = 0;
  Disk disk_;
  ShadowLog log_;
  core::SoftState soft_;
  // messages_after_persist waiting for the disk: (writes that must be
  // complete, messages).
  std::deque<std::pair<std::uint64_t, std::vector<pb::Message>>> held_;
  StateMachine state_;
  std::optional<Snapshot> store_;
  std::optional<Snapshot> received_;  // with the last InstallSnapshot delivered
  Index last_snapshot_ = 0;           // where the member last snapshotted
  std::vector<core::ReadState> waiting_reads_;
  Time slow_until_ = 0;
  // Leader of soft_.term that has not committed anything yet.
  bool first_commit_pending_ = false;
  // The configuration as the core last reported it (Ready::config), and the
  // highest index a configuration entry may sit at in the log (membership.cc).
  pb::ClusterConfig config_;
  Index conf_high_water_ = 0;
  // The configuration of the snapshot log_ starts after (none: bootstrap).
  pb::ClusterConfig log_base_config_;
};

}  // namespace raftkv::sim
