// RaftNode drives one Raft core on the libuv loop: it owns the tick timer,
// turns peer messages into Core::step(), carries out each Ready (write-ahead
// log, transport, state machine) and matches applied entries and confirmed
// reads back to the client requests waiting for them.
//
// A write's life: submit_write() tags the command with (origin, request id)
// and proposes it (a follower's core forwards it to the leader). At the end
// of the loop iteration (uv_prepare: the group-commit point) the Ready's
// entries go to the WAL in one batch and AppendEntries go out at once; when
// a majority has them durably the leader commits, every member applies, and
// the member holding the request answers it from its own apply.
//
// Snapshots (snapshots.cc; docs/design.md, "Snapshots"): every
// --snapshot-entries applied entries (and on take_snapshot()) a forked
// child writes the state machine to a snapshot file, then the log before it
// (minus --snapshot-trailing entries) is compacted. A leader streams its
// newest snapshot to a follower whose core asks for one (InstallSnapshot);
// a follower receives it chunk by chunk and installs it when its core says
// so (Ready::snapshot).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <uv.h>

#include "core/core.h"
#include "daemon/config.h"
#include "daemon/disk_watchdog.h"
#include "daemon/leader_transfers.h"
#include "daemon/membership.h"
#include "daemon/pending_requests.h"
#include "daemon/snapshot_taker.h"
#include "kv.pb.h"
#include "kv/command.h"
#include "kv/state_machine.h"
#include "storage/snapshot_file.h"
#include "storage/wal.h"
#include "transport/snapshot_receiver.h"
#include "transport/snapshot_sender.h"
#include "transport/transport.h"

namespace raftkv::daemon {

struct MembershipMetrics {
  std::uint64_t changes_proposed = 0;  // admin changes this member proposed
  std::uint64_t changes_refused = 0;   // ... refused by the core (409)
  std::uint64_t changes_applied = 0;   // configuration entries applied (any origin)
};

struct NodeMetrics {
  std::uint64_t proposals = 0;
  std::uint64_t proposals_refused = 0;
  std::uint64_t entries_applied = 0;
  std::uint64_t reads_confirmed = 0;
  std::uint64_t reads_failed = 0;
  std::uint64_t requests_timed_out = 0;
  std::uint64_t leader_changes = 0;
};

struct SnapshotMetrics {
  std::uint64_t installs = 0;         // snapshots received from a leader and installed
  std::uint64_t last_install_ms = 0;  // loading the last one into the state machine
  std::uint64_t sends_started = 0;    // transfers to followers begun
  std::uint64_t sends_succeeded = 0;  // ... the follower verified and kept the file
  std::uint64_t sends_failed = 0;     // ... ended without (give-up, refusal, error)
  std::uint64_t sends_cancelled = 0;  // ... abandoned: leadership lost, newer snapshot
  std::uint64_t sent_bytes = 0;       // chunk data sent by finished transfers
  std::uint64_t compactions = 0;      // log compactions after a snapshot
};

// What POST /snapshot gets.
enum class SnapshotStatus {
  kOk,           // durable: `index`, `term`
  kBusy,         // one is already being taken (HTTP 409)
  kNothing,      // nothing applied yet (HTTP 409)
  kUnavailable,  // shutting down or failed (HTTP 503)
  kFailed,       // the snapshot could not be written (HTTP 500; `reason`)
};

struct SnapshotOutcome {
  SnapshotStatus status = SnapshotStatus::kOk;
  std::uint64_t index = 0;
  std::uint64_t term = 0;
  std::string reason;
};

using SnapshotCallback = std::function<void(const SnapshotOutcome&)>;

class RaftNode {
 public:
  // `recovered` is what Wal::open() read from the data dir; `state` holds
  // the pairs of recovered.snapshot, if there is one (loaded during
  // recovery through a SnapshotSink).
  RaftNode(uv_loop_t* loop, const DaemonConfig& config, std::unique_ptr<storage::Wal> wal,
           storage::RecoveredState recovered, kv::StateMachine state);
  ~RaftNode();
  RaftNode(const RaftNode&) = delete;
  RaftNode& operator=(const RaftNode&) = delete;

