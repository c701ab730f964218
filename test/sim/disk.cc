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

void Disk::crash(std::size_t survivors) {
  for (std::size_t k = 0; k < survivors && !pending_.empty(); ++k) complete_next();
  pending_.clear();
  // The counters describe one incarnation's writes: restart from zero so the
  // new incarnation's gating of messages_after_persist starts clean.
  submitted_ = completed_ = 0;
  last_done_ = 0;
}

// Entries starting at or below the end of the log replace its suffix (the
// truncation a follower's conflict asks for), as ready.h specifies.
void Disk::make_durable(const Write& write) {
  if (write.hard_state) hard_state_ = *write.hard_state;
  if (write.entries.empty()) return;
  std::size_t keep = write.entries.front().index() - 1;
  if (keep < log_.size()) log_.resize(keep);
  for (const pb::Entry& e : write.entries) log_.push_back(e);
}

core::PersistentState Disk::recover() const {
  core::PersistentState state;
  state.hard_state = hard_state_;
  state.entries = log_;
  return state;
}

}  // namespace raftkv::sim
