// RaftNode's snapshot half (docs/design.md, "Snapshots"):
//
// - Taking: every --snapshot-entries applied entries, or on POST /snapshot,
//   SnapshotTaker forks a child that writes the state machine as of the
//   applied index. Once the file is durable the core is told
//   (on_snapshot_taken), the log before index + 1 - --snapshot-trailing is
//   compacted (Wal::compact) and all but the two newest snapshot files are
//   removed (in the threadpool, never while a child writes its tmp file).
// - Sending (leader): the core emits InstallSnapshot (metadata only) for a
//   follower behind the compaction point; a SnapshotSender streams the
//   newest snapshot file to it and its outcome goes back to the core
//   (report_snapshot). Senders are cancelled when leadership or the term
//   changes.
// - Receiving (follower): chunks from the leader go to the SnapshotReceiver;
//   once the file is verified and in place, the InstallSnapshot is stepped
//   into the core, which answers with Ready::snapshot when the state must
//   be replaced: the state machine is loaded from the file and the log
//   reset, in the persistence pipeline's order.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "daemon/raft_node.h"
#include "storage/file_util.h"
#include "util/log.h"

namespace raftkv::daemon {
namespace {

constexpr const char* kLog = "snapshot";
// Snapshot files kept: the newest, and one before it in case the newest
// turns out damaged at the next start (recovery falls back to it).
constexpr std::size_t kSnapshotsKept = 2;

unsigned long long ull(std::uint64_t n) {
  return static_cast<unsigned long long>(n);
}

// a + b, saturating: --snapshot-entries may be as large as "never".
std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return a > ~std::uint64_t{0} - b ? ~std::uint64_t{0} : a + b;
}

std::uint64_t ms_since(std::uint64_t start_ns) {
  return (uv_hrtime() - start_ns) / 1000000;
}

// Runs `work` (blocking calls) in libuv's threadpool, then `after` on the
// loop. Both are owned by the request until it completes.
void run_blocking(uv_loop_t* loop, std::function<void()> work, std::function<void()> after) {
  struct Job {
    uv_work_t request{};
    std::function<void()> work;
    std::function<void()> after;
  };
  auto job = std::make_unique<Job>();
  job->work = std::move(work);
  job->after = std::move(after);
  job->request.data = job.get();
  const int rc = uv_queue_work(
      loop, &job->request, [](uv_work_t* request) { static_cast<Job*>(request->data)->work(); },
      [](uv_work_t* request, int) {
        std::unique_ptr<Job> done(static_cast<Job*>(request->data));
        done->after();
      });
  if (rc == 0) {
    job.release();
    return;
  }
  // The loop refused (it is closing): do it here rather than not at all.
  job->work();
  job->after();
}

// Which snapshot files to delete: all but the `keep` newest that are not
// known to be damaged. A damaged file newer than every good one stays (it is
// what the operator was warned about); once good snapshots supersede it, it
// goes. Paths come newest first.
std::vector<std::string> snapshots_to_remove(const std::vector<std::string>& paths,
                                             const std::set<std::string>& damaged,
                                             std::size_t keep) {
  std::vector<std::string> remove;
  std::size_t kept = 0;
  for (const std::string& path : paths) {
    const bool good = damaged.count(path) == 0;
    if (good && kept < keep) {
      ++kept;
    } else if (kept > 0) {
      remove.push_back(path);
    }
  }
  return remove;
}

}  // namespace

// --- restart ------------------------------------------------------------------

void RaftNode::restore_snapshot_state(const storage::RecoveredState& recovered) {
  // Recovery uses the newest snapshot that verifies: any newer file failed
  // (recovery warned about each). They must not count as one of the kept
  // fallbacks.
  const std::uint64_t used = recovered.snapshot ? recovered.snapshot->meta.index() : 0;
  for (const std::string& path : storage::list_snapshots(config_.data_dir)) {
    std::uint64_t index = 0;
    std::uint64_t term = 0;
    const std::string name = path.substr(path.find_last_of('/') + 1);
    if (!storage::parse_snapshot_file_name(name, &index, &term)) continue;
    if (index > used || (index == used && recovered.snapshot && path != recovered.snapshot->path)) {
      damaged_snapshots_.insert(path);
    }
  }
  if (!recovered.snapshot) return;
  const storage::SnapshotInfo& snapshot = *recovered.snapshot;
  applied_index_ = snapshot.meta.index();
  last_snapshot_index_ = snapshot.meta.index();
  newest_snapshot_ = snapshot;
  RKV_INFO(kLog, "starting from snapshot %s: index %llu, term %llu, %zu keys",
           snapshot.path.c_str(), ull(snapshot.meta.index()), ull(snapshot.meta.term()),
           state_machine_.key_count());
}