  // Binds the peer port; 0 or a libuv error.
  int start();

  // Proposes `command` (tagged here with origin and request id; the caller
  // may reuse the message as soon as this returns); `done` runs once it is
  // applied (kOk, kNotFound, kPreconditionFailed), refused (kUnavailable) or
  // timed out (kTimeout).
  void submit_write(pb::KvCommand* command, RequestCallback done);

  // Confirms a linearizable read; `done` runs with kOk once the local state
  // machine may answer it.
  void linearizable_read(RequestCallback done);

  // Hands leadership to voter `target` (POST /leader). `done` runs once the
  // target leads, the transfer failed or the request timed out (see
  // leader_transfers.h), or at once when the target already leads, this
  // member does not lead or the target is not a voter.
  void transfer_leadership(core::NodeId target, TransferCallback done);

  // Takes a snapshot at the applied index now and compacts the log; `done`
  // runs once the snapshot file is durable (or with why not).
  void take_snapshot(SnapshotCallback done);

  // Proposes a membership change (POST /members, DELETE /members/ID); `done`
  // runs once it is applied, refused, or timed out (membership.h).
  void change_membership(pb::ConfChange change, ChangeCallback done);
  // The configuration in force on this member.
  const pb::ClusterConfig& membership() const;
  Standing standing() const { return membership_->standing(); }
  const MembershipMetrics& membership_metrics() const { return membership_metrics_; }
  // Why this member answers client requests 503 (joining, removed), or
  // nullptr when it serves them.
  const char* not_serving_reason() const;

  const kv::StateMachine& state_machine() const { return state_machine_; }
  core::Status status() const;
  const NodeMetrics& metrics() const { return metrics_; }
  const storage::Wal& wal() const { return *wal_; }
  const transport::Transport& transport() const { return *transport_; }
  const SnapshotTaker& snapshot_taker() const { return *taker_; }
  const SnapshotMetrics& snapshot_metrics() const { return snapshot_metrics_; }
  const transport::SnapshotReceiver& snapshot_receiver() const { return *receiver_; }
  std::size_t snapshot_sends_in_progress() const { return senders_.size(); }
  const DaemonConfig& config() const { return config_; }
  const DiskWatchdog& disk_watchdog() const { return disk_watchdog_; }
  // Set when the disk failed: the member no longer acknowledges anything.
  const std::string& fatal_error() const { return fatal_error_; }

  // Fails pending requests, finishes in-flight writes, closes every handle,
  // then runs `done`.
  void shutdown(std::function<void()> done);
  // Runs when the node hits an unrecoverable error (a failed WAL write).
  void on_fatal(std::function<void()> callback) { on_fatal_ = std::move(callback); }
  // Runs whenever the role, term or leader changes (systemd STATUS= lines).
  void on_soft_state(std::function<void(const core::SoftState&)> callback) {
    on_soft_state_ = std::move(callback);
  }

 private:
  static void on_tick(uv_timer_t* timer);
  static void on_prepare(uv_prepare_t* prepare);

  void tick();
  void process_ready();
  void handle_ready(core::Ready ready);
  void persist(core::Ready& ready);
  void send_all(std::vector<core::OutMessage>& messages);
  void send_all(std::vector<pb::Message>& messages);
  void send_one(pb::Message& message, std::span<const core::SharedEntry> entries);
  void on_peer_message(pb::Message&& message);
  // A write completed: entries durable up to (index, term) when index != 0,
  // a hard state of hard_state_term when that is != 0.
  void on_write_done(std::uint64_t seq, core::Index index, core::Term term,
                     core::Term hard_state_term, int status);
  void flush_after_persist();
  void apply(const std::vector<core::SharedEntry>& entries);
  void apply_entry(const pb::Entry& entry);
  void confirm_reads(const std::vector<core::ReadState>& reads);
  void release_reads();
  void fail_reads(const std::vector<std::uint64_t>& ids);
  void fail_proposals(const std::vector<core::DroppedProposal>& dropped);
  void note_soft_state(const core::SoftState& soft);
  void close_handles();
  void close_transport_and_log();

