#include "daemon/raft_node.h"

#include <random>
#include <utility>

#include "kv/command.h"
#include "util/log.h"

namespace raftkv::daemon {
namespace {

constexpr const char* kLog = "node";

core::Options core_options(const DaemonConfig& config, bool joining) {
  core::Options options;
  options.id = config.node_id;
  for (const auto& member : config.members) options.voters.push_back(member.id);
  // Below the first configuration entry of the log: --cluster, or nothing
  // for a joining member (it learns the cluster from the leader).
  options.initial_config = config_from_spec(config.members);
  options.joining = joining;
  options.heartbeat_ticks = 1;
  options.election_ticks =
      static_cast<int>(config.election_timeout_ms / config.heartbeat_interval_ms);
  // The seed only spreads election timeouts; real entropy is right here at
  // the edge of the system (the core itself stays deterministic).
  options.seed = std::random_device{}() ^ (std::uint64_t{config.node_id} << 32);
  return options;
}

RequestStatus status_of(kv::ApplyOutcome outcome) {
  switch (outcome) {
    case kv::ApplyOutcome::kOk:
      return RequestStatus::kOk;
    case kv::ApplyOutcome::kNotFound:
      return RequestStatus::kNotFound;
    case kv::ApplyOutcome::kPreconditionFailed:
      return RequestStatus::kPreconditionFailed;
  }
  return RequestStatus::kPreconditionFailed;
}

}  // namespace

RaftNode::RaftNode(uv_loop_t* loop, const DaemonConfig& config, std::unique_ptr<storage::Wal> wal,
                   storage::RecoveredState recovered, kv::StateMachine state)
    : loop_(loop),
      config_(config),
      wal_(std::move(wal)),
      state_machine_(std::move(state)),
      // Stuck past one election timeout; a failed hand-off is retried once
      // the core has abandoned it (one election timeout) and a margin.
      disk_watchdog_(config.election_timeout_ms, 2 * config.election_timeout_ms) {
  restore_snapshot_state(recovered);
  membership_ = make_membership_view(recovered);
  core::PersistentState persistent;
  persistent.hard_state = recovered.hard_state;
  if (recovered.snapshot) persistent.snapshot = recovered.snapshot->meta;
  persistent.entries = std::move(recovered.entries);
  core_ = std::make_unique<core::Core>(core_options(config_, membership_->started_joining()),
                                       std::move(persistent));
  transport::TransportOptions transport_options;
  std::vector<transport::Peer> peers = initial_peers();
  transport_options.accept_unknown_peers = membership_->accepts_unknown_peers();
  transport_options.cluster_secret = config_.cluster_secret;
  transport_ = std::make_unique<transport::Transport>(
      loop_, config_.node_id, std::move(peers), transport_options, [this](pb::Message&& message) {
        if (!shutting_down_) on_peer_message(std::move(message));
      });
  taker_ = std::make_unique<SnapshotTaker>(loop_, config_.data_dir);
  receiver_ = std::make_unique<transport::SnapshotReceiver>(
      loop_, config_.data_dir, transport::SnapshotReceiverOptions{},
      [this](pb::Message message) {
        if (!shutting_down_) transport_->send(std::move(message));
      },
      [this](core::NodeId from, core::Term term, const storage::SnapshotInfo& info) {
        on_snapshot_received(from, term, info);
      });
  // Request ids must not repeat across restarts of this member: entries
  // proposed by an earlier incarnation may still be applied after we restart.
  std::random_device entropy;
  request_id_base_ = (std::uint64_t{entropy()} & 0xffffff) << 40;
  soft_state_.leader = core::kNoNode;
}

RaftNode::~RaftNode() = default;

int RaftNode::start() {
  const int rc = transport_->listen(config_.self().raft);
  if (rc != 0) return rc;
  uv_timer_init(loop_, &tick_timer_);
  tick_timer_.data = this;
  uv_timer_start(&tick_timer_, &RaftNode::on_tick, config_.heartbeat_interval_ms,
                 config_.heartbeat_interval_ms);
  uv_prepare_init(loop_, &prepare_);
  prepare_.data = this;
  uv_prepare_start(&prepare_, &RaftNode::on_prepare);
  open_handles_ = 2;
  return 0;
}

void RaftNode::on_tick(uv_timer_t* timer) {
  static_cast<RaftNode*>(timer->data)->tick();
}

void RaftNode::on_prepare(uv_prepare_t* prepare) {
  static_cast<RaftNode*>(prepare->data)->process_ready();
}

// Snapshot transfer traffic is the daemon's, not the core's: chunks go to
// the receiver, acks to the sender of that peer (snapshots.cc).
void RaftNode::on_peer_message(pb::Message&& message) {
  if (message.has_snapshot_chunk()) return on_snapshot_chunk(message);
  if (message.has_snapshot_chunk_ack()) return on_snapshot_ack(message);
  // Moved, not copied: an AppendEntries carries a whole batch of entries.
  core_->step(std::move(message));
}

void RaftNode::tick() {
  core_->tick();
  const std::size_t before = pending_.size();
  pending_.expire(now_ms());
  metrics_.requests_timed_out += before - pending_.size();
  transfers_.on_tick(now_ms(), soft_state_);
  metrics_.requests_timed_out += changes_.expire(now_ms());
  sync_peers();
  watch_disk();
}

std::uint64_t RaftNode::now_ms() const {
  return uv_now(loop_);
}

std::uint64_t RaftNode::next_request_id() {
  return request_id_base_ | ++request_counter_;
}

RequestResult RaftNode::unavailable(core::ProposeResult result) const {
  switch (result) {
    case core::ProposeResult::kNoLeader:
      return {RequestStatus::kUnavailable, 0, "no leader known"};
    case core::ProposeResult::kBackPressure:
      return {RequestStatus::kUnavailable, 0, "too many writes in flight"};
    case core::ProposeResult::kTransferring:
      return {RequestStatus::kUnavailable, 0, "leadership transfer in progress"};
    case core::ProposeResult::kAccepted:
      break;
  }
  return {RequestStatus::kUnavailable, 0, "unavailable"};
}

void RaftNode::submit_write(pb::KvCommand* command, RequestCallback done) {
  if (shutting_down_ || !fatal_error_.empty()) {
    done({RequestStatus::kUnavailable, 0,
          shutting_down_ ? "member shutting down" : "member failed: disk error"});
    return;
  }
  if (const char* why = not_serving_reason()) {
    done({RequestStatus::kUnavailable, 0, why});
    return;
  }
  if (const char* why = disk_watchdog_.refusal()) {
    disk_watchdog_.count_refusal();
    done({RequestStatus::kUnavailable, 0, why});
    return;
  }
  const std::uint64_t id = next_request_id();
  command->set_origin(config_.node_id);
  command->set_request_id(id);
  const core::ProposeResult result = core_->propose(kv::encode_command(*command));
  if (result != core::ProposeResult::kAccepted) {
    ++metrics_.proposals_refused;
    done(unavailable(result));
    return;
  }
  ++metrics_.proposals;
  pending_.add(id, now_ms() + config_.request_timeout_ms, std::move(done));
}

void RaftNode::linearizable_read(RequestCallback done) {
  if (shutting_down_ || !fatal_error_.empty()) {
    done({RequestStatus::kUnavailable, 0, "member unavailable"});
    return;
  }
  if (const char* why = not_serving_reason()) {
    done({RequestStatus::kUnavailable, 0, why});
    return;
  }
  const std::uint64_t id = next_request_id();
  if (core_->read_index(id) != core::ReadResult::kAccepted) {
    done({RequestStatus::kUnavailable, 0, "no leader known"});
    return;
  }
  pending_.add(id, now_ms() + config_.request_timeout_ms, std::move(done));
}

void RaftNode::process_ready() {
  while (core_->has_ready()) handle_ready(core_->ready());
  // A batch that completed during the poll left the writes queued behind
  // it for now, so that this iteration's entries join them (WalOptions).
  wal_->kick();
  // Out before the loop polls again: a follower's forwarded write or a
  // read round must not wait for the next wake-up (issue 7).
  transport_->flush();
}

void RaftNode::handle_ready(core::Ready ready) {
  if (ready.soft_state) note_soft_state(*ready.soft_state);
  // Before sending: this Ready's messages may be for a member just added.
  if (ready.config) on_config(*ready.config);
  send_all(ready.messages);
  persist(ready);
  apply(ready.committed);
  confirm_reads(ready.reads);
  fail_reads(ready.failed_reads);
  fail_proposals(ready.dropped_proposals);
}

void RaftNode::persist(core::Ready& ready) {
  if (!fatal_error_.empty()) return;  // nothing more is promised after a disk failure
  if (ready.snapshot) persist_snapshot(ready);
  if (ready.hard_state || !ready.entries.empty()) {
    const std::uint64_t seq = ++writes_submitted_;
    core::Index index = 0;
    core::Term term = 0;
    if (!ready.entries.empty()) {
      index = ready.entries.back()->index();
      term = ready.entries.back()->term();
    }
    const core::Term hard_state_term = ready.hard_state ? ready.hard_state->term() : 0;
    wal_->write(std::move(ready.hard_state), std::move(ready.entries),
                [this, seq, index, term, hard_state_term](int status) {
                  on_write_done(seq, index, term, hard_state_term, status);
                });
  }
  if (ready.messages_after_persist.empty()) return;
  if (writes_completed_ == writes_submitted_) {
    send_all(ready.messages_after_persist);
  } else {
    after_persist_.emplace_back(writes_submitted_, std::move(ready.messages_after_persist));
  }
}

void RaftNode::on_write_done(std::uint64_t seq, core::Index index, core::Term term,
                             core::Term hard_state_term, int status) {
  if (status != 0) {
    // The Wal's own line names the file, the operation and the errno; a
    // write it refused without failing (-EINVAL) has only the errno.
    fail("write-ahead log failed: " +
         (wal_->failed() ? wal_->failure() : std::string(uv_strerror(status))));
    return;
  }
  writes_completed_ = seq;
  if (hard_state_term != 0 && !shutting_down_) core_->on_term_persisted(hard_state_term);
  if (index != 0 && !shutting_down_) core_->on_persisted(index, term);
  flush_after_persist();
}

void RaftNode::flush_after_persist() {
  while (!after_persist_.empty() && after_persist_.front().first <= writes_completed_) {
    send_all(after_persist_.front().second);
    after_persist_.pop_front();
  }
}

void RaftNode::send_all(std::vector<core::OutMessage>& messages) {
  for (core::OutMessage& out : messages) send_one(out.message, out.entries);
}

void RaftNode::send_all(std::vector<pb::Message>& messages) {
  for (pb::Message& message : messages) send_one(message, {});
}

// `entries` (an AppendEntries') are written into the frame from the log's
// shared entries (core/out_message.h).
void RaftNode::send_one(pb::Message& message, std::span<const core::SharedEntry> entries) {
  if (shutting_down_) return;
  if (message.has_timeout_now()) transfers_.on_timeout_now_sent(message.to());
  // The core names the snapshot; the daemon streams its file in chunks.
  if (message.has_install_snapshot()) return send_snapshot(message);
  transport_->send(std::move(message), entries);
}

void RaftNode::apply(const std::vector<core::SharedEntry>& entries) {
  if (entries.empty()) return;
  for (const core::SharedEntry& entry : entries) apply_entry(*entry);
  applied_index_ = entries.back()->index();
  core_->on_applied(applied_index_);
  release_reads();
  maybe_take_snapshot();
}

void RaftNode::apply_entry(const pb::Entry& entry) {
  ++metrics_.entries_applied;
  if (entry.type() == pb::ENTRY_CONF_CHANGE) return apply_conf_change(entry);
  if (entry.type() != pb::ENTRY_NORMAL) return;
  const pb::KvCommand* command = decoder_.decode(entry.data());
  if (command == nullptr) {
    // Every member skips it the same way, so state machines stay equal.
    RKV_ERROR(kLog, "entry %llu holds no valid command; skipped",
              static_cast<unsigned long long>(entry.index()));
    return;
  }
  const kv::ApplyOutcome outcome = state_machine_.apply(*command);
  if (command->origin() != config_.node_id) return;
  if (RequestCallback done = pending_.take(command->request_id())) {
    done({status_of(outcome), entry.index(), ""});
  }
}

void RaftNode::confirm_reads(const std::vector<core::ReadState>& reads) {
  for (const core::ReadState& read : reads) {
    ++metrics_.reads_confirmed;
    reads_awaiting_apply_.add(read.index, read.request_id);
  }
  release_reads();
}

void RaftNode::release_reads() {
  reads_awaiting_apply_.release_up_to(applied_index_,
                                      [this](std::uint64_t id, std::uint64_t index) {
                                        if (RequestCallback done = pending_.take(id))
                                          done({RequestStatus::kOk, index, ""});
                                      });
}

void RaftNode::fail_reads(const std::vector<std::uint64_t>& ids) {
  for (const std::uint64_t id : ids) {
    ++metrics_.reads_failed;
    // A read has no effect, so "not served" is always a definite answer.
    if (RequestCallback done = pending_.take(id)) {
      done({RequestStatus::kUnavailable, 0,
            "the read was not confirmed: leadership changed or the leader did not answer"});
    }
  }
}

// Writes the core certainly never appended (forwarded too late, refused by
// the leader): a definite 503 now rather than a 504 at the deadline.
void RaftNode::fail_proposals(const std::vector<core::DroppedProposal>& dropped) {
  for (const core::DroppedProposal& proposal : dropped) {
    pb::KvCommand command;
    if (!kv::decode_command(proposal.data, &command) || command.origin() != config_.node_id) {
      continue;
    }
    RequestCallback done = pending_.take(command.request_id());
    if (!done) continue;
    ++metrics_.proposals_refused;
    const char* reason = "the leader changed before the write was forwarded";
    if (proposal.reason == core::DropReason::kNotLeader) {
      reason = "the member the write was forwarded to no longer leads";
    } else if (proposal.reason == core::DropReason::kTransferring) {
      reason = "leadership transfer in progress";
    } else if (proposal.reason == core::DropReason::kBackPressure) {
      reason = "too many writes in flight";
    }
    done({RequestStatus::kUnavailable, 0, reason});
  }
}

void RaftNode::note_soft_state(const core::SoftState& soft) {
  if (soft.leader != soft_state_.leader) {
    ++metrics_.leader_changes;
    if (soft.leader == core::kNoNode) {
      RKV_INFO(kLog, "term %llu: no leader (%s)", static_cast<unsigned long long>(soft.term),
               std::string(core::role_name(soft.role)).c_str());
    } else {
      RKV_INFO(kLog, "term %llu: leader is %llu%s", static_cast<unsigned long long>(soft.term),
               static_cast<unsigned long long>(soft.leader),
               soft.leader == config_.node_id ? " (this member)" : "");
    }
  }
  // Chunks carry the term they were sent in: a leader that lost its role
  // (or leads again in a new term) starts any transfer afresh.
  if (soft.role != core::Role::kLeader || soft.term != soft_state_.term) {
    cancel_snapshot_sends(soft.role != core::Role::kLeader ? "no longer the leader" : "new term");
  }
  soft_state_ = soft;
  if (on_soft_state_) on_soft_state_(soft_state_);
  transfers_.on_soft_state(soft_state_);
}

void RaftNode::fail(const std::string& reason) {
  if (!fatal_error_.empty()) return;
  fatal_error_ = reason;
  RKV_ERROR(kLog, "%s; this member stops acknowledging anything", reason.c_str());
  pending_.fail_all({RequestStatus::kTimeout, 0, "member failed: disk error; outcome unknown"});
  if (on_fatal_) on_fatal_();
}

void RaftNode::transfer_leadership(core::NodeId target, TransferCallback done) {
  const core::Status now = core_->status();
  if (now.leader == target && target != core::kNoNode) {
    done({TransferStatus::kLeads, target, now.term, ""});
    return;
  }
  if (shutting_down_ || !fatal_error_.empty()) {
    done({TransferStatus::kNotLeader, core::kNoNode, now.term, "member unavailable"});
    return;
  }
  switch (core_->transfer_leadership(target)) {
    case core::TransferResult::kAlreadyLeader:
      done({TransferStatus::kLeads, config_.node_id, now.term, ""});
      return;
    case core::TransferResult::kNotLeader:
      done({TransferStatus::kNotLeader, now.leader, now.term,
            now.leader == core::kNoNode ? "no leader known"
                                        : "not the leader: send POST /leader to the leader"});
      return;
    case core::TransferResult::kUnknownTarget:
      done({TransferStatus::kNotVoter, now.leader, now.term,
            "the target is not a voting member of the configuration"});
      return;
    case core::TransferResult::kStarted:
      break;
  }
  // The core abandons a transfer after election_ticks ticks; one more tick
  // and a heartbeat of margin cover the phase of the tick timer.
  const std::uint64_t abandon_at =
      now_ms() + config_.election_timeout_ms + 2 * config_.heartbeat_interval_ms;
  transfers_.add(config_.node_id, target, now.term, abandon_at,
                 now_ms() + config_.request_timeout_ms, std::move(done));
}

core::Status RaftNode::status() const {
  core::Status status = core_->status();
  status.applied_index = applied_index_;
  return status;
}

void RaftNode::shutdown(std::function<void()> done) {
  if (shutting_down_) return;
  shutting_down_ = true;
  // Writes already proposed may still commit: their outcome is unknown.
  pending_.fail_all({RequestStatus::kTimeout, 0, "member shutting down; outcome unknown"});
  transfers_.fail_all({TransferStatus::kTimeout, core::kNoNode, 0,
                       "member shutting down; the transfer's outcome is unknown"});
  changes_.fail_all(
      {ChangeStatus::kTimeout, 0, {}, "member shutting down; the change's outcome is unknown"});
  on_closed_ = std::move(done);
  // Order: snapshot work (the taker's child is killed), then the timers,
  // then the transport, then the log (its in-flight fsyncs finish).
  close_snapshots([this] { close_handles(); });
}

void RaftNode::close_handles() {
  if (open_handles_ == 0) return close_transport_and_log();
  auto close_one = [](uv_handle_t* handle) {
    auto* self = static_cast<RaftNode*>(handle->data);
    if (--self->open_handles_ == 0) self->close_transport_and_log();
  };
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_timer_), close_one);
  uv_close(reinterpret_cast<uv_handle_t*>(&prepare_), close_one);
}

void RaftNode::close_transport_and_log() {
  transport_->close([this] {
    wal_->close([this] {
      if (on_closed_) on_closed_();
    });
  });
}

}  // namespace raftkv::daemon
