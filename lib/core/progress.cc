#include "core/progress.h"

#include <algorithm>

namespace raftkv::core {

void Inflights::add(Index last, std::size_t bytes) {
  items_.emplace_back(last, bytes);
  bytes_ += bytes;
}

void Inflights::free_to(Index index) {
  while (!items_.empty() && items_.front().first <= index) {
    bytes_ -= items_.front().second;
    items_.pop_front();
  }
}

bool Inflights::full(std::size_t max_count, std::size_t max_bytes) const {
  return items_.size() >= std::max<std::size_t>(max_count, 1) || bytes_ >= max_bytes;
}

void Inflights::clear() {
  items_.clear();
  bytes_ = 0;
}

namespace {

// What every change of mode forgets.
void reset_flow(Progress& pr) {
  pr.probe_sent = false;
  pr.inflights.clear();
  pr.stall_ticks = 0;
  pr.sent_prev.reset();
  pr.pending_snapshot = 0;
  pr.pending_snapshot_term = 0;
  pr.snapshot_delivered = false;
}

}  // namespace

void Progress::become_probe(Index next_index) {
  mode = Mode::kProbe;
  next = std::max(next_index, match + 1);
  reset_flow(*this);
}

void Progress::become_replicate() {
  mode = Mode::kReplicate;
  next = match + 1;
  reset_flow(*this);
}

void Progress::become_snapshot(Index index, Term term) {
  mode = Mode::kSnapshot;
  reset_flow(*this);
  pending_snapshot = index;
  pending_snapshot_term = term;
}

bool Progress::stale_rejection(Index rejected) const {
  if (mode == Mode::kSnapshot) return !(snapshot_delivered && rejected == pending_snapshot);
  if (answers_latest(rejected)) return false;
  return mode == Mode::kReplicate ? rejected <= match : rejected != next - 1;
}

bool Progress::paused(std::size_t max_count, std::size_t max_bytes) const {
  if (mode == Mode::kSnapshot) return true;
  if (mode == Mode::kProbe) return probe_sent;
  return inflights.full(max_count, max_bytes);
}

void Progress::sent(Index last, std::size_t bytes) {
  if (mode == Mode::kProbe) {
    probe_sent = true;
    return;
  }
  inflights.add(last, bytes);
  next = last + 1;
}

bool Progress::advance(Index index) {
  if (index <= match) return false;
  match = index;
  next = std::max(next, index + 1);
  inflights.free_to(index);
  stall_ticks = 0;
  return true;
}

}  // namespace raftkv::core