  // snapshots.cc
  void restore_snapshot_state(const storage::RecoveredState& recovered);
  void maybe_take_snapshot();
  core::Index plus_interval(core::Index index) const;  // index + --snapshot-entries
  bool start_snapshot(SnapshotCallback done, std::string* error);
  pb::SnapshotMeta with_addresses(pb::SnapshotMeta meta) const;
  void on_snapshot_written(const SnapshotResult& result);
  void compact_after(const pb::SnapshotMeta& meta);
  void prune_snapshots();
  void send_snapshot(const pb::Message& install);
  void on_snapshot_sent(core::NodeId peer, bool ok, const std::string& error);
  void cancel_snapshot_sends(const char* why);
  void restart_idle_sends();
  void on_snapshot_ack(const pb::Message& message);
  void on_snapshot_chunk(const pb::Message& message);
  void on_snapshot_received(core::NodeId from, core::Term term, const storage::SnapshotInfo& info);
  void install_snapshot(const pb::SnapshotMeta& meta);
  void persist_snapshot(core::Ready& ready);
  void close_snapshots(std::function<void()> done);
  // raft_node_disk.cc
  void watch_disk();
  core::NodeId handoff_target(const core::Status& status) const;
  // raft_node_membership.cc
  std::unique_ptr<MembershipView> make_membership_view(
      const storage::RecoveredState& recovered) const;
  std::vector<transport::Peer> initial_peers();
  void on_config(const pb::ClusterConfig& config);
  void log_standing() const;
  void sync_peers();
  void apply_conf_change(const pb::Entry& entry);

  void fail(const std::string& reason);
  std::uint64_t next_request_id();
  std::uint64_t now_ms() const;
  RequestResult unavailable(core::ProposeResult result) const;

  uv_loop_t* loop_;
  DaemonConfig config_;
  std::unique_ptr<storage::Wal> wal_;
  std::unique_ptr<core::Core> core_;
  std::unique_ptr<transport::Transport> transport_;
  kv::StateMachine state_machine_;
  kv::CommandDecoder decoder_;  // for apply_entry(): no allocation per entry

  // Snapshots (snapshots.cc).
  std::unique_ptr<SnapshotTaker> taker_;
  std::unique_ptr<transport::SnapshotReceiver> receiver_;
  std::map<core::NodeId, std::unique_ptr<transport::SnapshotSender>> senders_;
  std::optional<storage::SnapshotInfo> newest_snapshot_;  // what a leader sends
  core::Index last_snapshot_index_ = 0;      // the threshold counts applied entries from here
  core::Index snapshot_retry_at_ = 0;        // after a failure, no new attempt before this
  SnapshotCallback snapshot_waiter_;         // the POST /snapshot being served
  bool pruning_ = false;                     // a prune job is in the threadpool
  std::set<std::string> damaged_snapshots_;  // failed verification at start
  SnapshotMetrics snapshot_metrics_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();  // for threadpool completions

  uv_timer_t tick_timer_{};
  uv_prepare_t prepare_{};
  int open_handles_ = 0;
  std::function<void()> on_closed_;

  // Membership (raft_node_membership.cc).
  std::unique_ptr<MembershipView> membership_;
  ChangeWaiters changes_;
  MembershipMetrics membership_metrics_;

  PendingRequests pending_;
  LeaderTransfers transfers_;
  DiskWatchdog disk_watchdog_;
  ReadsAwaitingApply reads_awaiting_apply_;
  std::uint64_t request_id_base_ = 0;
  std::uint64_t request_counter_ = 0;

  // Persistence pipeline: WAL writes complete in submission order.
  std::uint64_t writes_submitted_ = 0;
  std::uint64_t writes_completed_ = 0;
  // Messages waiting for write number `first` to be durable.
  std::deque<std::pair<std::uint64_t, std::vector<pb::Message>>> after_persist_;

  core::Index applied_index_ = 0;
  core::SoftState soft_state_;
  NodeMetrics metrics_;
  std::string fatal_error_;
  std::function<void()> on_fatal_;
  std::function<void(const core::SoftState&)> on_soft_state_;
  bool shutting_down_ = false;
};

}  // namespace raftkv::daemon
