#include "disk.h"

#include <algorithm>

namespace raftkv::sim {

Time Disk::submit(Write write, Time now, Time latency) {
  last_done_ = std::max(last_done_, now) + latency;
  write.done_at = last_done_;
  pending_.push_back(std::move(write));
  ++submitted_;
  return last_done_;
}

Disk::Write Disk::complete_next() {
  Write write = std::move(pending_.front());
  pending_.pop_front();
  make_durable(write);
  ++completed_;
  return write;
}

void Disk::submit_snapshot(SnapshotWrite write) {
  pending_snapshot_ = std::move(write);
}

Disk::SnapshotWrite Disk::complete_snapshot() {
  SnapshotWrite write = std::move(*pending_snapshot_);
  pending_snapshot_.reset();
  // An install completed meanwhile may have stored a newer one.
  if (!snapshot_ || write.snapshot.meta.index() > snapshot_->meta.index()) {
    snapshot_ = write.snapshot;
  }
  compact(write.keep_from);
  return write;
}

void Disk::crash(std::size_t survivors, bool snapshot_survives) {
  if (pending_snapshot_ && snapshot_survives) complete_snapshot();
  pending_snapshot_.reset();
  for (std::size_t k = 0; k < survivors && !pending_.empty(); ++k) complete_next();
  pending_.clear();
  // The counters describe one incarnation's writes: restart from zero so the
  // new incarnation's gating of messages_after_persist starts clean.
  submitted_ = completed_ = 0;
  last_done_ = 0;
}

void Disk::make_durable(const Write& write) {
  if (write.hard_state) hard_state_ = *write.hard_state;
  if (write.install) {
    snapshot_ = *write.install;
    log_.clear();
    log_base_ = write.install->meta.index();
  }
  append(write.entries);
}

// Entries starting at or below the end of the log replace its suffix (the
// truncation a follower's conflict asks for), as ready.h specifies. The core
// never writes at or below the log's base (a snapshot's committed prefix).
void Disk::append(const std::vector<pb::Entry>& entries) {
  if (entries.empty()) return;
  const Index first = std::max(entries.front().index(), log_base_ + 1);
  const std::size_t keep = first - log_base_ - 1;
  if (keep < log_.size()) log_.resize(keep);
  for (const pb::Entry& e : entries) {
    if (e.index() >= first) log_.push_back(e);
  }
}

void Disk::compact(Index keep_from) {
  if (keep_from <= log_base_ + 1) return;
  const std::size_t drop = std::min<std::size_t>(keep_from - log_base_ - 1, log_.size());
  log_.erase(log_.begin(), log_.begin() + static_cast<std::ptrdiff_t>(drop));
  log_base_ += drop;
}

core::PersistentState Disk::recover() const {
  core::PersistentState state;
  state.hard_state = hard_state_;
  if (snapshot_) state.snapshot = snapshot_->meta;
  state.entries = log_;
  return state;
}

}  // namespace raftkv::sim