// --- taking a snapshot and compacting ---------------------------------------------

core::Index RaftNode::plus_interval(core::Index index) const {
  return saturating_add(index, config_.snapshot_entries);
}

void RaftNode::maybe_take_snapshot() {
  if (shutting_down_ || !fatal_error_.empty() || taker_->running() || pruning_) return;
  const core::Index due = std::max(plus_interval(last_snapshot_index_), snapshot_retry_at_);
  if (applied_index_ < due) return;
  std::string error;
  if (!start_snapshot(nullptr, &error)) {
    RKV_ERROR(kLog, "cannot take a snapshot at index %llu: %s", ull(applied_index_), error.c_str());
  }
}

void RaftNode::take_snapshot(SnapshotCallback done) {
  if (shutting_down_ || !fatal_error_.empty()) {
    return done({SnapshotStatus::kUnavailable, 0, 0,
                 shutting_down_ ? "member shutting down" : "member failed: disk error"});
  }
  if (taker_->running() || pruning_) {
    return done({SnapshotStatus::kBusy, 0, 0, "a snapshot is being taken; try again later"});
  }
  if (applied_index_ == 0) {
    return done({SnapshotStatus::kNothing, 0, 0, "nothing applied yet: no state to snapshot"});
  }
  if (newest_snapshot_ && newest_snapshot_->meta.index() == applied_index_) {
    // Nothing was applied since: the newest snapshot is this one.
    return done(
        {SnapshotStatus::kOk, newest_snapshot_->meta.index(), newest_snapshot_->meta.term(), ""});
  }
  std::string error;
  if (!start_snapshot(done, &error)) done({SnapshotStatus::kFailed, 0, 0, error});
}

bool RaftNode::start_snapshot(SnapshotCallback done, std::string* error) {
  const std::optional<pb::SnapshotMeta> meta = core_->snapshot_meta(applied_index_);
  if (!meta) {
    *error = "the core has no metadata for index " + std::to_string(applied_index_);
    return false;
  }
  const SnapshotTaker::Start started = taker_->start(
      state_machine_, with_addresses(*meta),
      [this](const SnapshotResult& result) { on_snapshot_written(result); }, error);
  if (started == SnapshotTaker::Start::kBusy) {
    *error = "a snapshot is being taken";
    return false;
  }
  if (started == SnapshotTaker::Start::kForkFailed) {
    // Do not retry on every applied entry: wait for another interval.
    snapshot_retry_at_ = plus_interval(applied_index_);
    return false;
  }
  snapshot_waiter_ = std::move(done);
  RKV_DEBUG(kLog, "taking a snapshot at index %llu (fork took %llu us)", ull(meta->index()),
            ull(taker_->metrics().last_fork_us));
  return true;
}

// The core records member ids (and learner flags); the addresses a restore
// or an operator needs come from the cluster spec.
pb::SnapshotMeta RaftNode::with_addresses(pb::SnapshotMeta meta) const {
  for (pb::Member& member : *meta.mutable_config()->mutable_members()) {
    for (const util::MemberSpec& spec : config_.members) {
      if (spec.id != member.id()) continue;
      if (member.raft_address().empty()) member.set_raft_address(spec.raft.to_string());
      if (member.http_address().empty()) {
        member.set_http_address(util::default_http_address(spec).to_string());
      }
    }
  }
  return meta;
}

void RaftNode::on_snapshot_written(const SnapshotResult& result) {
  SnapshotCallback waiter = std::move(snapshot_waiter_);
  snapshot_waiter_ = nullptr;
  if (!result.ok) {
    RKV_ERROR(kLog, "snapshot failed after %llu ms: %s", ull(result.duration_ms),
              result.error.c_str());
    snapshot_retry_at_ = plus_interval(applied_index_);
    if (waiter) waiter({SnapshotStatus::kFailed, 0, 0, result.error});
    return;
  }
  const pb::SnapshotMeta& meta = result.info.meta;
  RKV_INFO(
      kLog, "snapshot at index %llu (term %llu): %llu keys, %llu bytes in %llu ms (fork %llu us)",
      ull(meta.index()), ull(meta.term()), ull(result.info.pair_count), ull(result.info.file_bytes),
      ull(result.duration_ms), ull(taker_->metrics().last_fork_us));
  // An install may have overtaken a snapshot of our own meanwhile: then the
  // installed one stays the newest and there is nothing to compact.
  if (!newest_snapshot_ || meta.index() >= newest_snapshot_->meta.index()) {
    newest_snapshot_ = result.info;
    last_snapshot_index_ = meta.index();
    if (!shutting_down_ && fatal_error_.empty()) {
      compact_after(meta);
      restart_idle_sends();
    }
  }
  if (waiter) waiter({SnapshotStatus::kOk, meta.index(), meta.term(), ""});
}

void RaftNode::compact_after(const pb::SnapshotMeta& meta) {
  const core::Index trailing = config_.snapshot_trailing;
  const core::Index keep_from = meta.index() + 1 > trailing ? meta.index() + 1 - trailing : 1;
  core_->on_snapshot_taken(meta, keep_from);
  ++snapshot_metrics_.compactions;
  if (keep_from > 1) {
    wal_->compact(keep_from - 1, [this](int status) {
      if (status != 0) fail(std::string("log compaction failed: ") + uv_strerror(status));
    });
  }
  prune_snapshots();
}

// Removes old snapshot files in the threadpool (unlinks and a directory
// fsync). Not while the taker's child is writing: the listing must not race
// with its rename.
void RaftNode::prune_snapshots() {
  if (pruning_ || taker_->running()) return;
  pruning_ = true;
  struct Outcome {
    std::vector<std::string> removed;
    std::string error;
  };
  auto outcome = std::make_shared<Outcome>();
  std::weak_ptr<char> alive = alive_;
  auto work = [dir = config_.data_dir, damaged = damaged_snapshots_, outcome] {
    const auto remove = snapshots_to_remove(storage::list_snapshots(dir), damaged, kSnapshotsKept);
    for (const std::string& path : remove) {
      if (::unlink(path.c_str()) == 0) {
        outcome->removed.push_back(path);
      } else if (errno != ENOENT) {
        outcome->error = "unlink " + path + ": " + storage::errno_text(errno);
      }
    }
    if (outcome->removed.empty()) return;
    if (const int rc = storage::fsync_dir(dir); rc != 0) {
      outcome->error = "fsync " + dir + ": " + storage::errno_text(-rc);
    }
  };
  auto after = [this, alive, outcome] {
    if (alive.expired()) return;
    pruning_ = false;
    for (const std::string& path : outcome->removed) {
      RKV_DEBUG(kLog, "removed old snapshot %s", path.c_str());
      damaged_snapshots_.erase(path);
    }
    if (!outcome->error.empty()) {
      RKV_WARN(kLog, "removing old snapshots: %s", outcome->error.c_str());
    }
  };
  run_blocking(loop_, std::move(work), std::move(after));
}

// --- sending (leader) ---------------------------------------------------------------

void RaftNode::send_snapshot(const pb::Message& install) {
  const core::NodeId peer = install.to();
  if (shutting_down_ || soft_state_.role != core::Role::kLeader) return;
  if (!newest_snapshot_) {
    RKV_WARN(kLog, "member %llu needs a snapshot but this member has none", ull(peer));
    core_->report_snapshot(peer, false);
    return;
  }
  // The newest file, even if the core named an older one: the follower
  // installs whatever arrives, and the newer the less log it replays.
  const storage::SnapshotInfo& snapshot = *newest_snapshot_;
  if (auto it = senders_.find(peer); it != senders_.end()) {
    const pb::SnapshotMeta& sending = it->second->snapshot().meta;
    if (sending.index() == snapshot.meta.index() && sending.term() == snapshot.meta.term()) {
      return;  // already on its way
    }
    ++snapshot_metrics_.sends_cancelled;
    snapshot_metrics_.sent_bytes += it->second->stats().sent_bytes;
    senders_.erase(it);
  }
  RKV_INFO(kLog, "sending snapshot at index %llu (term %llu, %llu bytes) to member %llu",
           ull(snapshot.meta.index()), ull(snapshot.meta.term()), ull(snapshot.file_bytes),
           ull(peer));
  ++snapshot_metrics_.sends_started;
  senders_[peer] = std::make_unique<transport::SnapshotSender>(
      loop_, peer, soft_state_.term, snapshot, transport::SnapshotSenderOptions{},
      [this](pb::Message message) {
        if (!shutting_down_) transport_->send(std::move(message));
      },
      [this, peer](bool ok, const std::string& error) { on_snapshot_sent(peer, ok, error); });
}

void RaftNode::on_snapshot_sent(core::NodeId peer, bool ok, const std::string& error) {
  auto it = senders_.find(peer);
  if (it == senders_.end()) return;
  const transport::SnapshotSenderStats stats = it->second->stats();
  const std::uint64_t index = it->second->snapshot().meta.index();
  snapshot_metrics_.sent_bytes += stats.sent_bytes;
  senders_.erase(it);  // destroys the sender whose callback this is: allowed
  if (ok) {
    ++snapshot_metrics_.sends_succeeded;
    RKV_INFO(kLog,
             "member %llu received the snapshot at index %llu (%llu bytes sent, %llu resends)",
             ull(peer), ull(index), ull(stats.sent_bytes), ull(stats.rewinds));
  } else {
    ++snapshot_metrics_.sends_failed;
    RKV_WARN(kLog, "sending the snapshot at index %llu to member %llu failed: %s", ull(index),
             ull(peer), error.c_str());
  }
  if (!shutting_down_) core_->report_snapshot(peer, ok);
}

// A transfer of an older snapshot that the follower has not acknowledged a
// byte of (typically: the follower is down) is dropped, and the core told,
// so that the follower gets the newest snapshot once it answers again.
// Transfers under way are left alone: restarting them whenever a snapshot
// is taken could keep a slow follower from ever finishing one.
void RaftNode::restart_idle_sends() {
  for (auto it = senders_.begin(); it != senders_.end();) {
    const transport::SnapshotSender& sender = *it->second;
    if (sender.snapshot().meta.index() >= newest_snapshot_->meta.index() ||
        sender.stats().acked_bytes > 0) {
      ++it;
      continue;
    }
    const core::NodeId peer = it->first;
    RKV_INFO(kLog,
             "member %llu has not acknowledged any of the snapshot at index %llu: "
             "dropping that transfer for the newer one",
             ull(peer), ull(sender.snapshot().meta.index()));
    ++snapshot_metrics_.sends_cancelled;
    snapshot_metrics_.sent_bytes += sender.stats().sent_bytes;
    it = senders_.erase(it);
    core_->report_snapshot(peer, false);
  }
}

void RaftNode::cancel_snapshot_sends(const char* why) {
  if (senders_.empty()) return;
  RKV_INFO(kLog, "cancelling %zu snapshot transfer(s): %s", senders_.size(), why);
  for (const auto& [peer, sender] : senders_) {
    ++snapshot_metrics_.sends_cancelled;
    snapshot_metrics_.sent_bytes += sender->stats().sent_bytes;
  }
  senders_.clear();
}

void RaftNode::on_snapshot_ack(const pb::Message& message) {
  if (auto it = senders_.find(message.from()); it != senders_.end()) {
    it->second->on_ack(message.snapshot_chunk_ack());
  }
}

// --- receiving and installing (follower) ----------------------------------------

void RaftNode::on_snapshot_chunk(const pb::Message& message) {
  // Only from the leader as far as we know: not from a deposed one (an
  // older term), nor from anyone else in our term. A higher term is a
  // leader we have not heard of yet.
  if (message.term() < soft_state_.term) return;
  if (message.term() == soft_state_.term) {
    if (soft_state_.role == core::Role::kLeader) return;
    if (soft_state_.leader != core::kNoNode && message.from() != soft_state_.leader) return;
  }
  receiver_->on_chunk(message);
}

void RaftNode::on_snapshot_received(core::NodeId from, core::Term term,
                                    const storage::SnapshotInfo& info) {
  RKV_INFO(kLog,
           "received snapshot at index %llu (term %llu, %llu keys, %llu bytes) from member %llu",
           ull(info.meta.index()), ull(info.meta.term()), ull(info.pair_count),
           ull(info.file_bytes), ull(from));
  if (shutting_down_) return;
  // Now the core decides: install it (Ready::snapshot), or not if what it
  // holds already covers it. Either way it answers the leader.
  pb::Message install;
  install.set_from(from);
  install.set_to(config_.node_id);
  install.set_term(term);
  *install.mutable_install_snapshot()->mutable_meta() = info.meta;
  core_->step(install);
}

// Ready::snapshot, in the order core/ready.h asks: the hard state, then the
// snapshot (state machine replaced, log reset), then this Ready's entries;
// on_persisted(meta) once the reset is durable, and messages_after_persist
// only after that (the pipeline's sequence numbers see to it).
void RaftNode::persist_snapshot(core::Ready& ready) {
  const pb::SnapshotMeta meta = *ready.snapshot;
  if (ready.hard_state) {
    const std::uint64_t seq = ++writes_submitted_;
    const core::Term hard_state_term = ready.hard_state->term();
    wal_->write(std::move(ready.hard_state), std::vector<core::SharedEntry>{},
                [this, seq, hard_state_term](int status) {
                  on_write_done(seq, 0, 0, hard_state_term, status);
                });
    ready.hard_state.reset();
  }
  install_snapshot(meta);
  if (!fatal_error_.empty()) return;
  const std::uint64_t seq = ++writes_submitted_;
  wal_->reset(meta.index(), [this, seq, index = meta.index(), term = meta.term()](int status) {
    on_write_done(seq, index, term, 0, status);
  });
}

// Replaces the state machine with the snapshot file's pairs. Blocking, on
// the loop: the state must never be visible half loaded, and a second copy
// being built elsewhere would double memory. The loop stalls meanwhile
// (reported as last_install_ms); the election timer counts ticks, so the
// stall does not start an election.
void RaftNode::install_snapshot(const pb::SnapshotMeta& meta) {
  const std::string path =
      storage::join_path(config_.data_dir, storage::snapshot_file_name(meta.index(), meta.term()));
  const std::uint64_t start_ns = uv_hrtime();
  storage::SnapshotInfo info;
  std::string error;
  if (!storage::read_snapshot_header(path, &info, &error)) {
    return fail("cannot install snapshot: " + error);
  }
  state_machine_.clear(info.pair_count);
  const bool ok = storage::read_snapshot(
      path, &info,
      [this](std::string_view key, std::string_view value) { state_machine_.restore(key, value); },
      &error);
  if (!ok) {
    state_machine_.clear();
    return fail("cannot install snapshot: " + error);
  }
  applied_index_ = meta.index();
  last_snapshot_index_ = meta.index();
  newest_snapshot_ = info;
  ++snapshot_metrics_.installs;
  snapshot_metrics_.last_install_ms = ms_since(start_ns);
  RKV_INFO(kLog, "installed snapshot at index %llu (term %llu): %zu keys loaded in %llu ms",
           ull(meta.index()), ull(meta.term()), state_machine_.key_count(),
           ull(snapshot_metrics_.last_install_ms));
  // Writes this member is waiting for stay pending: those after the
  // snapshot are applied as usual; those inside it can no longer be
  // matched, and time out as 504 (their outcome is unknown to this member).
  // Reads confirmed up to the snapshot's index may be served now.
  release_reads();
  prune_snapshots();
}

void RaftNode::close_snapshots(std::function<void()> done) {
  if (SnapshotCallback waiter = std::move(snapshot_waiter_)) {
    snapshot_waiter_ = nullptr;
    waiter({SnapshotStatus::kUnavailable, 0, 0, "member shutting down"});
  }
  cancel_snapshot_sends("shutting down");
  receiver_->abandon();
  taker_->close(std::move(done));
}

}  // namespace raftkv::daemon
